/* A test's stand-in for a large machine, loaded with LD_PRELOAD: sysconf reports AARTHIK_FAKE_CPUS
 * CPUs configured and online. The affinity mask and the cgroup stay the real ones, so a process
 * started under `taskset` sees what a pod limited to a few CPUs on a big node sees.
 *
 *   env LD_PRELOAD=libaarthik_fake_cpu_count.so AARTHIK_FAKE_CPUS=64 taskset -c 0 aarthik-gateway
 *
 * Built without sanitizers: a sanitized process then needs ASAN_OPTIONS=verify_asan_link_order=0,
 * since this library is loaded before the sanitizer's runtime. */
#include <stdlib.h>
#include <unistd.h>

long __sysconf(int name); /* glibc's implementation, which sysconf is an alias of */

long sysconf(int name) {
  if (name == _SC_NPROCESSORS_CONF || name == _SC_NPROCESSORS_ONLN) {
    const char* cpus = getenv("AARTHIK_FAKE_CPUS");
    if (cpus != NULL && atol(cpus) > 0) return atol(cpus);
  }
  return __sysconf(name);
}

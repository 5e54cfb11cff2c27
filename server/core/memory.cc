#include "server/core/memory.h"

#include <malloc.h>

#include <cstddef>

// jemalloc's control interface, when jemalloc is the process's malloc (linked into the gateway
// binary); null otherwise.
extern "C" int mallctl(const char* name, void* oldp, size_t* oldlenp, void* newp, size_t newlen)
    __attribute__((weak));

namespace aarthik::core {

void ReleaseFreeMemory() {
  if (mallctl != nullptr) {
    // "arena.<MALLCTL_ARENAS_ALL>.decay": every arena purges what has aged past the decay time.
    mallctl("arena.4096.decay", nullptr, nullptr, nullptr, 0);
    return;
  }
  malloc_trim(0);
}

}  // namespace aarthik::core

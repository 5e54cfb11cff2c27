// ReleaseFreeMemory: hands memory the allocator keeps but no longer uses back to the system, so
// that RSS falls back after a spike (thousands of watch streams, large requests) instead of
// staying at its peak.
//
//   aarthik::core::ReleaseFreeMemory();  // every few seconds, from one thread
//
// With jemalloc (the gateway binary's allocator) it runs the arenas' decay: pages unused for
// longer than jemalloc's decay time (10 s) are returned, recently freed ones stay for reuse. With
// glibc's malloc (sanitized builds) it is malloc_trim.
//
// Thread-safety: any thread.
#ifndef AARTHIK_SERVER_CORE_MEMORY_H_
#define AARTHIK_SERVER_CORE_MEMORY_H_

namespace aarthik::core {

void ReleaseFreeMemory();

}  // namespace aarthik::core

#endif  // AARTHIK_SERVER_CORE_MEMORY_H_

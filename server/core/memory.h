// ReleaseFreeMemory: hands memory the allocator keeps but no longer uses back to the system, so
// that RSS falls back after a spike (thousands of watch streams, large requests) instead of
// staying at its peak. ReadHeapStats: what the allocator holds, so that RSS growth can be told
// apart as live objects (allocated) or pages the allocator keeps (resident - allocated).
//
//   aarthik::core::ReleaseFreeMemory();  // every few seconds, from one thread
//   if (auto heap = aarthik::core::ReadHeapStats()) Export(heap->allocated, heap->resident);
//
// With jemalloc (the gateway binary's allocator) ReleaseFreeMemory runs the arenas' decay: pages
// unused for longer than jemalloc's decay time (10 s) are returned, recently freed ones stay for
// reuse. With glibc's malloc (sanitized builds) it is malloc_trim.
//
// Thread-safety: any thread.
#ifndef AARTHIK_SERVER_CORE_MEMORY_H_
#define AARTHIK_SERVER_CORE_MEMORY_H_

#include <cstddef>
#include <optional>

namespace aarthik::core {

void ReleaseFreeMemory();

struct HeapStats {
  size_t allocated = 0;  // bytes in live allocations
  size_t resident = 0;   // bytes of the allocator's pages in RAM (its metadata included)
};

// jemalloc's statistics; nullopt under another allocator (glibc's mallinfo2 cannot tell resident
// pages).
std::optional<HeapStats> ReadHeapStats();

}  // namespace aarthik::core

#endif  // AARTHIK_SERVER_CORE_MEMORY_H_

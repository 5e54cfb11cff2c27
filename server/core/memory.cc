#include "server/core/memory.h"

#include <malloc.h>

#include <cstdint>

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

std::optional<HeapStats> ReadHeapStats() {
  if (mallctl == nullptr) return std::nullopt;
  // jemalloc's statistics are a snapshot taken when the epoch advances.
  uint64_t epoch = 1;
  size_t length = sizeof(epoch);
  if (mallctl("epoch", &epoch, &length, &epoch, length) != 0) return std::nullopt;
  HeapStats stats;
  length = sizeof(size_t);
  if (mallctl("stats.allocated", &stats.allocated, &length, nullptr, 0) != 0) return std::nullopt;
  length = sizeof(size_t);
  if (mallctl("stats.resident", &stats.resident, &length, nullptr, 0) != 0) return std::nullopt;
  return stats;
}

}  // namespace aarthik::core

// Reuse of large host buffers.
//
// Fresh pages are expensive on many VMs (a page fault per 4 KiB on first touch) and glibc
// returns every allocation above its mmap threshold to the kernel on free, so a
// loop of `c = a * b + d` on large arrays spends its time in page faults. dnd installs a
// caching allocator as torch's CPU allocator: blocks of at least `min_block` bytes are
// mapped with huge-page advice and kept on free for reuse (up to `cache_limit` bytes
// held idle); smaller ones go to the default allocator.
#pragma once

#include <cstddef>
#include <cstdint>

namespace dnd::memory {

struct CacheStats {
  int64_t hits = 0;          // allocations served from the cache
  int64_t misses = 0;        // allocations that mapped fresh memory
  int64_t cached_bytes = 0;  // bytes idle in the cache now
  int64_t live_bytes = 0;    // bytes handed out and not yet freed
};

// Installs the caching allocator as torch's CPU allocator (idempotent). Environment:
// DND_ALLOCATOR=system keeps torch's own allocator; DND_CACHE_LIMIT=<MiB> bounds idle bytes.
void install_caching_allocator();
// Turns caching on or off at run time (off: large blocks are unmapped on free).
void set_caching(bool enabled);
bool caching_enabled();
// Returns every idle cached block to the OS.
void release_cached();
CacheStats cache_stats();

// Advises the kernel to back [p, p + n) with transparent huge pages (best effort).
void advise_hugepages(void* p, size_t n);

}  // namespace dnd::memory

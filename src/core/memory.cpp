#include "src/core/memory.h"

#include "src/core/error.h"

#include <c10/core/Allocator.h>
#include <c10/core/CPUAllocator.h>
#include <fmt/format.h>
#include <sys/mman.h>
#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <map>
#include <mutex>
#include <string>
#include <unordered_map>

namespace dnd::memory {

namespace {

constexpr size_t kMinBlock = size_t{1} << 20;  // smaller allocations are malloc's business
constexpr size_t kAlign = size_t{2} << 20;     // huge-page size and rounding granule

size_t round_up(size_t n, size_t a) { return (n + a - 1) / a * a; }

size_t default_limit() {
  if (const char* env = std::getenv("DND_CACHE_LIMIT"))
    return static_cast<size_t>(std::atoll(env)) << 20;
  const long pages = sysconf(_SC_PHYS_PAGES), page = sysconf(_SC_PAGESIZE);
  const size_t phys =
      pages > 0 && page > 0 ? static_cast<size_t>(pages) * static_cast<size_t>(page) : size_t{8} << 30;
  return std::min(phys / 4, size_t{16} << 30);
}

// Maps n bytes aligned to 2 MiB and asks for transparent huge pages.
void* map_aligned(size_t n) {
  const size_t len = n + kAlign;
  void* raw = mmap(nullptr, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (raw == MAP_FAILED) return nullptr;
  const auto base = reinterpret_cast<uintptr_t>(raw);
  const uintptr_t aligned = round_up(base, kAlign);
  if (aligned > base) munmap(raw, aligned - base);
  const uintptr_t end = base + len, keep_end = aligned + n;
  if (end > keep_end) munmap(reinterpret_cast<void*>(keep_end), end - keep_end);
  void* p = reinterpret_cast<void*>(aligned);
  advise_hugepages(p, n);
  return p;
}

class CachingAllocator final : public c10::Allocator {
 public:
  explicit CachingAllocator(c10::Allocator* fallback) : fallback_(fallback), limit_(default_limit()) {}

  c10::DataPtr allocate(size_t n) const override {
    if (n < kMinBlock || !enabled_.load(std::memory_order_relaxed)) return fallback_->allocate(n);
    void* p = self().take(n);
    return c10::DataPtr(p, p, &CachingAllocator::free_block, c10::Device(c10::kCPU));
  }
  c10::DeleterFnPtr raw_deleter() const override { return &CachingAllocator::free_block; }

  static CachingAllocator& instance() {
    // Never destroyed: tensors may be freed during static destruction.
    static auto* a = new CachingAllocator(c10::GetDefaultCPUAllocator());
    return *a;
  }

  void set_enabled(bool on) { enabled_.store(on); }
  bool enabled() const { return enabled_.load(); }

  void release() {
    std::lock_guard<std::mutex> g(mu_);
    for (auto& [size, p] : idle_) munmap(p, size);
    idle_.clear();
    idle_bytes_ = 0;
  }

  CacheStats stats() const {
    std::lock_guard<std::mutex> g(mu_);
    return CacheStats{hits_, misses_, static_cast<int64_t>(idle_bytes_),
                      static_cast<int64_t>(live_bytes_)};
  }

 private:
  CachingAllocator& self() const { return const_cast<CachingAllocator&>(*this); }

  void* take(size_t n) {
    const size_t size = round_up(n, kAlign);
    {
      std::lock_guard<std::mutex> g(mu_);
      // Best fit, wasting at most a quarter of the block.
      auto it = idle_.lower_bound(size);
      if (it != idle_.end() && it->first <= size + size / 4) {
        void* p = it->second;
        live_[p] = it->first;
        live_bytes_ += it->first;
        idle_bytes_ -= it->first;
        idle_.erase(it);
        ++hits_;
        return p;
      }
      ++misses_;
    }
    void* p = map_aligned(size);
    if (!p) {
      release();  // idle blocks may be what is missing
      p = map_aligned(size);
    }
    if (!p) throw Error(fmt::format("out of memory: could not allocate {} bytes", n));
    std::lock_guard<std::mutex> g(mu_);
    live_[p] = size;
    live_bytes_ += size;
    return p;
  }

  static void free_block(void* p) { instance().give_back(p); }

  void give_back(void* p) {
    std::lock_guard<std::mutex> g(mu_);
    auto it = live_.find(p);
    if (it == live_.end()) return;  // not ours (cannot happen: only our DataPtrs use this deleter)
    const size_t size = it->second;
    live_.erase(it);
    live_bytes_ -= size;
    if (!enabled_.load() || size > limit_) {
      munmap(p, size);
      return;
    }
    // Make room by dropping the largest idle blocks first.
    while (idle_bytes_ + size > limit_ && !idle_.empty()) {
      auto last = std::prev(idle_.end());
      munmap(last->second, last->first);
      idle_bytes_ -= last->first;
      idle_.erase(last);
    }
    idle_.emplace(size, p);
    idle_bytes_ += size;
  }

  c10::Allocator* fallback_;
  size_t limit_;
  std::atomic<bool> enabled_{true};
  mutable std::mutex mu_;
  std::multimap<size_t, void*> idle_;
  std::unordered_map<void*, size_t> live_;
  size_t idle_bytes_ = 0, live_bytes_ = 0;
  int64_t hits_ = 0, misses_ = 0;
};

std::once_flag g_installed;

}  // namespace

void advise_hugepages(void* p, size_t n) {
#ifdef MADV_HUGEPAGE
  madvise(p, n, MADV_HUGEPAGE);
#else
  (void)p;
  (void)n;
#endif
}

void install_caching_allocator() {
  std::call_once(g_installed, [] {
    const char* env = std::getenv("DND_ALLOCATOR");
    CachingAllocator& a = CachingAllocator::instance();
    if (env && std::string(env) == "system") a.set_enabled(false);
    c10::SetCPUAllocator(&a, /*priority=*/1);
  });
}

void set_caching(bool enabled) { CachingAllocator::instance().set_enabled(enabled); }
bool caching_enabled() { return CachingAllocator::instance().enabled(); }
void release_cached() { CachingAllocator::instance().release(); }
CacheStats cache_stats() { return CachingAllocator::instance().stats(); }

}  // namespace dnd::memory

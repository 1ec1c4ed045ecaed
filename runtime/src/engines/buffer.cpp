// Channel buffers; see Buffer in engine.hpp.
#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <new>

#include "engine.hpp"

#if defined(__linux__)
#include <sys/mman.h>
#include <unistd.h>
#endif

namespace msa::detail {

namespace {
constexpr std::size_t kHugePage = std::size_t{2} << 20;
constexpr std::size_t kPage = 4096;

#if defined(__linux__) && defined(MADV_HUGEPAGE)
// Huge pages of 2 MiB go with 4 KiB base pages (x86-64, most aarch64
// kernels); with 16 or 64 KiB base pages they are 32 or 512 MiB, too large
// for a step's buffer, and buffers are plain allocations.
bool two_mib_huge_pages() {
  static const bool yes = sysconf(_SC_PAGESIZE) == static_cast<long>(kPage);
  return yes;
}
#endif
}  // namespace

Buffer::Buffer(std::size_t size) : m_size(size) {
#if defined(__linux__) && defined(MADV_HUGEPAGE)
  if (size >= kHugePage / 2 && size <= SIZE_MAX - 2 * kHugePage && two_mib_huge_pages()) {
    // Map one huge page more than needed, then keep the aligned part: the
    // bytes asked for, or a whole huge page under 2 MiB (at most twice them).
    const std::size_t length = std::max((size + kPage - 1) / kPage * kPage, kHugePage);
    void* raw = mmap(nullptr, length + kHugePage, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (raw == MAP_FAILED) throw std::bad_alloc();
    const auto base = reinterpret_cast<std::uintptr_t>(raw);
    const std::uintptr_t aligned = (base + kHugePage - 1) / kHugePage * kHugePage;
    if (aligned > base) munmap(raw, aligned - base);
    if (const std::uintptr_t end = base + length + kHugePage; end > aligned + length)
      munmap(reinterpret_cast<void*>(aligned + length), end - (aligned + length));
    m_data = reinterpret_cast<std::byte*>(aligned);
    m_mapped = length;
    madvise(m_data, length, MADV_HUGEPAGE);  // a hint: without THP the buffer still works
    return;
  }
#endif
  m_data = static_cast<std::byte*>(std::malloc(size > 0 ? size : 1));
  if (!m_data) throw std::bad_alloc();
}

Buffer::~Buffer() {
#if defined(__linux__) && defined(MADV_HUGEPAGE)
  if (m_mapped) {
    munmap(m_data, m_mapped);
    return;
  }
#endif
  std::free(m_data);
}

}  // namespace msa::detail

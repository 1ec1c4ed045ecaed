// The channels' byte buffers: sizes, alignment, huge-page advice.
#include <gtest/gtest.h>

#include <cstdint>
#include <fstream>
#include <sstream>
#include <string>

#include "engines/engine.hpp"

#if defined(__linux__)
#include <sys/mman.h>
#include <unistd.h>
#endif

namespace {

using msa::detail::Buffer;

constexpr std::size_t kHuge = std::size_t{2} << 20;

#if defined(__linux__)
// The smaps block of the mapping that holds `p` ("" when none does).
std::string smaps_of(const void* p) {
  std::ifstream in("/proc/self/smaps");
  const auto address = reinterpret_cast<std::uintptr_t>(p);
  std::string line, block;
  bool inside = false;
  while (std::getline(in, line)) {
    std::uintptr_t lo = 0, hi = 0;
    char dash = 0;
    std::istringstream head(line);
    if (head >> std::hex >> lo >> dash >> hi && dash == '-') {
      if (inside) return block;
      inside = lo <= address && address < hi;
      block.clear();
    }
    if (inside) block += line + "\n";
  }
  return inside ? block : "";
}

// What the kernel's transparent-huge-page setting is ("" when unknown).
std::string thp_mode() {
  std::ifstream in("/sys/kernel/mm/transparent_hugepage/enabled");
  std::string all;
  std::getline(in, all);
  const auto open = all.find('['), close = all.find(']');
  return open == std::string::npos || close == std::string::npos ? "" : all.substr(open + 1, close - open - 1);
}

// Whether the kernel takes huge-page advice (it refuses it when built without
// transparent huge pages): asked on a mapping of its own.
bool kernel_takes_huge_page_advice() {
  void* p = mmap(nullptr, 2 * kHuge, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (p == MAP_FAILED) return false;
  const bool yes = madvise(p, 2 * kHuge, MADV_HUGEPAGE) == 0;
  munmap(p, 2 * kHuge);
  return yes;
}
#endif

TEST(Buffer, HoldsWhatWasAskedFor) {
  for (std::size_t size :
       {std::size_t{1}, std::size_t{4095}, kHuge / 2 - 1, kHuge / 2, kHuge - 1, kHuge, kHuge + 1, 5 * kHuge + 3}) {
    Buffer b(size);
    ASSERT_NE(b.data(), nullptr);
    EXPECT_EQ(b.size(), size);
    for (std::size_t i = 0; i < size; ++i) b.data()[i] = static_cast<std::byte>(i * 131 % 251);
    std::size_t wrong = 0;
    for (std::size_t i = 0; i < size; ++i) wrong += b.data()[i] != static_cast<std::byte>(i * 131 % 251);
    EXPECT_EQ(wrong, 0u) << "size " << size;
  }
}

#if defined(__linux__)
// Linux with 4 KiB base pages: see Buffer.
TEST(Buffer, LargeBuffersStartOnAHugePageAndAskForHugePages) {
  ASSERT_EQ(sysconf(_SC_PAGESIZE), 4096) << "this test is for 4 KiB base pages";
  for (std::size_t size : {kHuge / 2, kHuge - 64, kHuge, kHuge + 64, 3 * kHuge + 5}) {
    Buffer b(size);
    EXPECT_EQ(reinterpret_cast<std::uintptr_t>(b.data()) % kHuge, 0u) << "size " << size;
    const std::string smaps = smaps_of(b.data());
    ASSERT_FALSE(smaps.empty()) << "no mapping holds the buffer";
    // Under 2 MiB the whole huge page is mapped (else it could not be one).
    if (size < kHuge) {
      EXPECT_EQ(smaps_of(b.data() + kHuge - 1), smaps) << "size " << size << " maps part of a huge page";
    }
    // The advice shows as the VMA flag "hg" (kernels since 3.x print VmFlags)
    // on kernels built with transparent huge pages; without them it is refused.
    const auto flags = smaps.find("VmFlags:");
    ASSERT_NE(flags, std::string::npos) << smaps;
    if (kernel_takes_huge_page_advice())
      EXPECT_NE(smaps.find(" hg", flags), std::string::npos) << "no MADV_HUGEPAGE on the buffer:\n" << smaps;
    else
      EXPECT_EQ(smaps.find(" hg", flags), std::string::npos) << smaps;
    if (thp_mode() == "always" || thp_mode() == "madvise") {
      // Kernels since 5.0 say whether the mapping may get huge pages.
      const auto eligible = smaps.find("THPeligible:");
      if (eligible != std::string::npos) {
        std::istringstream value(smaps.substr(eligible + 12));
        int yes = -1;
        value >> yes;
        EXPECT_EQ(yes, 1) << smaps;
      }
    }
  }
}

TEST(Buffer, SmallBuffersAreOrdinaryAllocations) {
  Buffer b(kHuge / 2 - 1);
  const std::string smaps = smaps_of(b.data());
  const auto flags = smaps.find("VmFlags:");
  if (flags != std::string::npos) {
    EXPECT_EQ(smaps.find(" hg", flags), std::string::npos) << "a buffer under 1 MiB asked for huge pages";
  }
}

#endif  // __linux__

}  // namespace

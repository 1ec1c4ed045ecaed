// Where a channel part lies in a consumer's box (contiguous_offset): parts
// that are one run of the box are received straight into its frame.
#include <gtest/gtest.h>

#include "msa/detail/channel_kernels.hpp"

namespace {

using msa::Box;
using msa::detail::contiguous_offset;

TEST(ContiguousOffset, WholeBoxIsOneRunAtZero) {
  const Box owner = Box::of({4, 0, 2}, {6, 5, 7});
  EXPECT_EQ(contiguous_offset(owner, owner), 0);
}

TEST(ContiguousOffset, BandsOfTheFirstExtentAreRuns) {
  const Box owner = Box::of({10, 0, 0}, {8, 3, 5});
  // Rows 13..15 of the first extent, all of the rest: offset 3 * 3 * 5.
  EXPECT_EQ(contiguous_offset(owner, Box::of({13, 0, 0}, {3, 3, 5})), 45);
  EXPECT_EQ(contiguous_offset(Box::of({0}, {100}), Box::of({40}, {25})), 40);
}

TEST(ContiguousOffset, LeadingExtentsOfOneThenAPartialExtent) {
  const Box owner = Box::of({0, 0, 0, 0}, {4, 3, 8, 10});
  // One (i, j), rows 2..6 of the third extent, whole last: a run of 50.
  EXPECT_EQ(contiguous_offset(owner, Box::of({1, 2, 2, 0}, {1, 1, 5, 10})), ((1 * 3 + 2) * 8 + 2) * 10);
  // One row, part of its columns: still one run.
  EXPECT_EQ(contiguous_offset(owner, Box::of({3, 1, 7, 4}, {1, 1, 1, 6})), ((3 * 3 + 1) * 8 + 7) * 10 + 4);
}

TEST(ContiguousOffset, PartsSpanningSeveralRunsAreNot) {
  const Box owner = Box::of({0, 0, 0}, {3, 64, 100});
  // A band of rows of every field (the climate analysis' parts): 3 runs.
  EXPECT_EQ(contiguous_offset(owner, Box::of({0, 16, 0}, {3, 16, 100})), -1);
  // Part of the columns of two rows.
  EXPECT_EQ(contiguous_offset(owner, Box::of({1, 5, 0}, {1, 2, 50})), -1);
}

TEST(ContiguousOffset, EmptyOrOutsideIsNot) {
  const Box owner = Box::of({0, 0}, {4, 4});
  EXPECT_EQ(contiguous_offset(owner, Box::of({1, 0}, {0, 4})), -1);
  EXPECT_EQ(contiguous_offset(owner, Box::of({2, 0}, {4, 4})), -1);
}

}  // namespace

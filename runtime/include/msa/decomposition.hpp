#pragma once
/// Decompositions: the global shape of an N-d array (N <= 4) and the box of it
/// each rank owns. Boxes are (start, count) per dimension in global indices,
/// as HDF5 hyperslabs are; dimension 0 is the slowest-varying in packed data
/// (LayoutRight order).

#include <array>
#include <cstdint>
#include <initializer_list>
#include <string>
#include <vector>

namespace msa {

/// The largest rank of arrays channels and stores handle.
constexpr int kMaxDims = 4;

/// A box of an N-d index space: [start[d], start[d] + count[d]) per dimension.
struct Box {
  int ndims = 0;
  std::array<int64_t, kMaxDims> start{};
  std::array<int64_t, kMaxDims> count{};

  /// Builds a box; throws ConfigError if the sizes differ, N > 4, or a count is negative.
  static Box of(std::initializer_list<int64_t> start, std::initializer_list<int64_t> count);
  static Box of(const std::vector<int64_t>& start, const std::vector<int64_t>& count);
  /// The whole of `shape`.
  static Box whole(const std::vector<int64_t>& shape);

  /// Number of elements (0 for an empty box).
  int64_t volume() const;
  bool empty() const { return volume() == 0; }
  /// The common part of two boxes of the same rank (empty if none).
  Box intersect(const Box& other) const;
  bool overlaps(const Box& other) const { return !intersect(other).empty(); }
  /// Whether `other` lies inside this box.
  bool contains(const Box& other) const;
  /// "[0:64, 32:64]" (start:end per dimension).
  std::string to_string() const;

  friend bool operator==(const Box& a, const Box& b);
  friend bool operator!=(const Box& a, const Box& b) { return !(a == b); }
};

/// A distributed array's global shape and this rank's box of it.
struct Decomposition {
  std::vector<int64_t> global;  ///< global shape, one extent per dimension
  Box box;                      ///< this rank's part (may be empty)

  /// Checks the box against the shape; throws ConfigError naming both.
  static Decomposition of(std::vector<int64_t> global, Box box);
  int ndims() const { return static_cast<int>(global.size()); }
};

/// Even block decomposition of `global` along dimension `dim` into `parts`
/// boxes; box `index` of them (the first `extent % parts` boxes get one more).
Box block_along(const std::vector<int64_t>& global, int dim, int parts, int index);

/// "[128, 64]"
std::string shape_to_string(const std::vector<int64_t>& shape);

}  // namespace msa

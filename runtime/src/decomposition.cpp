#include "msa/decomposition.hpp"

#include <fmt/format.h>

#include <algorithm>

#include "msa/error.hpp"

namespace msa {

Box Box::of(const std::vector<int64_t>& start, const std::vector<int64_t>& count) {
  if (start.size() != count.size())
    throw ConfigError(fmt::format("box: start has {} dimensions but count has {}", start.size(), count.size()));
  if (start.empty() || start.size() > static_cast<std::size_t>(kMaxDims))
    throw ConfigError(fmt::format("box: {} dimensions; msa handles 1 to {}", start.size(), kMaxDims));
  Box b;
  b.ndims = static_cast<int>(start.size());
  for (int d = 0; d < b.ndims; ++d) {
    if (count[static_cast<std::size_t>(d)] < 0 || start[static_cast<std::size_t>(d)] < 0)
      throw ConfigError(fmt::format("box: negative start or count in dimension {}", d));
    b.start[static_cast<std::size_t>(d)] = start[static_cast<std::size_t>(d)];
    b.count[static_cast<std::size_t>(d)] = count[static_cast<std::size_t>(d)];
  }
  return b;
}

Box Box::of(std::initializer_list<int64_t> start, std::initializer_list<int64_t> count) {
  return of(std::vector<int64_t>(start), std::vector<int64_t>(count));
}

Box Box::whole(const std::vector<int64_t>& shape) { return of(std::vector<int64_t>(shape.size(), 0), shape); }

int64_t Box::volume() const {
  if (ndims == 0) return 0;
  int64_t v = 1;
  for (int d = 0; d < ndims; ++d) v *= count[static_cast<std::size_t>(d)];
  return v;
}

Box Box::intersect(const Box& other) const {
  Box r;
  r.ndims = std::min(ndims, other.ndims);
  if (ndims != other.ndims) {
    r.ndims = ndims;
    return r;  // different ranks never overlap: an empty box
  }
  for (std::size_t d = 0; d < static_cast<std::size_t>(ndims); ++d) {
    const int64_t lo = std::max(start[d], other.start[d]);
    const int64_t hi = std::min(start[d] + count[d], other.start[d] + other.count[d]);
    r.start[d] = lo;
    r.count[d] = std::max<int64_t>(0, hi - lo);
  }
  return r;
}

bool Box::contains(const Box& other) const {
  if (other.empty()) return true;
  if (ndims != other.ndims) return false;
  for (std::size_t d = 0; d < static_cast<std::size_t>(ndims); ++d)
    if (other.start[d] < start[d] || other.start[d] + other.count[d] > start[d] + count[d]) return false;
  return true;
}

std::string Box::to_string() const {
  std::string s = "[";
  for (std::size_t d = 0; d < static_cast<std::size_t>(ndims); ++d)
    s += fmt::format("{}{}:{}", d ? ", " : "", start[d], start[d] + count[d]);
  return s + "]";
}

bool operator==(const Box& a, const Box& b) {
  if (a.ndims != b.ndims) return false;
  for (std::size_t d = 0; d < static_cast<std::size_t>(a.ndims); ++d)
    if (a.start[d] != b.start[d] || a.count[d] != b.count[d]) return false;
  return true;
}

Decomposition Decomposition::of(std::vector<int64_t> global, Box box) {
  if (global.empty() || global.size() > static_cast<std::size_t>(kMaxDims))
    throw ConfigError(fmt::format("decomposition: {} dimensions; msa handles 1 to {}", global.size(), kMaxDims));
  for (auto e : global)
    if (e < 0) throw ConfigError(fmt::format("decomposition: negative extent in shape {}", shape_to_string(global)));
  if (box.ndims != static_cast<int>(global.size()))
    throw ConfigError(fmt::format("decomposition: box {} has {} dimensions but the shape {} has {}", box.to_string(),
                                  box.ndims, shape_to_string(global), global.size()));
  if (!box.empty() && !Box::whole(global).contains(box))
    throw ConfigError(fmt::format("decomposition: box {} lies outside the global shape {}", box.to_string(),
                                  shape_to_string(global)));
  return Decomposition{std::move(global), box};
}

Box block_along(const std::vector<int64_t>& global, int dim, int parts, int index) {
  if (dim < 0 || dim >= static_cast<int>(global.size()) || parts < 1 || index < 0 || index >= parts)
    throw ConfigError(
        fmt::format("block_along: dimension {} of {}, part {} of {}", dim, shape_to_string(global), index, parts));
  Box b = Box::whole(global);
  const int64_t n = global[static_cast<std::size_t>(dim)];
  const int64_t base = n / parts, extra = n % parts;
  b.start[static_cast<std::size_t>(dim)] = index * base + std::min<int64_t>(index, extra);
  b.count[static_cast<std::size_t>(dim)] = base + (index < extra ? 1 : 0);
  return b;
}

std::string shape_to_string(const std::vector<int64_t>& shape) {
  std::string s = "[";
  for (std::size_t d = 0; d < shape.size(); ++d) s += fmt::format("{}{}", d ? ", " : "", shape[d]);
  return s + "]";
}

}  // namespace msa

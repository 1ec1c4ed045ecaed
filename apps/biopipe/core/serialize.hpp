#pragma once
// Byte buffers of biopipe's values, for tasks that exchange them. Layout:
// a 4-byte tag naming the type, then little-endian fixed-width fields and
// length-prefixed arrays copied with memcpy. decode<T>() checks every
// length against the buffer and throws msa::ConfigError("corrupt <what>
// buffer: ...") on a short, long or mistagged buffer. Thread-safe.
#include <cstddef>
#include <cstdint>
#include <vector>

#include "align.hpp"
#include "filter.hpp"
#include "kmers.hpp"
#include "sequences.hpp"
#include "summary.hpp"

namespace biopipe {

std::vector<std::uint8_t> to_bytes(const std::vector<Record>& records);
std::vector<std::uint8_t> to_bytes(const KmerCounts& counts);
std::vector<std::uint8_t> to_bytes(const std::vector<Hit>& hits);
std::vector<std::uint8_t> to_bytes(const Summary& summary);
std::vector<std::uint8_t> to_bytes(const FilterStats& stats);

/// The value to_bytes() encoded in data[0, size). T is one of the types above.
template <class T>
T decode(const std::uint8_t* data, std::size_t size);

template <>
std::vector<Record> decode<std::vector<Record>>(const std::uint8_t* data, std::size_t size);
template <>
KmerCounts decode<KmerCounts>(const std::uint8_t* data, std::size_t size);
template <>
std::vector<Hit> decode<std::vector<Hit>>(const std::uint8_t* data, std::size_t size);
template <>
Summary decode<Summary>(const std::uint8_t* data, std::size_t size);
template <>
FilterStats decode<FilterStats>(const std::uint8_t* data, std::size_t size);

template <class T>
T decode(const std::vector<std::uint8_t>& bytes) {
  return decode<T>(bytes.data(), bytes.size());
}

}  // namespace biopipe

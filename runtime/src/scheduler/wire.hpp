#pragma once
// Little-endian-as-the-host binary packing for the scheduler's messages (all
// ranks of one job run the same build, so no byte swapping is needed).

#include <cstdint>
#include <cstring>
#include <string>
#include <type_traits>
#include <vector>

#include "msa/error.hpp"

namespace msa::detail {

class WireWriter {
 public:
  template <class T>
  void put(T value) {
    static_assert(std::is_trivially_copyable_v<T>);
    const auto at = m_bytes.size();
    m_bytes.resize(at + sizeof(T));
    std::memcpy(m_bytes.data() + at, &value, sizeof(T));
  }
  void put_string(const std::string& text) {
    put<std::uint32_t>(static_cast<std::uint32_t>(text.size()));
    m_bytes.insert(m_bytes.end(), text.begin(), text.end());
  }
  std::vector<std::uint8_t>& bytes() { return m_bytes; }
  bool empty() const { return m_bytes.empty(); }
  void clear() { m_bytes.clear(); }

 private:
  std::vector<std::uint8_t> m_bytes;
};

class WireReader {
 public:
  WireReader(const std::uint8_t* data, std::size_t size) : m_data(data), m_size(size) {}
  template <class T>
  T get() {
    static_assert(std::is_trivially_copyable_v<T>);
    need(sizeof(T));
    T value;
    std::memcpy(&value, m_data + m_at, sizeof(T));
    m_at += sizeof(T);
    return value;
  }
  std::string get_string() {
    const auto n = get<std::uint32_t>();
    need(n);
    std::string text(reinterpret_cast<const char*>(m_data + m_at), n);
    m_at += n;
    return text;
  }
  bool done() const { return m_at >= m_size; }

 private:
  void need(std::size_t n) const {
    if (m_at + n > m_size) throw Error("scheduler: truncated internal message (a bug in msa, please report it)");
  }
  const std::uint8_t* m_data;
  std::size_t m_size;
  std::size_t m_at = 0;
};

}  // namespace msa::detail

#include "journal.hpp"

#include <fcntl.h>
#include <sys/uio.h>
#include <unistd.h>
#include <zlib.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>

#include "msa/error.hpp"

namespace msa::detail {

namespace {
constexpr std::uint32_t record_magic = 0x4a41534d;  // "MSAJ"

std::string errno_text() { return std::strerror(errno); }

template <class T>
void append_pod(std::vector<std::uint8_t>& out, T value) {
  const auto at = out.size();
  out.resize(at + sizeof(T));
  std::memcpy(out.data() + at, &value, sizeof(T));
}
}  // namespace

namespace {
/// CRC-32 (zlib) of any length (zlib takes 32-bit lengths).
std::uint32_t crc32_of(const std::uint8_t* data, std::size_t size, std::uint32_t crc = 0) {
  uLong c = crc;
  while (size > 0) {
    const auto n = static_cast<uInt>(std::min<std::size_t>(size, 1u << 30));
    c = ::crc32(c, data, n);
    data += n;
    size -= n;
  }
  return static_cast<std::uint32_t>(c);
}
}  // namespace

JournalIndex scan_journal(const std::string& dir) {
  JournalIndex index;
  std::error_code ec;
  if (!std::filesystem::is_directory(dir, ec)) return index;
  std::vector<std::string> files;
  for (const auto& e : std::filesystem::directory_iterator(dir, ec)) {
    const auto name = e.path().filename().string();
    if (name.rfind("journal.", 0) == 0 && e.path().extension() == ".bin") files.push_back(e.path().string());
  }
  std::sort(files.begin(), files.end());
  for (const auto& path : files) {
    const auto file_id = static_cast<std::int32_t>(index.files.size());
    index.files.push_back(path);
    std::ifstream in(path, std::ios::binary);
    std::vector<std::uint8_t> data((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    std::uint64_t at = 0;
    auto torn = [&](const std::string& why) {
      index.warnings.push_back("journal '" + path + "': " + why + " at byte " + std::to_string(at) +
                               " (a run was stopped while writing it); the tasks after it run again");
    };
    while (at < data.size()) {
      std::uint64_t p = at;
      auto have = [&](std::uint64_t n) { return p + n <= data.size(); };
      auto read32 = [&] {
        std::uint32_t v;
        std::memcpy(&v, data.data() + p, 4);
        p += 4;
        return v;
      };
      auto read64 = [&] {
        std::uint64_t v;
        std::memcpy(&v, data.data() + p, 8);
        p += 8;
        return v;
      };
      if (!have(8) || read32() != record_magic) {
        torn("no record header");
        break;
      }
      const std::uint32_t name_size = read32();
      if (!have(std::uint64_t(name_size) + 20)) {
        torn("incomplete record");
        break;
      }
      std::string name(reinterpret_cast<const char*>(data.data() + p), name_size);
      p += name_size;
      const std::uint64_t fingerprint = read64();
      const std::uint64_t size = read64();
      const std::uint32_t header_crc = read32();
      if (crc32_of(data.data() + at, p - 4 - at) != header_crc) {
        torn("damaged record header");
        break;
      }
      if (!have(size + 4)) {
        torn("incomplete output of task '" + name + "'");
        break;
      }
      const std::uint64_t payload = p;
      p += size;
      if (crc32_of(data.data() + payload, size) != read32()) {
        torn("damaged output of task '" + name + "'");
        break;
      }
      index.entries[name] = JournalEntry{fingerprint, file_id, payload, size};
      at = p;
    }
    index.valid_bytes.push_back(at);
  }
  return index;
}

std::vector<std::uint8_t> read_journal_entry(const std::string& file, const JournalEntry& entry) {
  std::vector<std::uint8_t> out(entry.size);
  std::ifstream in(file, std::ios::binary);
  in.seekg(static_cast<std::streamoff>(entry.offset));
  in.read(reinterpret_cast<char*>(out.data()), static_cast<std::streamsize>(out.size()));
  std::uint32_t crc = 0;
  in.read(reinterpret_cast<char*>(&crc), 4);
  if (!in)
    throw IoError("journal '" + file + "': cannot read " + std::to_string(entry.size) + " bytes at offset " +
                  std::to_string(entry.offset) + " (was the file changed during the run?)");
  if (crc32_of(out.data(), out.size()) != crc)
    throw IoError("journal '" + file + "': checksum mismatch at offset " + std::to_string(entry.offset) +
                  " (was the file changed during the run?)");
  return out;
}

JournalWriter::JournalWriter(const std::string& dir, int rank, std::int64_t valid_bytes) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) throw IoError("journal directory '" + dir + "': " + ec.message());
  m_path = (std::filesystem::path(dir) / ("journal." + std::to_string(rank) + ".bin")).string();
  m_fd = ::open(m_path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (m_fd < 0) throw IoError("journal '" + m_path + "': cannot open for writing: " + errno_text());
  // Drop a torn record so new records are not hidden behind it.
  if (valid_bytes >= 0 && ::ftruncate(m_fd, valid_bytes) != 0) {
    const auto why = errno_text();
    ::close(m_fd);
    throw IoError("journal '" + m_path + "': cannot truncate to its last valid record: " + why);
  }
}

JournalWriter::~JournalWriter() {
  if (m_fd >= 0) ::close(m_fd);
}

void JournalWriter::append(const std::string& name, std::uint64_t fingerprint,
                           const std::vector<std::uint8_t>& output) {
  std::vector<std::uint8_t> header;
  append_pod<std::uint32_t>(header, record_magic);
  append_pod<std::uint32_t>(header, static_cast<std::uint32_t>(name.size()));
  header.insert(header.end(), name.begin(), name.end());
  append_pod<std::uint64_t>(header, fingerprint);
  append_pod<std::uint64_t>(header, output.size());
  append_pod<std::uint32_t>(header, crc32_of(header.data(), header.size()));
  std::uint32_t crc = crc32_of(output.data(), output.size());
  iovec parts[3] = {
      {header.data(), header.size()}, {const_cast<std::uint8_t*>(output.data()), output.size()}, {&crc, sizeof crc}};
  int first = 0;
  while (first < 3) {
    const ssize_t n = ::writev(m_fd, parts + first, 3 - first);
    if (n < 0) {
      if (errno == EINTR) continue;
      throw IoError("journal '" + m_path + "': cannot record task '" + name + "': " + errno_text());
    }
    auto left = static_cast<std::size_t>(n);
    while (first < 3 && left >= parts[first].iov_len) left -= parts[first++].iov_len;
    if (first < 3) {
      parts[first].iov_base = static_cast<char*>(parts[first].iov_base) + left;
      parts[first].iov_len -= left;
    }
  }
}

void JournalWriter::sync() {
  if (m_fd >= 0 && ::fsync(m_fd) != 0) throw IoError("journal '" + m_path + "': fsync failed: " + errno_text());
}

}  // namespace msa::detail

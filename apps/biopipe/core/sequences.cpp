// FASTA and FASTQ files, plain or gzip, through zlib's gz* functions (which
// read plain files transparently).
#include "sequences.hpp"

#include <fmt/format.h>
#include <sys/stat.h>
#include <zlib.h>

#include <array>
#include <cerrno>
#include <cstdio>
#include <cstring>

#include "msa/error.hpp"

namespace biopipe {
namespace {

[[noreturn]] void fail(const std::string& message) { throw msa::ConfigError(message); }

std::string errno_text(int err) { return err != 0 ? std::strerror(err) : "unknown error"; }

// A character as a user can read it in a message.
std::string printable(char c) {
  const auto u = static_cast<unsigned char>(c);
  if (u >= 0x20 && u < 0x7f) return std::string(1, c);
  return fmt::format("\\x{:02x}", u);
}

// The first word of a header, which names the record in messages.
std::string record_id(const std::string& name) { return name.substr(0, name.find_first_of(" \t")); }

// Upper-case base for every accepted sequence character, 0 for the rest.
const std::array<char, 256>& base_table() {
  static const std::array<char, 256> table = [] {
    std::array<char, 256> t{};
    for (char c : std::string("ACGTN")) {
      t[static_cast<unsigned char>(c)] = c;
      t[static_cast<unsigned char>(c - 'A' + 'a')] = c;
    }
    for (char c : std::string("RYSWKMBDHV")) {
      t[static_cast<unsigned char>(c)] = 'N';
      t[static_cast<unsigned char>(c - 'A' + 'a')] = 'N';
    }
    return t;
  }();
  return table;
}

class GzReader {
 public:
  explicit GzReader(const std::string& path) : m_path(path), m_buffer(std::size_t{1} << 18) {
    struct stat st {};
    if (::stat(path.c_str(), &st) != 0) fail(fmt::format("{}: cannot read: {}", path, errno_text(errno)));
    if (S_ISDIR(st.st_mode)) fail(fmt::format("{}: cannot read: it is a directory, not a FASTA/FASTQ file", path));
    errno = 0;
    m_file = gzopen(path.c_str(), "rb");
    if (m_file == nullptr) fail(fmt::format("{}: cannot read: {}", path, errno_text(errno)));
    gzbuffer(m_file, 1U << 18);
  }
  ~GzReader() {
    if (m_file != nullptr) gzclose_r(m_file);
  }
  GzReader(const GzReader&) = delete;
  GzReader& operator=(const GzReader&) = delete;

  /// The next line without its "\n" or "\r\n"; false at the end of the file.
  bool next(std::string& line) {
    line.clear();
    bool any = false;
    for (;;) {
      if (m_pos == m_end && !fill()) break;
      any = true;
      const char* start = m_buffer.data() + m_pos;
      const void* newline = std::memchr(start, '\n', m_end - m_pos);
      if (newline != nullptr) {
        const auto len = static_cast<std::size_t>(static_cast<const char*>(newline) - start);
        line.append(start, len);
        m_pos += len + 1;
        break;
      }
      line.append(start, m_end - m_pos);
      m_pos = m_end;
    }
    if (!any) return false;
    ++m_line;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    return true;
  }
  /// The number of the line next() returned last (1-based).
  long line() const { return m_line; }
  const std::string& path() const { return m_path; }

 private:
  bool fill() {
    if (m_eof) return false;
    const int n = gzread(m_file, m_buffer.data(), static_cast<unsigned>(m_buffer.size()));
    if (n > 0) {
      m_pos = 0;
      m_end = static_cast<std::size_t>(n);
      return true;
    }
    // A truncated gzip stream is not an error to gzread: it returns the bytes
    // it could inflate, then 0, and leaves Z_BUF_ERROR in gzerror.
    int err = Z_OK;
    const char* message = gzerror(m_file, &err);
    if (n < 0 || err != Z_OK) {
      std::string why = err == Z_ERRNO ? errno_text(errno) : std::string(message);
      // zlib prefixes its messages with the path, which ours already starts with.
      if (why.compare(0, m_path.size() + 2, m_path + ": ") == 0) why.erase(0, m_path.size() + 2);
      if (err == Z_BUF_ERROR)
        fail(fmt::format("{}:{}: the gzip stream ends early ({}): the file is truncated", m_path, m_line + 1, why));
      fail(fmt::format("{}:{}: cannot read: {}", m_path, m_line + 1, why));
    }
    m_eof = true;
    return false;
  }

  std::string m_path;
  gzFile m_file = nullptr;
  std::vector<char> m_buffer;
  std::size_t m_pos = 0, m_end = 0;
  bool m_eof = false;
  long m_line = 0;
};

bool is_blank(const std::string& line) { return line.find_first_not_of(" \t") == std::string::npos; }

void append_bases(std::string& sequence, const std::string& line, const GzReader& in, const std::string& name) {
  const auto& table = base_table();
  const std::size_t first = sequence.size();
  sequence.resize(first + line.size());
  for (std::size_t i = 0; i < line.size(); ++i) {
    const char b = table[static_cast<unsigned char>(line[i])];
    if (b == 0)
      fail(
          fmt::format("{}:{}: record '{}': invalid character '{}' at column {} of the sequence; "
                      "use ACGTN or the IUPAC codes RYSWKMBDHV",
                      in.path(), in.line(), record_id(name), printable(line[i]), i + 1));
    sequence[first + i] = b;
  }
}

void read_fasta(GzReader& in, std::string header, std::vector<Record>& out) {
  Record current{header.substr(1), "", ""};
  std::string line;
  while (in.next(line)) {
    if (is_blank(line)) continue;
    if (line[0] == '>') {
      out.push_back(std::move(current));
      current = Record{line.substr(1), "", ""};
    } else {
      append_bases(current.sequence, line, in, current.name);
    }
  }
  out.push_back(std::move(current));
}

void read_fastq(GzReader& in, std::string header, std::vector<Record>& out) {
  std::string line;
  for (;;) {
    if (header[0] != '@')
      fail(fmt::format("{}:{}: expected '@' at the start of a FASTQ record, found '{}'", in.path(), in.line(),
                       printable(header[0])));
    Record r{header.substr(1), "", ""};
    const long header_line = in.line();
    const std::string id = record_id(r.name);
    if (!in.next(line))
      fail(fmt::format("{}:{}: FASTQ record '{}' is truncated: the sequence line is missing", in.path(), header_line,
                       id));
    append_bases(r.sequence, line, in, r.name);
    if (!in.next(line))
      fail(fmt::format("{}:{}: FASTQ record '{}' is truncated: the '+' line is missing", in.path(), header_line, id));
    if (line.empty() || line[0] != '+')
      fail(fmt::format("{}:{}: FASTQ record '{}': expected the '+' line, found '{}'", in.path(), in.line(), id,
                       line.substr(0, 40)));
    if (!in.next(r.quality))
      fail(fmt::format("{}:{}: FASTQ record '{}' is truncated: the quality line is missing", in.path(), header_line,
                       id));
    if (r.quality.size() != r.sequence.size())
      fail(fmt::format("{}:{}: FASTQ record '{}': quality has {} characters, sequence has {}", in.path(), in.line(), id,
                       r.quality.size(), r.sequence.size()));
    for (std::size_t i = 0; i < r.quality.size(); ++i)
      if (r.quality[i] < '!' || r.quality[i] > '~')
        fail(
            fmt::format("{}:{}: FASTQ record '{}': invalid quality character '{}' at column {}; use phred+33 ('!' to "
                        "'~')",
                        in.path(), in.line(), id, printable(r.quality[i]), i + 1));
    out.push_back(std::move(r));
    do {
      if (!in.next(header)) return;
    } while (is_blank(header));
  }
}

bool ends_with(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

// A file written through stdio or zlib, closed (and checked) by close().
class Writer {
 public:
  explicit Writer(const std::string& path) : m_path(path), m_gzip(ends_with(path, ".gz")) {
    errno = 0;
    if (m_gzip)
      m_gz = gzopen(path.c_str(), "wb");
    else
      m_plain = std::fopen(path.c_str(), "wb");
    if (m_gz == nullptr && m_plain == nullptr) fail(fmt::format("{}: cannot write: {}", path, errno_text(errno)));
    m_text.reserve(kFlushAt + 4096);
  }
  ~Writer() {
    if (m_gz != nullptr) gzclose_w(m_gz);
    if (m_plain != nullptr) std::fclose(m_plain);
  }
  Writer(const Writer&) = delete;
  Writer& operator=(const Writer&) = delete;

  std::string& text() { return m_text; }
  void maybe_flush() {
    if (m_text.size() >= kFlushAt) flush();
  }
  void close() {
    flush();
    errno = 0;
    if (m_gzip) {
      const int rc = gzclose_w(m_gz);
      m_gz = nullptr;
      if (rc != Z_OK) write_failed(rc == Z_ERRNO ? errno_text(errno) : fmt::format("zlib error {}", rc));
    } else {
      const int rc = std::fclose(m_plain);
      m_plain = nullptr;
      if (rc != 0) write_failed(errno_text(errno));
    }
  }

 private:
  static constexpr std::size_t kFlushAt = std::size_t{1} << 20;

  void flush() {
    if (m_text.empty()) return;
    errno = 0;
    if (m_gzip) {
      if (gzwrite(m_gz, m_text.data(), static_cast<unsigned>(m_text.size())) == 0) {
        int err = Z_OK;
        const char* message = gzerror(m_gz, &err);
        write_failed(err == Z_ERRNO ? errno_text(errno) : std::string(message));
      }
    } else if (std::fwrite(m_text.data(), 1, m_text.size(), m_plain) != m_text.size()) {
      write_failed(errno_text(errno));
    }
    m_text.clear();
  }
  [[noreturn]] void write_failed(const std::string& why) { fail(fmt::format("{}: cannot write: {}", m_path, why)); }

  std::string m_path;
  bool m_gzip;
  gzFile m_gz = nullptr;
  std::FILE* m_plain = nullptr;
  std::string m_text;
};

}  // namespace

std::vector<Record> read_sequences(const std::string& path) {
  GzReader in(path);
  std::string line;
  do {
    if (!in.next(line)) fail(fmt::format("{}: the file is empty; expected FASTA ('>') or FASTQ ('@') records", path));
  } while (is_blank(line));
  std::vector<Record> records;
  if (line[0] == '>')
    read_fasta(in, line, records);
  else if (line[0] == '@')
    read_fastq(in, line, records);
  else
    fail(fmt::format("{}:{}: not a FASTA or FASTQ file: it starts with '{}' where '>' or '@' is expected", path,
                     in.line(), printable(line[0])));
  return records;
}

void write_fasta(const std::string& path, const std::vector<Record>& records) {
  constexpr std::size_t kColumns = 60;
  Writer out(path);
  for (const auto& r : records) {
    std::string& t = out.text();
    t += '>';
    t += r.name;
    t += '\n';
    for (std::size_t i = 0; i < r.sequence.size(); i += kColumns) {
      t.append(r.sequence, i, kColumns);
      t += '\n';
    }
    out.maybe_flush();
  }
  out.close();
}

void write_fastq(const std::string& path, const std::vector<Record>& records) {
  for (const auto& r : records)
    if (!r.quality.empty() && r.quality.size() != r.sequence.size())
      fail(fmt::format("{}: record '{}' has {} quality characters for {} bases", path, record_id(r.name),
                       r.quality.size(), r.sequence.size()));
  Writer out(path);
  for (const auto& r : records) {
    std::string& t = out.text();
    t += '@';
    t += r.name;
    t += '\n';
    t += r.sequence;
    t += "\n+\n";
    if (r.quality.empty())
      t.append(r.sequence.size(), 'I');
    else
      t += r.quality;
    t += '\n';
    out.maybe_flush();
  }
  out.close();
}

}  // namespace biopipe

// Checkpoints: temporary file, fsync, rename; checksums of arrays and metadata;
// restart from the newest one that verifies.
#include "msa/io/checkpoint.hpp"

#include <fcntl.h>
#include <fmt/format.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <regex>

#include "h5.hpp"
#include "mpi_util.hpp"
#include "msa/comm.hpp"

namespace msa::io {

namespace fs = std::filesystem;

namespace {

constexpr int64_t kFormat = 1;

uint64_t mix(uint64_t z) {
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

// Sum over the box's elements of a hash of (global index, value bits): the
// ranks' sums add up to the same total whatever the decomposition.
uint64_t partial_checksum(const std::byte* data, std::size_t element, const Box& box,
                          const std::vector<int64_t>& global) {
  if (box.empty()) return 0;
  const int nd = box.ndims;
  const int64_t last = box.count[static_cast<std::size_t>(nd - 1)];
  int64_t rows = 1;
  for (int d = 0; d + 1 < nd; ++d) rows *= box.count[static_cast<std::size_t>(d)];
  uint64_t sum = 0;
  for (int64_t row = 0; row < rows; ++row) {
    int64_t rem = row, linear = 0, stride = 1;
    int64_t idx[kMaxDims] = {0, 0, 0, 0};
    for (int d = nd - 2; d >= 0; --d) {
      const auto du = static_cast<std::size_t>(d);
      idx[d] = box.start[du] + rem % box.count[du];
      rem /= box.count[du];
    }
    idx[nd - 1] = box.start[static_cast<std::size_t>(nd - 1)];
    for (int d = nd - 1; d >= 0; --d) {
      linear += idx[d] * stride;
      stride *= global[static_cast<std::size_t>(d)];
    }
    const std::byte* p = data + static_cast<std::size_t>(row * last) * element;
    for (int64_t j = 0; j < last; ++j, p += element) {
      uint64_t bits = 0;
      std::memcpy(&bits, p, element);
      sum += mix(mix(bits) ^ (static_cast<uint64_t>(linear + j) * 0x9e3779b97f4a7c15ULL));
    }
  }
  return sum;
}

uint64_t fnv1a(const std::string& s) {
  uint64_t h = 1469598103934665603ULL;
  for (unsigned char c : s) h = (h ^ c) * 1099511628211ULL;
  return h;
}

std::string hex(uint64_t x) { return fmt::format("{:016x}", x); }

uint64_t sum_over(MPI_Comm comm, uint64_t mine) {
  uint64_t total = 0;
  check_mpi(MPI_Allreduce(&mine, &total, 1, MPI_UINT64_T, MPI_SUM, comm), "checkpoint: checksum");
  return total;
}

nlohmann::json attribute_json(const AttributeValue& v) {
  return std::visit([](const auto& x) { return nlohmann::json(x); }, v);
}

// The metadata every checksum covers, as canonical JSON (keys sorted).
std::string metadata_text(const File& file, const std::vector<std::string>& arrays) {
  nlohmann::json j;
  j["format"] = file.attribute_as<int64_t>("msa_checkpoint");
  j["step"] = file.attribute_as<int64_t>("msa_step");
  j["time"] = fmt::format("{:a}", file.attribute_as<double>("msa_time"));  // exact
  j["writer_ranks"] = file.attribute_as<int64_t>("msa_writer_ranks");
  for (const auto& name : arrays) {
    const Dataset ds = file.dataset(name);
    j["arrays"][name] = {{"type", to_string(ds.type())},
                         {"shape", ds.shape()},
                         {"boxes", ds.attribute_as<std::vector<int64_t>>("msa_boxes")},
                         {"checksum", ds.attribute_as<std::string>("msa_checksum")}};
  }
  for (const auto& name : file.attribute_names())
    if (name.rfind("msa_", 0) != 0) j["attributes"][name] = attribute_json(file.attribute(name));
  return j.dump();
}

std::vector<std::string> split_names(const std::string& s) {
  std::vector<std::string> out;
  std::size_t begin = 0;
  while (begin < s.size()) {
    const std::size_t end = std::min(s.find('\n', begin), s.size());
    out.push_back(s.substr(begin, end - begin));
    begin = end + 1;
  }
  return out;
}

void fsync_path(const std::string& path, bool directory) {
  const int fd = ::open(path.c_str(), directory ? (O_RDONLY | O_DIRECTORY) : O_RDONLY);
  if (fd < 0) throw IoError(fmt::format("cannot open '{}' to fsync it: {}", path, std::strerror(errno)));
  const int rc = ::fsync(fd);
  const int err = errno;
  ::close(fd);
  if (rc != 0) throw IoError(fmt::format("fsync of '{}' failed: {}", path, std::strerror(err)));
}

int rank_of(MPI_Comm comm) {
  int r = 0;
  check_mpi(MPI_Comm_rank(comm, &r), "checkpoint: MPI_Comm_rank");
  return r;
}

int size_of_comm(MPI_Comm comm) {
  int s = 0;
  check_mpi(MPI_Comm_size(comm, &s), "checkpoint: MPI_Comm_size");
  return s;
}

// Rank 0 runs `fn`; every rank throws the same IoError if it failed.
template <class F>
void on_rank0(MPI_Comm comm, F&& fn) {
  std::string error;
  if (rank_of(comm) == 0) {
    try {
      fn();
    } catch (const std::exception& e) {
      error = e.what();
      if (error.empty()) error = "unknown failure";
    }
  }
  msa::detail::agree_on_error(comm, error, 4);
}

}  // namespace

// ---- CheckpointWriter --------------------------------------------------------

struct CheckpointWriter::State {
  MPI_Comm comm = MPI_COMM_NULL;
  std::string final_path;
  std::string temp_path;
  std::string directory;
  std::string prefix;
  int keep = 2;
  File file;
  CheckpointInfo info;
  std::vector<std::string> arrays;
  bool done = false;
};

CheckpointWriter::CheckpointWriter(std::unique_ptr<State> state) : m_state(std::move(state)) {}
CheckpointWriter::CheckpointWriter(CheckpointWriter&&) noexcept = default;
CheckpointWriter& CheckpointWriter::operator=(CheckpointWriter&&) noexcept = default;

CheckpointWriter::~CheckpointWriter() {
  if (!m_state || m_state->done) return;
  // Abandoned (an exception, or no commit): the temporary file goes, the
  // previous checkpoints stay.
  try {
    m_state->file = File();
    std::error_code ec;
    if (rank_of(m_state->comm) == 0) fs::remove(m_state->temp_path, ec);
  } catch (...) {
  }
}

void CheckpointWriter::write_raw(const std::string& name, const void* data, DataType type, const Decomposition& d,
                                 const std::string& local_error) {
  auto& s = *m_state;
  if (s.done) throw IoError("checkpoint " + s.final_path + ": write() after commit()");
  std::string error = local_error;
  if (error.empty() && (name.empty() || name.find('/') != std::string::npos || name.rfind("msa_", 0) == 0))
    error =
        fmt::format("checkpoint array name '{}': use a plain name without '/' that does not start with 'msa_'", name);
  if (error.empty() && !Box::whole(d.global).contains(d.box) && !d.box.empty())
    error = fmt::format("checkpoint array '{}': box {} lies outside the shape {}", name, d.box.to_string(),
                        shape_to_string(d.global));
  msa::detail::agree_on_error(s.comm, error, 4);
  // Every writer's box, kept so a reader can tell how the data was written.
  const auto boxes =
      msa::detail::allgather_strings(s.comm, std::string(reinterpret_cast<const char*>(&d.box), sizeof(Box)));
  std::vector<int64_t> flat;
  for (const auto& b : boxes) {
    Box x;
    std::memcpy(&x, b.data(), sizeof(Box));
    for (int k = 0; k < x.ndims; ++k) flat.push_back(x.start[static_cast<std::size_t>(k)]);
    for (int k = 0; k < x.ndims; ++k) flat.push_back(x.count[static_cast<std::size_t>(k)]);
  }
  Dataset ds = s.file.create_dataset(name, type, d.global);
  ds.write_raw(data, type, d.box);
  const uint64_t sum =
      sum_over(s.comm, partial_checksum(static_cast<const std::byte*>(data), size_of(type), d.box, d.global));
  ds.set_attribute("msa_checksum", hex(sum));
  ds.set_attribute("msa_boxes", flat);
  s.arrays.push_back(name);
}

void CheckpointWriter::set_attribute(const std::string& name, const AttributeValue& value) {
  if (name.rfind("msa_", 0) == 0)
    throw IoError("checkpoint attribute '" + name + "': names starting with msa_ are reserved");
  m_state->file.set_attribute(name, value);
}

CheckpointInfo CheckpointWriter::commit() {
  auto& s = *m_state;
  if (s.done) throw IoError("checkpoint " + s.final_path + ": commit() twice");
  std::string names;
  for (const auto& a : s.arrays) names += (names.empty() ? "" : "\n") + a;
  s.file.set_attribute("msa_arrays", names);
  const std::string meta = metadata_text(s.file, s.arrays);
  s.file.set_attribute("msa_metadata_checksum", hex(fnv1a(meta)));
  s.file.close();
  on_rank0(s.comm, [&] { fsync_path(s.temp_path, false); });
  // Read it back before it replaces anything: some MPI-IO layers (Open MPI
  // 4.1's OMPIO) do not report a write that failed for want of space, and the
  // checksums are what notices.
  try {
    Checkpoints(s.comm, s.directory, s.prefix, s.keep).open(s.temp_path);
  } catch (const IoError& e) {
    throw IoError(
        fmt::format("checkpoint {} failed verification after writing, so it was not kept (is the file "
                    "system full?): {}",
                    s.final_path, e.what()));
  }
  on_rank0(s.comm, [&] {
    if (std::rename(s.temp_path.c_str(), s.final_path.c_str()) != 0)
      throw IoError(fmt::format("cannot rename '{}' to '{}': {}", s.temp_path, s.final_path, std::strerror(errno)));
    fsync_path(s.directory, true);
  });
  s.done = true;
  s.info.path = s.final_path;
  s.info.arrays = s.arrays;
  // Keep the newest `keep`.
  on_rank0(s.comm, [&] {
    Checkpoints all(MPI_COMM_SELF, s.directory, s.prefix, s.keep);
    const auto files = all.files();
    for (std::size_t i = static_cast<std::size_t>(s.keep); i < files.size(); ++i) {
      std::error_code ec;
      fs::remove(files[i], ec);
    }
  });
  return s.info;
}

// ---- Restart -------------------------------------------------------------------

std::vector<int64_t> Restart::shape(const std::string& name) const {
  type(name);  // checks the name
  return m_file.dataset(name).shape();
}

DataType Restart::type(const std::string& name) const {
  if (std::find(m_info.arrays.begin(), m_info.arrays.end(), name) == m_info.arrays.end())
    throw IoError(fmt::format("checkpoint '{}' has no array '{}' (arrays: {})", m_info.path, name,
                              fmt::join(m_info.arrays, ", ")));
  return m_file.dataset(name).type();
}

Dataset Restart::array(const std::string& name, DataType type, const std::vector<int64_t>& global) const {
  this->type(name);
  return m_file.dataset(name, type, global);
}

// ---- Checkpoints -----------------------------------------------------------------

Checkpoints::Checkpoints(MPI_Comm comm, std::string directory, std::string prefix, int keep)
    : m_comm(comm), m_directory(std::move(directory)), m_prefix(std::move(prefix)), m_keep(keep) {
  if (m_keep < 1) throw IoError(fmt::format("checkpoints in '{}': keep is {}; keep at least 1", m_directory, m_keep));
  if (m_prefix.empty() || m_prefix.find('/') != std::string::npos)
    throw IoError(fmt::format("checkpoint prefix '{}': use a plain file name prefix", m_prefix));
}

CheckpointWriter Checkpoints::begin(int64_t step, double time) {
  if (step < 0) throw IoError(fmt::format("checkpoint step {}: steps are >= 0", step));
  auto s = std::make_unique<CheckpointWriter::State>();
  s->comm = m_comm;
  s->directory = m_directory;
  s->prefix = m_prefix;
  s->keep = m_keep;
  s->final_path = (fs::path(m_directory) / fmt::format("{}.{}.h5", m_prefix, step)).string();
  s->temp_path = s->final_path + ".tmp";
  on_rank0(m_comm, [&] {
    std::error_code ec;
    fs::create_directories(m_directory, ec);
    if (ec) throw IoError(fmt::format("cannot create checkpoint directory '{}': {}", m_directory, ec.message()));
    // Leftovers of interrupted checkpoints.
    const std::string head = m_prefix + ".";
    for (const auto& entry : fs::directory_iterator(m_directory, ec)) {
      const std::string name = entry.path().filename().string();
      if (name.rfind(head, 0) == 0 && name.size() > 7 && name.compare(name.size() - 7, 7, ".h5.tmp") == 0)
        fs::remove(entry.path(), ec);
    }
  });
  s->file = File::create(s->temp_path, m_comm);
  s->file.set_attribute("msa_checkpoint", kFormat);
  s->file.set_attribute("msa_step", step);
  s->file.set_attribute("msa_time", time);
  s->file.set_attribute("msa_writer_ranks", int64_t{size_of_comm(m_comm)});
  s->info.step = step;
  s->info.time = time;
  s->info.writer_ranks = size_of_comm(m_comm);
  return CheckpointWriter(std::move(s));
}

std::vector<std::string> Checkpoints::files() const {
  const std::regex pattern(std::regex_replace(m_prefix, std::regex(R"([.^$|()\[\]{}*+?\\])"), R"(\$&)") +
                           R"(\.(\d+)\.h5)");
  std::vector<std::pair<int64_t, std::string>> found;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(m_directory, ec)) {
    std::smatch m;
    const std::string name = entry.path().filename().string();
    if (std::regex_match(name, m, pattern)) found.emplace_back(std::stoll(m[1].str()), entry.path().string());
  }
  std::sort(found.begin(), found.end(), [](const auto& a, const auto& b) { return a.first > b.first; });
  std::vector<std::string> out;
  for (auto& f : found) out.push_back(std::move(f.second));
  return out;
}

Restart Checkpoints::open(const std::string& path) const {
  File file = File::open(path, m_comm);
  CheckpointInfo info;
  info.path = path;
  std::string error;
  try {
    if (!file.has_attribute("msa_checkpoint") || !file.has_attribute("msa_metadata_checksum"))
      throw IoError("not an msa checkpoint, or its commit did not finish (no msa_metadata_checksum)");
    if (file.attribute_as<int64_t>("msa_checkpoint") != kFormat)
      throw IoError(fmt::format("checkpoint format {} (this msa reads {})",
                                file.attribute_as<int64_t>("msa_checkpoint"), kFormat));
    info.step = file.attribute_as<int64_t>("msa_step");
    info.time = file.attribute_as<double>("msa_time");
    info.writer_ranks = static_cast<int>(file.attribute_as<int64_t>("msa_writer_ranks"));
    info.arrays = split_names(file.attribute_as<std::string>("msa_arrays"));
    const std::string stored = file.attribute_as<std::string>("msa_metadata_checksum");
    const std::string computed = hex(fnv1a(metadata_text(file, info.arrays)));
    if (stored != computed)
      throw IoError(fmt::format("metadata checksum {} does not match the stored {}", computed, stored));
  } catch (const IoError& e) {
    error = fmt::format("checkpoint '{}': {}", path, e.what());
  }
  msa::detail::agree_on_error(m_comm, error, 4);
  // Every array, read once in a block decomposition of this communicator.
  const int rank = rank_of(m_comm), size = size_of_comm(m_comm);
  for (const auto& name : info.arrays) {
    Dataset ds = file.dataset(name);
    const auto shape = ds.shape();
    const DataType type = ds.type();
    const Box box = block_along(shape, 0, size, rank);
    std::vector<std::byte> data(static_cast<std::size_t>(box.volume()) * size_of(type) + 1);
    ds.read_raw(data.data(), type, box);
    const uint64_t sum = sum_over(m_comm, partial_checksum(data.data(), size_of(type), box, shape));
    const std::string stored = ds.attribute_as<std::string>("msa_checksum");
    if (hex(sum) != stored)
      throw IoError(
          fmt::format("checkpoint '{}': array '{}' checksum {} does not match the stored {} (the data is damaged)",
                      path, name, hex(sum), stored));
  }
  return Restart(std::move(file), std::move(info));
}

std::optional<Restart> Checkpoints::latest() const {
  // Rank 0's listing decides, so every rank tries the same files.
  std::string listing;
  if (rank_of(m_comm) == 0)
    for (const auto& f : files()) listing += f + "\n";
  int length = static_cast<int>(listing.size());
  check_mpi(MPI_Bcast(&length, 1, MPI_INT, 0, m_comm), "checkpoint: list");
  listing.resize(static_cast<std::size_t>(length));
  check_mpi(MPI_Bcast(listing.data(), length, MPI_CHAR, 0, m_comm), "checkpoint: list");
  for (const auto& path : split_names(listing)) {
    try {
      return open(path);
    } catch (const IoError& e) {
      if (rank_of(m_comm) == 0) std::fprintf(stderr, "msa: skipping checkpoint: %s\n", e.what());
    }
  }
  return std::nullopt;
}

}  // namespace msa::io

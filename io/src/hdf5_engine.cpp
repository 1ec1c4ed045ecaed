// The hdf5 channel engine: file staging through the Store. The producer
// component writes each step collectively as one HDF5 file of the global
// array, under a temporary name renamed when complete, and an end marker at
// close; each consumer rank reads its own box of each step, now or in a later
// run, waiting for the next step up to peer_timeout.
//
//   <directory>/<channel>/stream.json       type, global shape, producer boxes
//   <directory>/<channel>/000000000000.h5   step files, in put() order
//   <directory>/<channel>/end.json          {"steps": n}, written by close()
#include <fmt/format.h>

#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <thread>

#include "engines/engine.hpp"
#include "mpi_util.hpp"
#include "msa/comm.hpp"
#include "msa/io/store.hpp"

namespace msa::io {

namespace {

namespace fs = std::filesystem;
using msa::detail::Buffer;
using msa::detail::ChannelPlan;
using msa::detail::Incoming;
using msa::detail::seconds_now;

std::vector<int64_t> box_json(const Box& b) {
  std::vector<int64_t> v;
  for (int d = 0; d < b.ndims; ++d) v.push_back(b.start[static_cast<std::size_t>(d)]);
  for (int d = 0; d < b.ndims; ++d) v.push_back(b.count[static_cast<std::size_t>(d)]);
  return v;
}

Box box_from_json(const std::vector<int64_t>& v) {
  const std::size_t n = v.size() / 2;
  return Box::of(std::vector<int64_t>(v.begin(), v.begin() + static_cast<std::ptrdiff_t>(n)),
                 std::vector<int64_t>(v.begin() + static_cast<std::ptrdiff_t>(n), v.end()));
}

// Every rank's box of `local`, on every rank.
std::vector<Box> gather_boxes(MPI_Comm local, const Box& mine) {
  std::vector<Box> boxes;
  for (const auto& s :
       msa::detail::allgather_strings(local, std::string(reinterpret_cast<const char*>(&mine), sizeof(Box)))) {
    Box b;
    std::memcpy(&b, s.data(), sizeof(Box));
    boxes.push_back(b);
  }
  return boxes;
}

// Writes `text` to `path` so that readers see all of it or nothing.
void write_atomically(const fs::path& path, const std::string& text) {
  const fs::path tmp = path.string() + ".tmp";
  {
    std::ofstream out(tmp, std::ios::trunc);
    out << text;
    out.close();
    if (!out) throw ChannelError(fmt::format("cannot write '{}': {}", tmp.string(), std::strerror(errno)));
  }
  std::error_code ec;
  fs::rename(tmp, path, ec);
  if (ec) throw ChannelError(fmt::format("cannot rename '{}' to '{}': {}", tmp.string(), path.string(), ec.message()));
}

std::string step_file(int64_t seq) { return fmt::format("{:012d}.h5", seq); }

int rank_in(MPI_Comm c) {
  int r = 0;
  check_mpi(MPI_Comm_rank(c, &r), "hdf5 engine: MPI_Comm_rank");
  return r;
}

class Hdf5Engine final : public msa::detail::Engine {
 public:
  explicit Hdf5Engine(const ChannelPlan& plan)
      : m_plan(plan), m_dir(fs::path(plan.settings.directory) / plan.name), m_rank(rank_in(plan.local)) {
    if (m_plan.producer)
      open_producer();
    else
      open_consumer();
  }

  void put(int64_t step, double time, const std::string& attributes,
           const msa::detail::ChannelCore::PackFn& pack) override {
    const double t0 = seconds_now();
    ++m_stats.steps_put;
    const Box& mine = m_plan.my_box;
    const std::size_t bytes = static_cast<std::size_t>(mine.volume()) * m_plan.element_size;
    const std::byte* data = nullptr;
    if (bytes) {
      data = pack.direct ? pack.direct(0) : nullptr;
      if (!data) {
        if (m_scratch.size() < bytes) m_scratch.resize(bytes);
        pack(0, m_scratch.data());
        data = m_scratch.data();
      }
    }
    const fs::path final_path = m_dir / step_file(m_seq);
    const std::string temp = final_path.string() + ".tmp";
    try {
      File file = File::create(temp, m_plan.local);
      Dataset ds = file.create_dataset("data", m_plan.type, m_plan.global);
      ds.write_raw(data, m_plan.type, mine);
      file.set_attribute("step", step);
      file.set_attribute("time", time);
      file.set_attribute("attributes", attributes);
      file.close();
    } catch (const IoError& e) {
      throw ChannelError(fmt::format("channel '{}': step {}: {}", m_plan.name, step, e.what()));
    }
    std::string error;
    if (m_rank == 0) {
      std::error_code ec;
      fs::rename(temp, final_path, ec);
      if (ec)
        error = fmt::format("channel '{}': step {}: cannot rename '{}': {}", m_plan.name, step, temp, ec.message());
    }
    msa::detail::agree_on_error(m_plan.local, error, 5);
    ++m_seq;
    ++m_stats.steps_sent;
    m_stats.bytes_sent += static_cast<int64_t>(bytes);
    m_stats.put_blocked_s += seconds_now() - t0;
  }

  std::optional<Incoming> get() override {
    if (m_ended) return std::nullopt;
    const double t0 = seconds_now();
    const double deadline = t0 + m_plan.settings.peer_timeout;
    const fs::path path = m_dir / step_file(m_seq);
    const fs::path end = m_dir / "end.json";
    auto pause = std::chrono::milliseconds(1);
    for (;;) {
      std::error_code ec;
      if (fs::exists(path, ec)) break;
      if (fs::exists(end, ec)) {
        const int64_t steps = read_json(end).at("steps").get<int64_t>();
        if (steps <= m_seq) {
          m_ended = true;
          m_stats.get_blocked_s += seconds_now() - t0;
          return std::nullopt;
        }
        if (!fs::exists(path, ec))
          throw ChannelError(fmt::format("channel '{}': the stream in '{}' has {} steps but '{}' is missing",
                                         m_plan.name, m_dir.string(), steps, path.string()));
        break;
      }
      if (seconds_now() > deadline)
        throw ChannelError(
            fmt::format("channel '{}': no step {} in '{}' and no end of stream after {:.0f} s (peer_timeout; "
                        "MSA_CHANNEL_<NAME>_PEER_TIMEOUT): is producer '{}' still running?",
                        m_plan.name, m_seq, m_dir.string(), m_plan.settings.peer_timeout, m_plan.peer));
      std::this_thread::sleep_for(pause);
      pause = std::min(pause * 2, std::chrono::milliseconds(50));
    }
    m_stats.get_blocked_s += seconds_now() - t0;
    const Box& mine = m_plan.my_box;
    const std::size_t header = sizeof(msa::detail::WireHeader);
    auto buffer = std::make_shared<Buffer>(header + static_cast<std::size_t>(mine.volume()) * m_plan.element_size);
    Incoming in;
    try {
      File file = File::open(path.string());
      Dataset ds = file.dataset("data", m_plan.type, m_plan.global);
      ds.read_raw(buffer->data() + header, m_plan.type, mine);
      in.step = file.attribute_as<int64_t>("step");
      in.time = file.attribute_as<double>("time");
      in.attributes = file.attribute_as<std::string>("attributes");
    } catch (const IoError& e) {
      throw ChannelError(fmt::format("channel '{}': step file {}: {}", m_plan.name, m_seq, e.what()));
    }
    in.parts.emplace_back(0, std::move(buffer));
    ++m_seq;
    ++m_stats.steps_received;
    m_stats.bytes_received += mine.volume() * static_cast<int64_t>(m_plan.element_size);
    return in;
  }

  void close() override {
    if (m_closed) return;
    m_closed = true;
    if (!m_plan.producer) return;
    std::string error;
    if (m_rank == 0) {
      try {
        write_atomically(m_dir / "end.json", nlohmann::json{{"steps", m_seq}}.dump() + "\n");
      } catch (const ChannelError& e) {
        error = fmt::format("channel '{}': end of stream: {}", m_plan.name, e.what());
      }
    }
    msa::detail::agree_on_error(m_plan.local, error, 5);
  }

  msa::ChannelStats stats() const override { return m_stats; }

 private:
  nlohmann::json read_json(const fs::path& path) const {
    std::ifstream in(path);
    const auto j = nlohmann::json::parse(in, nullptr, false);
    if (j.is_discarded() || !j.is_object())
      throw ChannelError(fmt::format("channel '{}': '{}' is not valid JSON", m_plan.name, path.string()));
    return j;
  }

  // Collective over the producer component: a new stream replaces an old one.
  void open_producer() {
    const auto boxes = gather_boxes(m_plan.local, m_plan.my_box);
    std::string error;
    for (std::size_t a = 0; a < boxes.size() && error.empty(); ++a)
      for (std::size_t b = a + 1; b < boxes.size(); ++b)
        if (boxes[a].overlaps(boxes[b])) {
          error = fmt::format("channel '{}': producer ranks {} and {} overlap ({} and {})", m_plan.name, a, b,
                              boxes[a].to_string(), boxes[b].to_string());
          break;
        }
    if (error.empty() && m_rank == 0) {
      try {
        std::error_code ec;
        fs::create_directories(m_dir, ec);
        if (ec) throw ChannelError(fmt::format("cannot create '{}': {}", m_dir.string(), ec.message()));
        for (const auto& entry : fs::directory_iterator(m_dir)) {
          const std::string n = entry.path().filename().string();
          if (n == "end.json" || n == "stream.json" || n.find(".h5") != std::string::npos) fs::remove(entry.path());
        }
        nlohmann::json j{{"channel", m_plan.name}, {"type", to_string(m_plan.type)}, {"global", m_plan.global}};
        for (const auto& b : boxes) j["boxes"].push_back(box_json(b));
        write_atomically(m_dir / "stream.json", j.dump() + "\n");
      } catch (const std::exception& e) {
        error = fmt::format("channel '{}': {}", m_plan.name, e.what());
      }
    }
    // A consumer in this job opens only after the old stream is gone (and
    // reports a missing stream if this side failed).
    if (m_plan.inter != MPI_COMM_NULL) check_mpi(MPI_Barrier(m_plan.inter), "channel " + m_plan.name + ": open");
    msa::detail::agree_on_error(m_plan.local, error, 5);
  }

  // Collective over the consumer component: waits for the stream, checks it.
  void open_consumer() {
    if (m_plan.inter != MPI_COMM_NULL) check_mpi(MPI_Barrier(m_plan.inter), "channel " + m_plan.name + ": open");
    const auto mine = gather_boxes(m_plan.local, m_plan.my_box);
    std::string error;
    const fs::path stream = m_dir / "stream.json";
    const double deadline = seconds_now() + m_plan.settings.open_timeout;
    std::error_code ec;
    while (!fs::exists(stream, ec) && seconds_now() < deadline)
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    try {
      if (!fs::exists(stream, ec))
        throw ChannelError(fmt::format(
            "channel '{}': no stream in '{}' after {:.0f} s: producer '{}' has not opened it (open_timeout; "
            "MSA_CHANNEL_<NAME>_OPEN_TIMEOUT; the directory comes from MSA_CHANNEL_<NAME>_DIRECTORY)",
            m_plan.name, m_dir.string(), m_plan.settings.open_timeout, m_plan.peer));
      const auto j = read_json(stream);
      const std::string type = j.at("type").get<std::string>();
      const auto global = j.at("global").get<std::vector<int64_t>>();
      std::vector<Box> producers;
      for (const auto& b : j.at("boxes")) producers.push_back(box_from_json(b.get<std::vector<int64_t>>()));
      const std::string theirs = fmt::format("producer '{}' sends {}{} in {} box(es) ({})", m_plan.peer, type,
                                             shape_to_string(global), producers.size(), stream.string());
      const std::string ours = fmt::format("consumer expects {}{} in {} box(es)", to_string(m_plan.type),
                                           shape_to_string(m_plan.global), mine.size());
      auto fail = [&](const std::string& what) {
        throw ChannelError(fmt::format("channel '{}': {}: {}; {}", m_plan.name, what, theirs, ours));
      };
      if (type != to_string(m_plan.type)) fail("element types differ");
      if (global != m_plan.global) fail("global shapes differ");
      for (std::size_t a = 0; a < mine.size(); ++a)
        for (std::size_t b = a + 1; b < mine.size(); ++b)
          if (mine[a].overlaps(mine[b]))
            fail(fmt::format("consumer ranks {} and {} overlap ({} and {})", a, b, mine[a].to_string(),
                             mine[b].to_string()));
      int64_t covered = 0;
      for (const auto& p : producers) covered += p.intersect(m_plan.my_box).volume();
      if (covered != m_plan.my_box.volume())
        fail(
            fmt::format("consumer rank {} asks for {} ({} elements) but the producer ranks' boxes cover only {} of "
                        "them",
                        m_rank, m_plan.my_box.to_string(), m_plan.my_box.volume(), covered));
    } catch (const std::exception& e) {
      error = e.what();
    }
    msa::detail::agree_on_error(m_plan.local, error, 5);
  }

  ChannelPlan m_plan;
  fs::path m_dir;
  int m_rank = 0;
  int64_t m_seq = 0;  // next step file
  bool m_ended = false;
  bool m_closed = false;
  std::vector<std::byte> m_scratch;
  msa::ChannelStats m_stats;
};

}  // namespace

}  // namespace msa::io

extern "C" msa::detail::Engine* msa_io_make_hdf5_engine(const msa::detail::ChannelPlan& plan) {
  return new msa::io::Hdf5Engine(plan);
}

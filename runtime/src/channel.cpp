// Opening a channel: settings, the handshake between the two components'
// rank 0s (with a timeout), the checks of type, shape and coverage on both
// sides, the M x N plan, and the engine table.
#include "msa/channel.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <random>
#include <thread>
#include <utility>

#include "engines/engine.hpp"
#include "mpi_util.hpp"
#include "msa/comm.hpp"
#include "msa/session.hpp"
#include "strings.hpp"
#include "toml_check.hpp"

namespace msa {

namespace detail {

double seconds_now() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

std::string encode_attributes(const Attributes& attributes) {
  if (attributes.empty()) return {};
  nlohmann::json j = nlohmann::json::object();
  for (const auto& [k, v] : attributes) {
    if (std::holds_alternative<int64_t>(v))
      j[k] = {{"i", std::get<int64_t>(v)}};
    else if (std::holds_alternative<double>(v))
      j[k] = {{"d", std::get<double>(v)}};
    else
      j[k] = {{"s", std::get<std::string>(v)}};
  }
  return j.dump();
}

Attributes decode_attributes(const std::string& bytes) {
  Attributes out;
  if (bytes.empty()) return out;
  const auto j = nlohmann::json::parse(bytes, nullptr, false);
  if (j.is_discarded() || !j.is_object()) throw ChannelError("malformed step attributes");
  for (const auto& [k, v] : j.items()) {
    if (v.contains("i"))
      out[k] = v["i"].get<int64_t>();
    else if (v.contains("d"))
      out[k] = v["d"].get<double>();
    else
      out[k] = v["s"].get<std::string>();
  }
  return out;
}

namespace {

using EngineFactory = std::unique_ptr<Engine> (*)(const ChannelPlan&);
// Whether open() shakes hands with the other component.
enum class Peer {
  required,    // the transport is the bridge
  if_present,  // file staging: checked with the peer when it runs in this job, else alone
  none,        // no peer at all
};
struct EngineEntry {
  const char* name;
  EngineFactory make;
  Peer peer;
};
// The one table of channel engines: a new engine is a file in engines/ and a line here.
constexpr EngineEntry kEngines[] = {
    {"mpi", &make_mpi_engine, Peer::required},
    {"hdf5", &make_hdf5_engine, Peer::if_present},  // in libmsa_io, loaded on first use
    {"null", &make_null_engine, Peer::none},
};

const EngineEntry& engine_entry(const std::string& name, const std::string& channel) {
  for (const auto& e : kEngines)
    if (name == e.name) return e;
  throw ChannelError(fmt::format("channel '{}': unknown engine '{}'; engines: {}", channel, name,
                                 detail::join(channel_engine_names(), ", ")));
}

nlohmann::json box_json(const Box& b) {
  return {{"start", std::vector<int64_t>(b.start.begin(), b.start.begin() + b.ndims)},
          {"count", std::vector<int64_t>(b.count.begin(), b.count.begin() + b.ndims)}};
}

Box box_from_json(const nlohmann::json& j) {
  Box b;
  const auto start = j.at("start").get<std::vector<int64_t>>();
  const auto count = j.at("count").get<std::vector<int64_t>>();
  b.ndims = static_cast<int>(start.size());
  for (std::size_t d = 0; d < start.size(); ++d) {
    b.start[d] = start[d];
    b.count[d] = count[d];
  }
  return b;
}

// What one side tells the other at open.
struct Side {
  std::string component;
  bool producer = true;
  std::string type;
  std::vector<int64_t> global;
  std::vector<Box> boxes;
  std::string engine;
  uint64_t token = 0;       // the producer's ack token (see ChannelPlan::ack_token)
  int wire = kWireVersion;  // how steps travel; a peer from before versions were sent is 1

  std::string describe() const {
    return fmt::format("{} '{}' {} {}{} in {} box(es)", producer ? "producer" : "consumer", component,
                       producer ? "sends" : "expects", type, shape_to_string(global), boxes.size());
  }
  nlohmann::json to_json() const {
    nlohmann::json b = nlohmann::json::array();
    for (const auto& x : boxes) b.push_back(box_json(x));
    return {{"component", component}, {"producer", producer}, {"type", type}, {"global", global}, {"boxes", b},
            {"engine", engine},       {"token", token},       {"wire", wire}};
  }
  static Side from_json(const nlohmann::json& j) {
    Side s;
    s.component = j.at("component").get<std::string>();
    s.producer = j.at("producer").get<bool>();
    s.type = j.at("type").get<std::string>();
    s.global = j.at("global").get<std::vector<int64_t>>();
    for (const auto& b : j.at("boxes")) s.boxes.push_back(box_from_json(b));
    s.engine = j.at("engine").get<std::string>();
    s.token = j.value("token", uint64_t{0});
    s.wire = j.value("wire", 1);
    return s;
  }
};

// Distinct per channel opened in this job (with overwhelming probability).
uint64_t fresh_token() {
  static std::atomic<uint64_t> counter{0};
  static const uint64_t seed = [] {
    std::random_device device;
    return (uint64_t{device()} << 32) ^ device() ^
           static_cast<uint64_t>(std::chrono::steady_clock::now().time_since_epoch().count());
  }();
  uint64_t x = seed + 0x9e3779b97f4a7c15ULL * ++counter;  // splitmix64
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

}  // namespace

int channel_tag_base(const std::string& name) {
  // As many bases (8 tags apart, above 64) as the MPI's tag range holds, at
  // least MPI's guaranteed 32767: Open MPI's 2^31 makes two names collide
  // about once in 2^28.
  static const int64_t slots = [] {
    int* upper = nullptr;
    int found = 0;
    check_mpi(MPI_Comm_get_attr(MPI_COMM_WORLD, MPI_TAG_UB, &upper, &found), "channel tags: MPI_TAG_UB");
    const int64_t ub = found && upper ? *upper : 32767;
    return std::max<int64_t>(1, (ub - 64 - 7) / 8);
  }();
  uint64_t h = 14695981039346656037ULL;  // FNV-1a, 64 bits
  for (unsigned char c : name) h = (h ^ c) * 1099511628211ULL;
  return static_cast<int>(64 + static_cast<int64_t>(h % static_cast<uint64_t>(slots)) * 8);
}

namespace {

// The tag bases of the channels open on each inter-communicator of this
// process: two open channels whose names map to the same tags would take each
// other's messages, so the second one's open() is an error instead.
class TagClaim {
 public:
  TagClaim() = default;
  TagClaim(MPI_Comm comm, int base, const std::string& name) : m_key{MPI_Comm_c2f(comm), base} {
    std::lock_guard<std::mutex> lock(mutex());
    auto [it, inserted] = claims().emplace(m_key, name);
    if (inserted) return;
    if (it->second == name)
      throw ChannelError(fmt::format(
          "channel '{}' is already open between these components; close() it before opening it again", name));
    throw ChannelError(
        fmt::format("channel '{}': its name maps to the same MPI tags as channel '{}', which is open between the same "
                    "components; rename one of them",
                    name, it->second));
  }
  TagClaim(TagClaim&& o) noexcept : m_key(std::exchange(o.m_key, kNone)) {}
  TagClaim& operator=(TagClaim&&) = delete;
  TagClaim(const TagClaim&) = delete;
  TagClaim& operator=(const TagClaim&) = delete;
  ~TagClaim() { release(); }
  /// Frees the tags for another channel; close() calls it once the engine
  /// is done with them.
  void release() noexcept {
    if (m_key.second < 0) return;
    std::lock_guard<std::mutex> lock(mutex());
    claims().erase(m_key);
    m_key = kNone;
  }

 private:
  using Key = std::pair<MPI_Fint, int>;
  static std::mutex& mutex() {
    static std::mutex m;
    return m;
  }
  static std::map<Key, std::string>& claims() {
    static std::map<Key, std::string> c;
    return c;
  }
  static constexpr Key kNone{0, -1};
  Key m_key = kNone;
};

// Every rank's box in my component, on every rank.
std::vector<Box> gather_boxes(MPI_Comm comm, const Box& mine) {
  const auto all = allgather_strings(comm, box_json(mine).dump());
  std::vector<Box> boxes;
  for (const auto& s : all) boxes.push_back(box_from_json(nlohmann::json::parse(s)));
  return boxes;
}

// Rank 0s swap descriptions over the inter-communicator, waiting at most
// `timeout`; the outcome is broadcast so every rank of the side agrees.
Side handshake(const std::string& name, const std::string& peer, const Side& mine, MPI_Comm inter, MPI_Comm local,
               int tag, double timeout) {
  int rank = 0;
  check_mpi(MPI_Comm_rank(local, &rank), "channel handshake");
  std::string result;  // "ok:<json>" or "error:<message>"
  if (rank == 0) {
    const std::string out = mine.to_json().dump();
    MPI_Request send = MPI_REQUEST_NULL;
    check_mpi(MPI_Isend(out.data(), static_cast<int>(out.size()), MPI_CHAR, 0, tag, inter, &send),
              fmt::format("channel '{}': hello", name));
    const double deadline = seconds_now() + timeout;
    int found = 0;
    MPI_Status status;
    while (!found) {
      check_mpi(MPI_Iprobe(0, tag, inter, &found, &status), fmt::format("channel '{}': hello", name));
      if (found) break;
      if (seconds_now() > deadline) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    if (found) {
      int count = 0;
      MPI_Get_count(&status, MPI_CHAR, &count);
      std::string in(static_cast<std::size_t>(count), '\0');
      check_mpi(MPI_Recv(in.data(), count, MPI_CHAR, 0, tag, inter, MPI_STATUS_IGNORE),
                fmt::format("channel '{}': hello", name));
      result = "ok:" + in;
      check_mpi(MPI_Wait(&send, MPI_STATUS_IGNORE), fmt::format("channel '{}': hello", name));
    } else {
      MPI_Request_free(&send);  // small and eager: MPI completes it; a late peer finds it
      result = fmt::format(
          "error:channel '{}': {} opened it, but {} component '{}' did not within {:.0f} s "
          "(open_timeout; MSA_CHANNEL_<NAME>_OPEN_TIMEOUT)",
          name, mine.describe(), mine.producer ? "the consuming" : "the producing", peer, timeout);
    }
  }
  int length = static_cast<int>(result.size());
  check_mpi(MPI_Bcast(&length, 1, MPI_INT, 0, local), fmt::format("channel '{}': open", name));
  result.resize(static_cast<std::size_t>(length));
  check_mpi(MPI_Bcast(result.data(), length, MPI_CHAR, 0, local), fmt::format("channel '{}': open", name));
  if (result.rfind("error:", 0) == 0) throw ChannelError(result.substr(6));
  return Side::from_json(nlohmann::json::parse(result.substr(3)));
}

// The same checks on both sides, so both throw the same error.
void validate(const std::string& name, const Side& producer, const Side& consumer) {
  auto fail = [&](const std::string& what) {
    throw ChannelError(fmt::format("channel '{}': {}: {}; {}", name, what, producer.describe(), consumer.describe()));
  };
  if (producer.engine != consumer.engine)
    fail(fmt::format("the producer uses engine '{}', the consumer '{}'", producer.engine, consumer.engine));
  if (producer.wire != consumer.wire)
    fail(
        fmt::format("the producer sends steps in wire format {}, the consumer reads format {}; build both "
                    "components against the same msa",
                    producer.wire, consumer.wire));
  if (producer.type != consumer.type) fail("element types differ");
  if (producer.global != consumer.global) fail("global shapes differ");
  auto no_overlap = [&](const std::vector<Box>& boxes, const char* side) {
    for (std::size_t a = 0; a < boxes.size(); ++a)
      for (std::size_t b = a + 1; b < boxes.size(); ++b)
        if (boxes[a].overlaps(boxes[b]))
          fail(fmt::format("{} ranks {} and {} overlap ({} and {})", side, a, b, boxes[a].to_string(),
                           boxes[b].to_string()));
  };
  no_overlap(producer.boxes, "producer");
  no_overlap(consumer.boxes, "consumer");
  for (std::size_t c = 0; c < consumer.boxes.size(); ++c) {
    int64_t covered = 0;
    for (const auto& p : producer.boxes) covered += p.intersect(consumer.boxes[c]).volume();
    if (covered != consumer.boxes[c].volume())
      fail(
          fmt::format("consumer rank {} asks for {} ({} elements) but the producer ranks' boxes cover only {} of "
                      "them",
                      c, consumer.boxes[c].to_string(), consumer.boxes[c].volume(), covered));
  }
}

class ChannelImpl final : public ChannelCore {
 public:
  ChannelImpl(ChannelPlan plan, std::unique_ptr<Engine> engine, TagClaim claim = {})
      : m_plan(std::move(plan)), m_claim(std::move(claim)), m_engine(std::move(engine)) {}
  ~ChannelImpl() override {
    try {
      if (!m_closed && m_plan.producer)
        std::fprintf(stderr, "msa: channel '%s' destroyed without close()\n", m_plan.name.c_str());
    } catch (...) {
    }
  }

  const std::string& name() const override { return m_plan.name; }
  bool producer() const override { return m_plan.producer; }
  const Box& my_box() const override { return m_plan.my_box; }
  const std::vector<Box>& parts() const override { return m_plan.parts; }

  void put(int64_t step, double time, const Attributes& attributes, const PackFn& pack) override {
    m_engine->put(step, time, encode_attributes(attributes), pack);
  }

  std::optional<Received> get() override {
    auto in = m_engine->get();
    if (!in) return std::nullopt;
    Received r{in->step, in->time, decode_attributes(in->attributes), nullptr, nullptr};
    const std::size_t header = sizeof(WireHeader);
    // One producer holding all of my box: the message is the frame.
    if (in->parts.size() == 1 && m_plan.parts[static_cast<std::size_t>(in->parts[0].first)] == m_plan.my_box) {
      r.owner = in->parts[0].second;
      r.data = in->parts[0].second->data() + header;
      return r;
    }
    BufferPtr frame = in->frame ? std::move(in->frame)
                                : m_frames.take(std::max<std::size_t>(
                                      1, static_cast<std::size_t>(m_plan.my_box.volume()) * m_plan.element_size));
    for (const auto& [p, buffer] : in->parts)
      copy_region(frame->data(), buffer->data() + header, m_plan.parts[static_cast<std::size_t>(p)]);
    r.owner = frame;
    r.data = frame->data();
    return r;
  }

  void close() override {
    const bool first = !m_closed;
    m_closed = true;
    m_engine->close();
    // Only once the engine is done with the tags (a close() retried after a
    // failed one returns at once; the destructor releases them then).
    if (first) m_claim.release();
  }
  ChannelStats stats() const override { return m_engine->stats(); }

 private:
  // Unpacks `src` (LayoutRight over `part`) into the frame (LayoutRight over
  // my box): a Kokkos kernel over the part's rows.
  void copy_region(std::byte* frame, const std::byte* src, const Box& part) const {
    if (part.empty()) return;
    const PartGeometry g = geometry(m_plan.my_box, part);
    const Box& mine = m_plan.my_box;
    const std::size_t elem = m_plan.element_size;
    const int nd = mine.ndims;
    Kokkos::parallel_for("msa::channel::unpack", Kokkos::RangePolicy<Kokkos::DefaultHostExecutionSpace>(0, g.rows),
                         [=](const int64_t row) {
                           int64_t idx[kMaxDims] = {0, 0, 0, 0};
                           int64_t r = row;
                           for (int d = nd - 2; d >= 0; --d) {
                             idx[d] = g.offset[d] + r % g.count[d];
                             r /= g.count[d];
                           }
                           idx[nd - 1] = g.offset[nd - 1];
                           int64_t linear = 0;
                           for (int d = 0; d < nd; ++d)
                             linear = linear * mine.count[static_cast<std::size_t>(d)] + idx[d];
                           std::memcpy(frame + static_cast<std::size_t>(linear) * elem,
                                       src + static_cast<std::size_t>(row * g.last) * elem,
                                       static_cast<std::size_t>(g.last) * elem);
                         });
    Kokkos::DefaultHostExecutionSpace().fence();
  }

  ChannelPlan m_plan;
  TagClaim m_claim;  // released after the engine is gone
  std::unique_ptr<Engine> m_engine;
  BufferPool m_frames{4};  // consumer: frames assembled from several parts
  bool m_closed = false;
};

}  // namespace

std::shared_ptr<ChannelCore> open_channel(const Session& session, const std::string& name, bool producer,
                                          const std::string& peer, const Decomposition& decomposition, DataType type,
                                          const ChannelSettings& requested) {
  if (!is_identifier(name))
    throw ChannelError(fmt::format("channel name '{}' may only contain letters, digits, '_' and '-'", name));
  const ChannelSettings settings = settings_from_environment(name, requested);
  const EngineEntry& entry = engine_entry(settings.engine, name);
  if (settings.queue_depth < 1)
    throw ChannelError(
        fmt::format("channel '{}': queue_depth is {}; it must be at least 1", name, settings.queue_depth));
  if (peer == session.component_name())
    throw ChannelError(fmt::format("channel '{}': component '{}' cannot send to itself", name, peer));

  ChannelPlan plan;
  plan.name = name;
  plan.producer = producer;
  plan.peer = peer;
  plan.type = type;
  plan.element_size = size_of(type);
  plan.global = decomposition.global;
  plan.my_box = decomposition.box;
  plan.settings = settings;
  plan.local = session.component();
  plan.my_rank = session.component().rank();
  plan.local_size = session.component().size();
  plan.tag_base = channel_tag_base(name);

  const auto& components = session.components();
  const bool peer_here = std::find(components.begin(), components.end(), peer) != components.end();
  // Without an M x N plan this rank's whole box is the one part (the null
  // engine "sends" it; a file-staging engine writes or reads it).
  auto own_box_only = [&] {
    plan.remote_size = 1;
    plan.parts = {plan.my_box};
    return std::make_shared<ChannelImpl>(plan, entry.make(plan));
  };
  if (entry.peer == Peer::none || (entry.peer == Peer::if_present && !peer_here)) return own_box_only();

  const Comm* inter = nullptr;
  try {
    inter = &session.component_bridge(peer);
  } catch (const ConfigError& e) {
    throw ChannelError(fmt::format("channel '{}': {}", name, e.what()));
  }
  plan.inter = *inter;
  TagClaim claim(plan.inter, plan.tag_base, name);
  plan.remote_size = inter->remote_size();

  Side mine;
  mine.component = session.component_name();
  mine.producer = producer;
  mine.type = to_string(type);
  mine.global = decomposition.global;
  mine.boxes = gather_boxes(session.component(), decomposition.box);
  mine.engine = settings.engine;
  mine.token = producer ? fresh_token() : 0;
  const Side theirs =
      handshake(name, peer, mine, plan.inter, plan.local, plan.tag_base + kTagHello, settings.open_timeout);
  if (theirs.producer == producer)
    throw ChannelError(fmt::format("channel '{}': both sides {}: {}; {}", name, producer ? "produce" : "consume",
                                   mine.describe(), theirs.describe()));
  const Side& p = producer ? mine : theirs;
  const Side& c = producer ? theirs : mine;
  plan.ack_token = p.token;  // producer rank 0's (the only producer rank that reads acks)
  validate(name, p, c);
  if (entry.peer == Peer::if_present) return own_box_only();  // checked by both sides; each rank stages its own box

  // The plan: what goes from whom to whom.
  if (producer) {
    for (const auto& cb : c.boxes) plan.parts.push_back(plan.my_box.intersect(cb));
    for (std::size_t ci = 0; ci < c.boxes.size(); ++ci) {
      bool any = false;
      for (const auto& pb : p.boxes) any = any || pb.overlaps(c.boxes[ci]);
      if (!any) plan.header_only.push_back(static_cast<int>(ci));
    }
  } else {
    for (const auto& pb : p.boxes) plan.parts.push_back(pb.intersect(plan.my_box));
    plan.header_only_me = std::none_of(plan.parts.begin(), plan.parts.end(), [](const Box& b) { return !b.empty(); });
  }
  for (const auto& cb : c.boxes) plan.step_bytes += cb.volume() * static_cast<int64_t>(plan.element_size);
  for (const auto& part : plan.parts)
    if (part.volume() * static_cast<int64_t>(plan.element_size) > (int64_t{1} << 30))
      throw ChannelError(fmt::format("channel '{}': the part {} between two ranks exceeds 1 GiB; use more ranks", name,
                                     part.to_string()));

  plan.pending_capacity = settings.queue_depth;
  if (settings.max_bytes > 0) {
    if (plan.step_bytes > settings.max_bytes)
      throw ChannelError(fmt::format("channel '{}': one step is {} bytes, more than max_bytes = {}", name,
                                     plan.step_bytes, settings.max_bytes));
    // The budget covers the steps in flight and the queued ones. Under 3
    // steps the window counts only steps the consumer has not received (it
    // then acknowledges on receipt), so that one can travel while it works.
    const int64_t steps = settings.max_bytes / std::max<int64_t>(1, plan.step_bytes);
    if (steps < plan.window) {
      plan.window = static_cast<int>(steps);
      plan.ack_on_receipt = true;
    }
    plan.pending_capacity = static_cast<int>(std::min<int64_t>(settings.queue_depth, steps - plan.window));
  }
  return std::make_shared<ChannelImpl>(plan, entry.make(plan), std::move(claim));
}

}  // namespace detail

std::string to_string(DataType type) {
  switch (type) {
    case DataType::float32:
      return "float";
    case DataType::float64:
      return "double";
    case DataType::int32:
      return "int32";
    case DataType::int64:
      return "int64";
    case DataType::uint8:
      return "uint8";
  }
  return "unknown";
}

std::size_t size_of(DataType type) {
  switch (type) {
    case DataType::float32:
      return 4;
    case DataType::float64:
      return 8;
    case DataType::int32:
      return 4;
    case DataType::int64:
      return 8;
    case DataType::uint8:
      return 1;
  }
  return 1;
}

std::string to_string(Policy policy) {
  switch (policy) {
    case Policy::block:
      return "block";
    case Policy::drop_oldest:
      return "drop_oldest";
    case Policy::drop_newest:
      return "drop_newest";
    case Policy::latest_only:
      return "latest_only";
  }
  return "unknown";
}

Policy policy_from_string(const std::string& name) {
  for (Policy p : {Policy::block, Policy::drop_oldest, Policy::drop_newest, Policy::latest_only})
    if (to_string(p) == name) return p;
  throw ConfigError(
      fmt::format("unknown channel policy '{}'; policies: block, drop_oldest, drop_newest, latest_only", name));
}

std::string channel_env_prefix(const std::string& channel) {
  std::string prefix = "MSA_CHANNEL_";
  for (char c : channel) prefix += c == '-' ? '_' : static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return prefix + "_";
}

ChannelSettings settings_from_environment(const std::string& channel, ChannelSettings s) {
  const std::string prefix = channel_env_prefix(channel);
  auto number = [&](const char* key, auto& field) {
    const std::string var = prefix + key;
    if (const auto v = detail::getenv_nonempty(var.c_str())) {
      try {
        std::size_t used = 0;
        const double x = std::stod(*v, &used);
        if (used != v->size() || x < 0) throw std::invalid_argument(*v);
        field = static_cast<std::remove_reference_t<decltype(field)>>(x);
      } catch (const std::exception&) {
        throw ConfigError(fmt::format("{}='{}' is not a non-negative number", var, *v));
      }
    }
  };
  if (const auto v = detail::getenv_nonempty((prefix + "ENGINE").c_str())) s.engine = *v;
  if (const auto v = detail::getenv_nonempty((prefix + "DIRECTORY").c_str())) s.directory = *v;
  if (const auto v = detail::getenv_nonempty((prefix + "POLICY").c_str())) {
    try {
      s.policy = policy_from_string(*v);
    } catch (const ConfigError& e) {
      throw ConfigError(fmt::format("{}POLICY: {}", prefix, e.what()));
    }
  }
  number("QUEUE_DEPTH", s.queue_depth);
  number("MAX_BYTES", s.max_bytes);
  number("OPEN_TIMEOUT", s.open_timeout);
  number("PEER_TIMEOUT", s.peer_timeout);
  if (const auto v = detail::getenv_nonempty((prefix + "ZERO_COPY").c_str())) {
    if (*v == "1" || *v == "true" || *v == "on")
      s.zero_copy = true;
    else if (*v == "0" || *v == "false" || *v == "off")
      s.zero_copy = false;
    else
      throw ConfigError(fmt::format("{}ZERO_COPY='{}': use 1 or 0", prefix, *v));
  }
  return s;
}

std::vector<std::string> channel_engine_names() {
  std::vector<std::string> names;
  for (const auto& e : detail::kEngines) names.emplace_back(e.name);
  return names;
}

ChannelBuilder Session::channel(const std::string& name) const { return ChannelBuilder(*this, name); }

}  // namespace msa

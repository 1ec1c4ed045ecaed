#pragma once
/// Channels: named, typed, stepped streams of distributed arrays from one
/// component to another, with M x N redistribution, a bounded queue enforced
/// at put time, and an engine chosen at run time.
///
///   // producer ("model")                         // consumer ("analysis")
///   auto ch = session.channel("fields")            auto ch = session.channel("fields")
///                 .to("analysis")                                .from("model")
///                 .decomposition(mine)                           .decomposition(mine)
///                 .open<double>();                               .open<double>();
///   for (...) ch.put(step, t, u);                  while (auto f = ch.get()) use(f->view<2>());
///   ch.close();                                    // get() returns no frame at end of stream
///
/// Settings (engine, policy, queue depth, byte budget, timeouts, zero copy)
/// come from the builder and are overridden by MSA_CHANNEL_<NAME>_ENGINE,
/// _POLICY, _QUEUE_DEPTH, _MAX_BYTES, _OPEN_TIMEOUT, _PEER_TIMEOUT, _ZERO_COPY, _DIRECTORY (msa run sets them
/// from the job file's [channels.<name>] table).

#include <Kokkos_Core.hpp>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <type_traits>
#include <variant>
#include <vector>

#include "msa/decomposition.hpp"
#include "msa/detail/channel_kernels.hpp"
#include "msa/error.hpp"

namespace msa {

class Session;

/// Element types a channel carries.
enum class DataType { float32, float64, int32, int64, uint8 };

template <class T>
constexpr DataType data_type_of() {
  using U = std::remove_cv_t<T>;
  if constexpr (std::is_same_v<U, float>)
    return DataType::float32;
  else if constexpr (std::is_same_v<U, double>)
    return DataType::float64;
  else if constexpr (std::is_same_v<U, int32_t>)
    return DataType::int32;
  else if constexpr (std::is_same_v<U, int64_t>)
    return DataType::int64;
  else {
    static_assert(std::is_same_v<U, uint8_t>, "channels carry float, double, int32_t, int64_t or uint8_t");
    return DataType::uint8;
  }
}

/// "float", "double", "int32", "int64", "uint8"
std::string to_string(DataType type);
std::size_t size_of(DataType type);

/// What put() does when the queue is full (or, for latest_only, always).
enum class Policy {
  block,        ///< wait until the consumer has taken a step
  drop_oldest,  ///< discard the oldest queued step, queue the new one
  drop_newest,  ///< discard the new step
  latest_only,  ///< keep only the newest queued step
};
std::string to_string(Policy policy);
/// Throws ConfigError listing the valid names.
Policy policy_from_string(const std::string& name);

/// Run-time settings of a channel.
struct ChannelSettings {
  std::string engine = "mpi";  ///< a registered engine: mpi, hdf5, null
  Policy policy = Policy::block;
  int queue_depth = 2;        ///< steps the producer may hold behind those in flight (see README: bounded memory)
  int64_t max_bytes = 0;      ///< byte budget of those steps (0: none); enforced at put time
  double open_timeout = 60;   ///< seconds to wait for the peer at open
  double peer_timeout = 300;  ///< seconds without progress from the peer before it is declared stuck
  /// Send large contiguous steps straight from the caller's view when they can
  /// go at once: no copy, but put() then waits for the transfer. Off by
  /// default: put() copies and returns, and the transfer overlaps the caller's
  /// work, except under `block` while the consumer sets the pace (the queue
  /// has filled), where put() waits anyway and sends from the view too.
  bool zero_copy = false;
  /// hdf5 engine: the directory holding the channel's step files (one folder
  /// per channel inside it). Relative paths are relative to the working directory.
  std::string directory = "msa-channels";
};

/// Counters of one channel on one rank.
struct ChannelStats {
  int64_t steps_put = 0;       ///< put() calls (producer)
  int64_t steps_sent = 0;      ///< steps handed to the transport (producer)
  int64_t steps_dropped = 0;   ///< steps discarded by the policy (producer)
  int64_t steps_direct = 0;    ///< steps sent from the caller's view without a copy (producer, mpi engine)
  int64_t steps_received = 0;  ///< frames returned by get() (consumer)
  int64_t bytes_sent = 0;      ///< payload bytes this rank sent
  int64_t bytes_received = 0;  ///< payload bytes this rank received
  /// Of those, bytes received straight into frames, not unpacked (consumer,
  /// mpi engine: parts of 32 KiB or more that are one run of the box).
  int64_t bytes_in_place = 0;
  /// Time put() spent waiting for the consumer: for room, or to take a step
  /// sent from the view (producer).
  double put_blocked_s = 0;
  double get_blocked_s = 0;  ///< time get() spent waiting for data (consumer)
};

/// Small per-step metadata: numbers and strings (all producer ranks should pass the same).
using Attributes = std::map<std::string, std::variant<int64_t, double, std::string>>;

namespace detail {
class ChannelCore;
/// Cached plan and engine of an open channel; owns the buffers of frames.
std::shared_ptr<ChannelCore> open_channel(const Session& session, const std::string& name, bool producer,
                                          const std::string& peer, const Decomposition& decomposition, DataType type,
                                          const ChannelSettings& settings);
/// The first of the 8 MPI tags a channel of this name uses on the
/// inter-communicator between its two components.
int channel_tag_base(const std::string& name);
}  // namespace detail

/// One step as the consumer receives it, in the consumer's own box.
template <class T>
class Frame {
 public:
  Frame(int64_t step, double time, Attributes attributes, Box box, std::shared_ptr<void> owner, T* data)
      : m_step(step),
        m_time(time),
        m_attributes(std::move(attributes)),
        m_box(box),
        m_owner(std::move(owner)),
        m_data(data) {}

  int64_t step() const { return m_step; }
  double time() const { return m_time; }
  const Attributes& attributes() const { return m_attributes; }
  /// This rank's box of the global array.
  const Box& box() const { return m_box; }
  /// The data, flat, in LayoutRight order of box().
  Kokkos::View<T*, Kokkos::HostSpace, Kokkos::MemoryTraits<Kokkos::Unmanaged>> data() const {
    return Kokkos::View<T*, Kokkos::HostSpace, Kokkos::MemoryTraits<Kokkos::Unmanaged>>(
        m_data, static_cast<std::size_t>(m_box.volume()));
  }
  /// The data as a rank-`Rank` LayoutRight host view of box()'s extents
  /// (valid while the frame lives). Throws ChannelError on a rank mismatch.
  template <int Rank>
  auto view() const {
    if (Rank != m_box.ndims)
      throw ChannelError("frame of a " + std::to_string(m_box.ndims) + "-d array read as " + std::to_string(Rank) +
                         "-d");
    using Unmanaged = Kokkos::MemoryTraits<Kokkos::Unmanaged>;
    const auto n = [&](int d) { return static_cast<std::size_t>(m_box.count[static_cast<std::size_t>(d)]); };
    if constexpr (Rank == 1)
      return Kokkos::View<T*, Kokkos::LayoutRight, Kokkos::HostSpace, Unmanaged>(m_data, n(0));
    else if constexpr (Rank == 2)
      return Kokkos::View<T**, Kokkos::LayoutRight, Kokkos::HostSpace, Unmanaged>(m_data, n(0), n(1));
    else if constexpr (Rank == 3)
      return Kokkos::View<T***, Kokkos::LayoutRight, Kokkos::HostSpace, Unmanaged>(m_data, n(0), n(1), n(2));
    else {
      static_assert(Rank == 4, "frames have 1 to 4 dimensions");
      return Kokkos::View<T****, Kokkos::LayoutRight, Kokkos::HostSpace, Unmanaged>(m_data, n(0), n(1), n(2), n(3));
    }
  }
  /// Copies the frame into `dst` (any layout, any memory space) whose extents
  /// are box()'s. A Kokkos kernel in dst's execution space.
  template <class View>
  void copy_to(const View& dst) const {
    detail::check_extents(dst, m_box, "Frame::copy_to");
    detail::unpack_view(dst, m_box, m_box, m_data);
  }

 private:
  int64_t m_step;
  double m_time;
  Attributes m_attributes;
  Box m_box;
  std::shared_ptr<void> m_owner;
  T* m_data;
};

namespace detail {
/// Engine-independent part of an open channel (src/channel.cpp).
class ChannelCore {
 public:
  virtual ~ChannelCore() = default;
  virtual const std::string& name() const = 0;
  virtual bool producer() const = 0;
  virtual const Box& my_box() const = 0;
  /// Producer: for each consumer rank, the part of my box it needs (may be empty).
  virtual const std::vector<Box>& parts() const = 0;
  /// How an engine gets this rank's part for consumer rank `c`: `pack` copies
  /// it into contiguous host memory; `direct` returns it in place when it
  /// already is contiguous host memory (else nullptr), for zero-copy sends;
  /// `keep` returns a handle that keeps the view's memory allocated (a copy
  /// of the view), for a send from it that MPI may still read after put()
  /// has given up on it.
  struct PackFn {
    std::function<void(int consumer, std::byte* dst)> pack;
    std::function<const std::byte*(int consumer)> direct;
    std::function<std::shared_ptr<void>()> keep;
    void operator()(int consumer, std::byte* dst) const { pack(consumer, dst); }
  };
  virtual void put(int64_t step, double time, const Attributes& attributes, const PackFn& pack) = 0;
  /// Consumer: the next step unpacked into my box, or nothing at end of stream.
  struct Received {
    int64_t step;
    double time;
    Attributes attributes;
    std::shared_ptr<void> owner;
    std::byte* data;
  };
  virtual std::optional<Received> get() = 0;
  virtual void close() = 0;
  virtual ChannelStats stats() const = 0;
};
}  // namespace detail

/// An open channel of element type T. Copies share the channel.
template <class T>
class Channel {
 public:
  explicit Channel(std::shared_ptr<detail::ChannelCore> core) : m_core(std::move(core)) {}

  const std::string& name() const { return m_core->name(); }
  bool is_producer() const { return m_core->producer(); }

  /// Producer, collective over the producer component: hands over this rank's
  /// box of step `step`. Accepts a Kokkos view of any layout (Left, Right,
  /// Stride, subviews) and memory space whose extents are the rank's box.
  /// Returns once the data is copied or handed to MPI; with a full queue it
  /// applies the channel's policy. Under `block` while the consumer sets the
  /// pace, and with zero_copy, a large contiguous step is sent from `view`
  /// and put() returns once MPI is done with it; if the consumer does not take
  /// it within peer_timeout, put() throws and keeps a copy of `view` (its
  /// memory stays allocated until the process ends, since MPI may still read
  /// it; the memory of an unmanaged view is the caller's to keep). Not
  /// thread-safe.
  template <class View>
  void put(int64_t step, double time, const View& view, const Attributes& attributes = {}) {
    static_assert(Kokkos::is_view<View>::value, "put() takes a Kokkos::View");
    static_assert(std::is_same_v<std::remove_const_t<typename View::value_type>, T>,
                  "the view's element type must be the channel's");
    if (!m_core->producer()) throw ChannelError("channel '" + name() + "': put() on the consuming side");
    const Box& mine = m_core->my_box();
    detail::check_extents(view, mine, [&] { return "channel '" + name() + "': put()"; });
    // One pointer captured: std::function keeps it inline, no allocation per put.
    struct Source {
      const View* view;
      const Box* mine;
      const std::vector<Box>* parts;
    } src{&view, &mine, &m_core->parts()};
    detail::ChannelCore::PackFn source;
    source.pack = [s = &src](int consumer, std::byte* dst) {
      detail::pack_view(*s->view, *s->mine, (*s->parts)[static_cast<std::size_t>(consumer)], reinterpret_cast<T*>(dst));
    };
    source.direct = [s = &src](int consumer) -> const std::byte* {
      if constexpr (detail::host_accessible<View>()) {
        if ((*s->parts)[static_cast<std::size_t>(consumer)] == *s->mine && detail::contiguous_right(*s->view))
          return reinterpret_cast<const std::byte*>(s->view->data());
      }
      return nullptr;
    };
    source.keep = [s = &src]() -> std::shared_ptr<void> { return std::make_shared<View>(*s->view); };
    m_core->put(step, time, attributes, source);
  }

  /// Consumer: the next frame in this rank's decomposition, or nothing at the
  /// end of the stream. Not collective (each rank receives its own box), but
  /// every consumer rank must call it for every step. Not thread-safe.
  std::optional<Frame<T>> get() {
    if (m_core->producer()) throw ChannelError("channel '" + name() + "': get() on the producing side");
    auto r = m_core->get();
    if (!r) return std::nullopt;
    return Frame<T>(r->step, r->time, std::move(r->attributes), m_core->my_box(), std::move(r->owner),
                    reinterpret_cast<T*>(r->data));
  }

  /// Producer: sends what is queued, then the end of stream; collective over
  /// the producer component. Consumer: stops receiving (waits for the
  /// producer's end of stream if it has not come). Idempotent.
  void close() { m_core->close(); }

  ChannelStats stats() const { return m_core->stats(); }

 private:
  std::shared_ptr<detail::ChannelCore> m_core;
};

/// Builds a channel: session.channel("fields").to("analysis").decomposition(d).open<double>().
class ChannelBuilder {
 public:
  ChannelBuilder(const Session& session, std::string name) : m_session(&session), m_name(std::move(name)) {}

  /// This side produces, for component `component`.
  ChannelBuilder& to(std::string component) {
    m_peer = std::move(component);
    m_producer = true;
    return *this;
  }
  /// This side consumes, from component `component`.
  ChannelBuilder& from(std::string component) {
    m_peer = std::move(component);
    m_producer = false;
    return *this;
  }
  ChannelBuilder& decomposition(Decomposition d) {
    m_decomposition = std::move(d);
    return *this;
  }
  ChannelBuilder& engine(std::string name) {
    m_settings.engine = std::move(name);
    return *this;
  }
  ChannelBuilder& policy(Policy p) {
    m_settings.policy = p;
    return *this;
  }
  ChannelBuilder& queue_depth(int steps) {
    m_settings.queue_depth = steps;
    return *this;
  }
  ChannelBuilder& max_bytes(int64_t bytes) {
    m_settings.max_bytes = bytes;
    return *this;
  }
  ChannelBuilder& open_timeout(double seconds) {
    m_settings.open_timeout = seconds;
    return *this;
  }
  ChannelBuilder& peer_timeout(double seconds) {
    m_settings.peer_timeout = seconds;
    return *this;
  }
  ChannelBuilder& zero_copy(bool on = true) {
    m_settings.zero_copy = on;
    return *this;
  }
  ChannelBuilder& directory(std::string path) {
    m_settings.directory = std::move(path);
    return *this;
  }

  /// Collective over this component; completes when the peer component has
  /// opened the same channel (or throws ChannelError after open_timeout).
  /// A shape, type or coverage mismatch throws on both sides with both
  /// descriptions.
  template <class T>
  Channel<T> open() const {
    if (m_peer.empty())
      throw ChannelError("channel '" + m_name + "': say .to(<component>) or .from(<component>) before open()");
    if (!m_decomposition)
      throw ChannelError("channel '" + m_name + "': give this rank's .decomposition(...) before open()");
    return Channel<T>(
        detail::open_channel(*m_session, m_name, m_producer, m_peer, *m_decomposition, data_type_of<T>(), m_settings));
  }

 private:
  const Session* m_session;
  std::string m_name;
  std::string m_peer;
  bool m_producer = true;
  std::optional<Decomposition> m_decomposition;
  ChannelSettings m_settings;
};

/// "MSA_CHANNEL_<NAME>_": the prefix of a channel's variables (NAME upper-cased, '-' as '_').
std::string channel_env_prefix(const std::string& channel);

/// The settings after MSA_CHANNEL_<NAME>_* overrides.
ChannelSettings settings_from_environment(const std::string& channel, ChannelSettings defaults);

/// Names of the registered channel engines.
std::vector<std::string> channel_engine_names();

}  // namespace msa

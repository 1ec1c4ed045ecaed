#pragma once
// The transport behind a channel. One engine instance per open channel and
// rank; engines are registered by name in runtime/src/channel.cpp.

#include <mpi.h>

#include <chrono>
#include <cstddef>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "msa/channel.hpp"

namespace msa::detail {

/// An uninitialised byte buffer. Buffers of 1 MiB or more start on a 2 MiB
/// boundary and ask the kernel for transparent huge pages (Linux with 4 KiB
/// base pages): their first touch takes 1/512 of the page faults, and
/// single-copy MPI transfers (CMA on shared memory) into or out of them run
/// markedly faster. From 2 MiB only the bytes asked for are mapped (the
/// alignment's slack is unmapped at once; a last part under 2 MiB gets base
/// pages); under 2 MiB the buffer maps one whole huge page.
class Buffer {
 public:
  explicit Buffer(std::size_t size);
  ~Buffer();
  Buffer(const Buffer&) = delete;
  Buffer& operator=(const Buffer&) = delete;
  std::byte* data() { return m_data; }
  std::size_t size() const { return m_size; }

 private:
  std::byte* m_data = nullptr;
  std::size_t m_size;
  std::size_t m_mapped = 0;  // bytes mapped at m_data (huge-page buffers), else 0: malloc'd
};
using BufferPtr = std::shared_ptr<Buffer>;

/// Buffers handed out again once nothing else holds them (a frame returned by
/// get() holds its buffer until the caller lets it go): fresh pages, and their
/// faults, stay out of the steady state. Keeps at most `keep` of them.
class BufferPool {
 public:
  explicit BufferPool(std::size_t keep) : m_keep(keep) {}
  BufferPtr take(std::size_t size) {
    for (auto& b : m_buffers)
      if (b.use_count() == 1 && b->size() == size) return b;
    auto b = std::make_shared<Buffer>(size);
    if (m_buffers.size() < m_keep) m_buffers.push_back(b);
    return b;
  }

 private:
  std::size_t m_keep;
  std::vector<BufferPtr> m_buffers;
};

/// Everything an engine needs, computed at open from both sides' boxes.
struct ChannelPlan {
  std::string name;
  bool producer = true;
  std::string peer;  ///< the other component's name
  DataType type = DataType::float64;
  std::size_t element_size = 8;
  std::vector<int64_t> global;
  Box my_box;
  int my_rank = 0;      ///< in my component
  int local_size = 1;   ///< ranks of my component
  int remote_size = 1;  ///< ranks of the peer component
  /// Producer: for each consumer rank, my box intersected with its box.
  /// Consumer: for each producer rank, its box intersected with mine.
  std::vector<Box> parts;
  /// Producer leader: consumer ranks no producer box overlaps (they get
  /// header-only messages from rank 0). Consumer: whether I am one of them.
  std::vector<int> header_only;
  bool header_only_me = false;
  int64_t step_bytes = 0;    ///< payload of one whole step, all ranks together
  int pending_capacity = 1;  ///< steps the producer may queue (after the byte budget)
  /// Steps sent that not every consumer rank has finished with: the one it
  /// works on and those travelling (a consumer acknowledges a step when it
  /// asks for the next one).
  int window = 3;
  /// A byte budget of fewer than 3 steps: `window` counts the steps sent
  /// beyond those the consumer has received, and it acknowledges a step as it
  /// receives it (so one step can still travel while it works on another, and
  /// a consumer reading two channels in turn cannot starve either). The
  /// producer tells the consumer so in every step's header.
  bool ack_on_receipt = false;
  /// Chosen by the producer's rank 0 at open and carried by every ack: an ack
  /// left over from an earlier channel whose name maps to the same tags (the
  /// consumer's last one can arrive after that producer closed) is told apart.
  uint64_t ack_token = 0;
  ChannelSettings settings;
  MPI_Comm inter = MPI_COMM_NULL;  ///< to the peer component (borrowed)
  MPI_Comm local = MPI_COMM_NULL;  ///< my component (borrowed)
  int tag_base = 0;
};

/// Wire format: every message of a step starts with this 64-byte header.
struct WireHeader {
  uint64_t magic;
  int64_t step;
  double time;
  uint32_t flags;
  uint32_t attributes_bytes;
  int64_t payload_bytes;
  unsigned char reserved[24];
};
static_assert(sizeof(WireHeader) == 64, "the header is 64 bytes");
constexpr uint64_t kWireMagic = 0x4d53414348414e31ULL;  // "MSACHAN1"
/// Sent in the open handshake; both sides must agree. 2: payloads of
/// kSplitBytes = 32 KiB or more travel on their own (1: 64 KiB).
constexpr int kWireVersion = 2;
constexpr uint32_t kFlagEnd = 1u;
constexpr uint32_t kFlagAttributes = 2u;
constexpr uint32_t kFlagAckOnReceipt = 4u;  // see ChannelPlan::ack_on_receipt
constexpr int kTagHello = 0, kTagData = 1, kTagAck = 2, kTagAttributes = 3;
/// Payloads of this size or more travel as a message of their own after the
/// header: contiguous, so shared-memory and RDMA transports copy them once,
/// straight from the producer's view where it is contiguous and into the
/// consumer's frame where they are one run of it.
constexpr std::size_t kSplitBytes = 32 * 1024;

/// A received step: the header's fields and, per producer rank with a part,
/// the buffer (header + payload) it sent. An engine that received some parts
/// straight into a frame (LayoutRight over the consumer's box) gives it
/// here; `parts` then lists only those still to be copied in.
struct Incoming {
  int64_t step = 0;
  double time = 0;
  std::string attributes;  ///< encoded
  std::vector<std::pair<int, BufferPtr>> parts;
  BufferPtr frame;
};

class Engine {
 public:
  virtual ~Engine() = default;
  virtual void put(int64_t step, double time, const std::string& attributes, const ChannelCore::PackFn& pack) = 0;
  virtual std::optional<Incoming> get() = 0;
  virtual void close() = 0;
  virtual ChannelStats stats() const = 0;
};

std::unique_ptr<Engine> make_mpi_engine(const ChannelPlan& plan);
std::unique_ptr<Engine> make_null_engine(const ChannelPlan& plan);
/// The hdf5 engine lives in libmsa_io (it needs the Store); this finds it
/// there, loading the library if the program did not link it.
std::unique_ptr<Engine> make_hdf5_engine(const ChannelPlan& plan);

/// The symbol libmsa_io exports for make_hdf5_engine.
using Hdf5EngineMaker = Engine* (*)(const ChannelPlan& plan);
constexpr const char* kHdf5EngineSymbol = "msa_io_make_hdf5_engine";

/// Attributes <-> bytes (JSON).
std::string encode_attributes(const Attributes& attributes);
Attributes decode_attributes(const std::string& bytes);

double seconds_now();

/// A time limit for a polling loop. The clock is read only every 64th
/// check: in a spin loop, reading it each round costs as much as the MPI_Test
/// being waited on and adds to the latency of every step.
class Deadline {
 public:
  explicit Deadline(double seconds) : m_end(seconds_now() + seconds) {}
  /// From a clock reading the caller already has.
  Deadline(double start, double seconds) : m_end(start + seconds) {}
  bool passed() { return (++m_checks & 63u) == 0 && seconds_now() > m_end; }

 private:
  double m_end;
  unsigned m_checks = 0;
};

/// Waiting on MPI: spin for 2 ms first, then sleep in short slices so that
/// an idle wait does not take a core from ranks that share it. A small step
/// arrives within microseconds, a large one (8 MiB on shared memory) within
/// a millisecond or so, and a sleep overshoots by tens of microseconds (Linux
/// timer slack): a wait that started sleeping before such a step arrived cost
/// 8 MiB zero-copy streams about a tenth of their bandwidth. (MPI libraries
/// yield the core inside MPI_Test when ranks outnumber cores.) The clock is
/// read every 64th round.
class Backoff {
 public:
  void pause() {
    if (!m_sleeping) {
      if ((++m_rounds & 63u) != 0) return;
      const double now = seconds_now();
      if (m_start == 0) m_start = now;
      if (now - m_start < kSpinSeconds) return;
      m_sleeping = true;
    }
    std::this_thread::sleep_for(std::chrono::microseconds(m_sleeps++ < 100 ? 5 : 50));
  }

 private:
  static constexpr double kSpinSeconds = 2e-3;
  unsigned m_rounds = 0;
  int m_sleeps = 0;
  double m_start = 0;
  bool m_sleeping = false;
};

}  // namespace msa::detail

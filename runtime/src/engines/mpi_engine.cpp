// The mpi engine: steps go from each producer rank straight to the consumer
// ranks whose boxes overlap its own, over the inter-communicator between the
// two components, with nonblocking sends.
//
// Flow control: the consumer acknowledges a step when it asks for the next
// one (so the acknowledgement is not on the path of the step it just got, and
// "taken" means "finished with"); `window` (3) steps may be out beyond the last
// acknowledged one: the one the consumer works on and two travelling. Steps the producer
// cannot send yet wait in its queue of `pending_capacity` steps; when that is
// full, put() applies the policy, before packing anything (under `block`,
// from then on it sends from the caller's view while the consumer sets the
// pace; see decide()). Every decision is
// taken by the producer's rank 0 (the only one that hears the acks) and
// broadcast, so all producer ranks send and drop the same steps.
#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <cstring>
#include <deque>
#include <thread>

#include "engine.hpp"
#include "msa/comm.hpp"
#include "msa/error.hpp"

namespace msa::detail {

namespace {

// check_mpi() with a context built only when the call failed: these run per
// step and per wait-loop round, where formatting would cost more than MPI.
template <class F>
void check_lazy(int code, F&& context) {
  if (code != MPI_SUCCESS) check_mpi(code, context());
}

constexpr int64_t kDetached = -1;  // ack value: the consumer closed early

// Memory MPI may still read or write after its channel let it go (sends in
// flight when a producer is destroyed without close() or gives up on a stuck
// consumer, including the caller's view a step went from; a receive under
// way when a consumer is destroyed): kept until the process ends, and never
// released (a view released after Kokkos::finalize() is an error).
std::vector<std::shared_ptr<void>>& orphaned_memory() {
  static auto* kept = new std::vector<std::shared_ptr<void>>();
  return *kept;
}

/// Consumer -> producer rank 0: steps finished with (or kDetached), and the
/// channel's token (two int64 on the wire).
struct AckMessage {
  uint64_t token = 0;
  int64_t value = 0;
};
static_assert(sizeof(AckMessage) == 16, "two int64 on the wire");

// kRetry: send the `send_before` steps, then decide again (the consumer must
// get them before it can make room).
enum Outcome : int32_t { kEnqueue = 0, kDropNew = 1, kDropOldestThenEnqueue = 2, kClearThenEnqueue = 3, kRetry = 4 };

struct Decision {
  int32_t send_before = 0;  // pending steps to send before the new one is handled
  int32_t outcome = kEnqueue;
  int32_t send_after = 0;  // pending steps to send after
  int32_t error = 0;       // 1: the consumer is stuck; every rank throws
  int32_t direct = 0;      // 1: send the new step from the caller's view (see decide())
  int32_t unused = 0;
  int64_t waiting_for = 0;  // with error: the step the consumer has not taken
};

class MpiProducer final : public Engine {
 public:
  explicit MpiProducer(const ChannelPlan& plan) : m_plan(plan), m_leader(plan.my_rank == 0) {
    for (int c = 0; c < plan.remote_size; ++c) {
      const Box& part = plan.parts[static_cast<std::size_t>(c)];
      if (!part.empty() && static_cast<std::size_t>(part.volume()) * plan.element_size >= kSplitBytes)
        m_large_parts.push_back(c);
    }
    // One buffer holds a step's messages to every consumer rank, one after
    // another on cache lines: a single allocation per step, large enough to
    // sit on huge pages more often than its parts would (see Buffer), which
    // single-copy transports read much faster.
    m_offset.assign(static_cast<std::size_t>(plan.remote_size), kNoPart);
    for (int c = 0; c < plan.remote_size; ++c) {
      if (!talks_to(c)) continue;
      m_offset[static_cast<std::size_t>(c)] = m_step_buffer;
      m_step_buffer += (sizeof(WireHeader) + payload_bytes(c) + kLineBytes - 1) / kLineBytes * kLineBytes;
    }
    if (m_leader) {
      m_acked.assign(static_cast<std::size_t>(plan.remote_size), 0);
      m_ack_in.assign(static_cast<std::size_t>(plan.remote_size), AckMessage{});
      m_ack_requests.assign(static_cast<std::size_t>(plan.remote_size), MPI_REQUEST_NULL);
      for (int c = 0; c < plan.remote_size; ++c) post_ack(c);
    }
  }

  ~MpiProducer() override {
    withdraw_ack_receives();
    // In-flight sends (a channel destroyed without close()): let MPI finish
    // them, and keep their buffers until the process ends, since a consumer
    // may still read them (single-copy transports read the sender's memory).
    for (auto& f : m_inflight) {
      bool open = false;
      for (auto& r : f.requests)
        if (r != MPI_REQUEST_NULL) {
          int done = 0;
          MPI_Test(&r, &done, MPI_STATUS_IGNORE);
          if (!done) {
            MPI_Request_free(&r);
            open = true;
          }
        }
      if (open) orphaned_memory().insert(orphaned_memory().end(), f.buffers.begin(), f.buffers.end());
    }
  }

  void put(int64_t step, double time, const std::string& attributes, const ChannelCore::PackFn& pack) override {
    if (m_closed) throw ChannelError(fmt::format("channel '{}': put() after close()", m_plan.name));
    ++m_stats.steps_put;
    // The clock is read only where put() may wait (the policy's wait, the
    // broadcast of the decision) and, under `block`, for steps that can go
    // from the caller's view (kSplitBytes or more; see decide()): on the path of
    // every small step it would cost more than the rest of the put.
    const bool in_place = m_leader && m_plan.settings.policy == Policy::block && sends_in_place(pack);
    const double start = in_place ? seconds_now() : 0;
    if (in_place && m_seen_time == 0) m_seen_time = start;  // the consumer's first step is timed from here
    Decision d;
    while (true) {
      d = m_leader ? decide(in_place, start) : Decision{};
      if (m_plan.local_size > 1) {
        const double t0 = seconds_now();
        check_lazy(MPI_Bcast(&d, sizeof d, MPI_BYTE, 0, m_plan.local),
                   [&] { return fmt::format("channel '{}': put", m_plan.name); });
        m_stats.put_blocked_s += seconds_now() - t0;
      }
      if (d.error) throw stuck_error(d.waiting_for);
      for (int i = 0; i < d.send_before; ++i) send_front();
      if (d.outcome != kRetry) break;
    }
    // With zero_copy, or under `block` while the consumer sets the pace (see
    // decide()), nothing queued and the step going out at once: send it from
    // the caller's memory where that is contiguous (no copy), and wait until
    // MPI is done with it before returning.
    if ((m_plan.settings.zero_copy || d.direct) && d.outcome == kEnqueue && d.send_after >= 1 && m_pending.empty()) {
      send_direct(step, time, attributes, pack);
      for (int i = 1; i < d.send_after; ++i) send_front();
      reap();
      if (in_place) note_put_end(start);
      if (m_leader && !in_place) poll_acks(false);
      return;
    }
    switch (d.outcome) {
      case kDropNew:
        ++m_stats.steps_dropped;
        break;
      case kDropOldestThenEnqueue:
        recycle(std::move(m_pending.front().buffer));
        m_pending.pop_front();
        ++m_stats.steps_dropped;
        enqueue(step, time, attributes, pack);
        break;
      case kClearThenEnqueue:
        m_stats.steps_dropped += static_cast<int64_t>(m_pending.size());
        for (auto& q : m_pending) recycle(std::move(q.buffer));
        m_pending.clear();
        enqueue(step, time, attributes, pack);
        break;
      default:
        enqueue(step, time, attributes, pack);
        break;
    }
    for (int i = 0; i < d.send_after; ++i) send_front();
    reap();
    if (in_place) note_put_end(start);
    // The consumer's acks, once the step is with MPI: off the path of a step
    // that a consumer waits for (a ping-pong of small steps: 0.1-0.5 us).
    if (m_leader && !in_place) poll_acks(false);
  }

  std::optional<Incoming> get() override {
    throw ChannelError(fmt::format("channel '{}': get() on the producing side", m_plan.name));
  }

  // Sends everything queued (waiting for the consumer as needed), then the
  // end of stream, then waits until MPI has delivered it all.
  void close() override {
    if (m_closed) return;
    m_closed = true;
    while (true) {
      Decision d;
      if (m_leader) {
        Deadline deadline(m_plan.settings.peer_timeout);
        Backoff backoff;
        while (!m_pending.empty() && !m_detached && !window_free()) {
          if (deadline.passed()) {
            d.error = 1;
            d.waiting_for = m_consumed;
            break;
          }
          backoff.pause();
          poll_acks();
        }
        if (m_detached) d.outcome = kClearThenEnqueue;  // here: discard what is queued
        d.send_before = (!d.error && !m_detached && !m_pending.empty()) ? 1 : 0;
      }
      if (m_plan.local_size > 1)
        check_lazy(MPI_Bcast(&d, sizeof d, MPI_BYTE, 0, m_plan.local),
                   [&] { return fmt::format("channel '{}': close", m_plan.name); });
      if (d.error) throw stuck_error(d.waiting_for);
      if (d.outcome == kClearThenEnqueue) {
        m_stats.steps_dropped += static_cast<int64_t>(m_pending.size());
        for (auto& q : m_pending) recycle(std::move(q.buffer));
        m_pending.clear();
      }
      if (d.send_before) send_front();
      if (m_pending.empty()) break;
    }
    // End of stream to every consumer this rank talks to.
    for (int c = 0; c < m_plan.remote_size; ++c)
      if (talks_to(c)) {
        auto buffer = std::make_shared<Buffer>(sizeof(WireHeader));
        write_header(buffer->data(), -1, 0, kFlagEnd, 0, 0);
        InFlight f;
        f.buffers.push_back(buffer);
        f.requests.push_back(MPI_REQUEST_NULL);
        check_lazy(
            MPI_Isend(buffer->data(), sizeof(WireHeader), MPI_BYTE, c, tag(kTagData), m_plan.inter, &f.requests.back()),
            [&] { return fmt::format("channel '{}': end of stream", m_plan.name); });
        m_inflight.push_back(std::move(f));
      }
    Deadline deadline(m_plan.settings.peer_timeout);
    Backoff backoff;
    while (!m_inflight.empty()) {
      reap();
      if (m_inflight.empty()) break;
      if (deadline.passed())
        throw ChannelError(
            fmt::format("channel '{}': consumer component '{}' did not receive the last steps within "
                        "{:.0f} s; it is stuck or gone (producer rank {})",
                        m_plan.name, m_plan.peer, m_plan.settings.peer_timeout, m_plan.my_rank));
      backoff.pause();
    }
    // A channel opened later on the same tags must get its own acks; late
    // ones of this channel then match nothing here, and its token tells them
    // apart there.
    withdraw_ack_receives();
  }

  ChannelStats stats() const override { return m_stats; }

 private:
  void withdraw_ack_receives() noexcept {
    for (auto& r : m_ack_requests)
      if (r != MPI_REQUEST_NULL) {
        MPI_Cancel(&r);
        MPI_Request_free(&r);
      }
  }

  struct Queued {
    int64_t step;
    double time;
    std::string attributes;
    BufferPtr buffer;  // [header | payload] per consumer rank at m_offset; null if none (all sent from the view)
    std::vector<char> sent_direct;  // per consumer rank, if any: 1 where send_direct() sent it
  };
  static constexpr std::size_t kNoPart = ~std::size_t{0};
  // Under `block`, a producer whose time between put()s is less than this
  // share of a put()'s time does nothing else: its steps go from the view.
  static constexpr double kIdleShare = 0.1;
  static constexpr int kIdleMaxMisses = 10;
  static constexpr std::size_t kLineBytes = 64;

  std::size_t payload_bytes(int consumer) const {
    return static_cast<std::size_t>(m_plan.parts[static_cast<std::size_t>(consumer)].volume()) * m_plan.element_size;
  }
  struct InFlight {
    std::vector<BufferPtr> buffers;
    std::vector<MPI_Request> requests;
  };

  int tag(int kind) const { return m_plan.tag_base + kind; }

  bool talks_to(int consumer) const {
    if (!m_plan.parts[static_cast<std::size_t>(consumer)].empty()) return true;
    return m_leader &&
           std::find(m_plan.header_only.begin(), m_plan.header_only.end(), consumer) != m_plan.header_only.end();
  }

  void post_ack(int c) {
    check_lazy(MPI_Irecv(&m_ack_in[static_cast<std::size_t>(c)], 2, MPI_INT64_T, c, tag(kTagAck), m_plan.inter,
                         &m_ack_requests[static_cast<std::size_t>(c)]),
               [&] { return fmt::format("channel '{}': post ack receive", m_plan.name); });
  }

  // Leader: takes in the acks that have arrived. Without `drain`, at most one
  // per consumer rank: acks are cumulative, and testing again after reposting
  // the receive costs a turn of MPI's progress engine on every step. Callers
  // drain when the window looks full, so no decision rests on a stale count.
  void poll_acks(bool drain = true) {
    for (int c = 0; c < m_plan.remote_size; ++c) {
      auto& r = m_ack_requests[static_cast<std::size_t>(c)];
      int done = 0;
      check_lazy(MPI_Test(&r, &done, MPI_STATUS_IGNORE), [&] { return fmt::format("channel '{}': ack", m_plan.name); });
      while (done) {
        const AckMessage a = m_ack_in[static_cast<std::size_t>(c)];
        post_ack(c);
        // An ack with another token is for an earlier channel whose name maps
        // to the same tags (sent after that producer had closed): ignored.
        if (a.token == m_plan.ack_token) {
          if (a.value == kDetached)
            m_detached = true;
          else
            m_acked[static_cast<std::size_t>(c)] = std::max(m_acked[static_cast<std::size_t>(c)], a.value);
          if (!drain) break;
        }
        check_lazy(MPI_Test(&r, &done, MPI_STATUS_IGNORE),
                   [&] { return fmt::format("channel '{}': ack", m_plan.name); });
      }
    }
    m_consumed = *std::min_element(m_acked.begin(), m_acked.end());
  }

  bool window_free() const { return m_sent - m_consumed < m_plan.window; }

  // True when a part of this rank's step would go from the caller's view
  // (see send_direct()).
  bool sends_in_place(const ChannelCore::PackFn& pack) const {
    if (!pack.direct) return false;
    for (int c : m_large_parts)
      if (pack.direct(c)) return true;
    return false;
  }

  // Leader: what this put does. Waits (policy block) for room first.
  // `in_place`: the step can go from the caller's view; `start`: when put()
  // was called.
  Decision decide(bool in_place, double start) {
    Decision d;
    // For steps that cannot go from the caller's view, the acks that came
    // since the last put() were taken in at its end (see put()); only a full
    // window or queue needs the latest count before such a step is sent.
    if (in_place) poll_acks(false);
    if (!m_pending.empty() || !window_free() || m_consumer_bound) poll_acks();
    if (m_detached) {  // nobody is listening: drop everything
      d.outcome = kDropNew;
      return d;
    }
    // Simulate the queue: `pending` steps queued, `sent` handed over.
    auto pending = static_cast<int64_t>(m_pending.size());
    int64_t sent = m_sent;
    auto can_send = [&] { return sent - m_consumed < m_plan.window; };
    while (pending > 0 && can_send()) {
      ++d.send_before;
      --pending;
      ++sent;
    }
    const int64_t capacity = m_plan.pending_capacity;
    auto has_room = [&] { return pending < capacity || (pending == 0 && can_send()); };
    const bool room = has_room();
    switch (m_plan.settings.policy) {
      case Policy::block: {
        // By default put() copies the step and returns; the transfer then
        // overlaps the producer's work. Once a put() finds the queue full,
        // the consumer sets the pace and put() would wait for it anyway:
        // from then on put() waits until every consumer rank has finished
        // with every step sent (it then waits in get() for this one) and
        // sends the step from the caller's view (where that is contiguous;
        // rank 0's view decides for all), so that only the transfer copies
        // it (a copy in put() beside the transfer slows both: a hand-written
        // stream of 2 MiB steps that copies so gets 0.6-0.7 of raw MPI on
        // shared memory). The wait is here, where a stuck consumer is an
        // error on every producer rank, and send_direct() waits only for
        // the transfer. The producer sets the pace again when the consumer
        // already waits at the start of a put() and the producer worked
        // longer since the last put() than that put() took: copying then
        // lets the transfer overlap that work. A producer that does hardly
        // anything between its put()s (less than kIdleShare of the last
        // put()'s time) has no work for a copy to overlap either: the copy
        // would only compete with the transfer for memory bandwidth (on a
        // machine whose memcpy is no faster than the transfer, a stream of
        // 8 or 32 MiB steps got 0.3-0.9 of raw MPI), so it sends from the
        // view from its second step on. When the wait below gives up on the
        // consumer (it reads other steps first, or it was slow for a while,
        // as over the first steps that fault in fresh pages), the next
        // 2^misses put()s copy before it tries again (misses in a row, at
        // most 2^10 put()s): a transient slowdown does not turn this off for
        // good, and a consumer that always reads other steps first costs a
        // wait only now and then. With acknowledgements on receipt (a budget
        // of fewer than 3 steps) they do not tell that a consumer waits, so
        // steps are copied.
        const bool may_direct = in_place && !m_plan.ack_on_receipt;
        if (may_direct) note_consumer_progress();
        if (!may_direct || (m_consumer_bound && m_consumed == m_sent && start - m_put_end > m_put_took))
          m_consumer_bound = false;
        else if (!m_consumer_bound && m_consumer_step > 0 && start - m_put_end < kIdleShare * m_put_took) {
          if (m_idle_skip > 0)
            --m_idle_skip;
          else
            m_consumer_bound = true;
        }
        if (!room && may_direct) m_consumer_bound = true;
        auto straight = [&] { return pending == 0 && can_send() && m_consumed == sent; };
        if (m_consumer_bound ? straight() : room) {
          d.direct = m_consumer_bound ? 1 : 0;
          d.outcome = kEnqueue;
          if (d.direct) m_idle_misses = 0;
          break;
        }
        // Waiting to send from the view where a copy would find room has a
        // limit: a consumer may take another channel's steps first, which
        // this producer puts only after this step. When the consumer has
        // finished no step for a few of its steps (at most half the peer
        // timeout), the step is copied (and the producer sets the pace until
        // the queue fills again). Both this limit and the peer timeout count
        // from the last step it finished: entering this mode, it may still
        // have several queued steps to get through, and a consumer that
        // finishes steps is not stuck.
        const double t0 = seconds_now();
        double progress_at = t0;
        auto grace = [&] {
          return std::min(2.0 * (m_plan.window + 1) * m_consumer_step + 1e-3, 0.5 * m_plan.settings.peer_timeout);
        };
        Deadline deadline(t0, m_plan.settings.peer_timeout);
        Backoff backoff;
        while (true) {
          if (!m_consumer_bound) {
            if (has_room()) break;
          } else if (straight()) {
            d.direct = 1;
            m_idle_misses = 0;
            break;
          } else if (d.send_before > 0) {
            d.outcome = kRetry;  // the consumer needs those before it can finish with them
            m_stats.put_blocked_s += seconds_now() - t0;
            return d;
          } else if (has_room() && seconds_now() - progress_at > grace()) {
            m_consumer_bound = false;
            m_idle_misses = std::min(m_idle_misses + 1, kIdleMaxMisses);
            m_idle_skip = int64_t{1} << m_idle_misses;
            break;
          }
          if (deadline.passed()) {
            d.error = 1;
            d.waiting_for = m_consumed;
            return d;
          }
          backoff.pause();
          poll_acks();
          if (m_detached) {
            d.outcome = kDropNew;
            break;
          }
          if (m_consumer_bound && note_consumer_progress()) {
            progress_at = m_seen_time;
            deadline = Deadline(progress_at, m_plan.settings.peer_timeout);
          }
          while (pending > 0 && can_send()) {
            ++d.send_before;
            --pending;
            ++sent;
          }
        }
        m_stats.put_blocked_s += seconds_now() - t0;
        if (d.outcome == kDropNew) {
          d.direct = 0;
          return d;
        }
        d.outcome = kEnqueue;
        break;
      }
      case Policy::drop_newest:
        d.outcome = room ? kEnqueue : kDropNew;
        break;
      case Policy::drop_oldest:
        d.outcome = room ? kEnqueue : (pending > 0 ? kDropOldestThenEnqueue : kDropNew);
        if (d.outcome == kDropOldestThenEnqueue) --pending;
        break;
      case Policy::latest_only:
        // Only the newest step waits: queued ones are replaced by it.
        if (pending > 0) {
          d.outcome = kClearThenEnqueue;
          pending = 0;
        } else {
          d.outcome = (capacity > 0 || can_send()) ? kEnqueue : kDropNew;
        }
        break;
    }
    if (d.outcome != kDropNew) ++pending;
    while (pending > 0 && can_send()) {
      ++d.send_after;
      --pending;
      ++sent;
    }
    return d;
  }

  // Leader: a put() of a step that may go from the caller's view, called at
  // `start`, returns now.
  void note_put_end(double start) {
    m_put_end = seconds_now();
    m_put_took = m_put_end - start;
  }

  // Leader: when the consumer has finished more steps since the last call,
  // updates its time per step (from the acknowledgements) and returns true.
  bool note_consumer_progress() {
    if (m_consumed <= m_seen_consumed) return false;
    const double now = seconds_now();
    // Acknowledgements come in bursts (a receive may complete within the
    // get() before): a short interval lowers the estimate only gradually.
    m_consumer_step =
        std::max((now - m_seen_time) / static_cast<double>(m_consumed - m_seen_consumed), 0.5 * m_consumer_step);
    m_seen_consumed = m_consumed;
    m_seen_time = now;
    return true;
  }

  uint32_t step_flags(const std::string& attributes) const {
    return (attributes.empty() ? 0u : kFlagAttributes) | (m_plan.ack_on_receipt ? kFlagAckOnReceipt : 0u);
  }

  ChannelError stuck_error(int64_t consumed) const {
    return ChannelError(fmt::format(
        "channel '{}': consumer component '{}' has not finished with step #{} (counting from 0; a consumer is done "
        "with a step when it asks for the next) for {:.0f} s; it is stuck or gone (producer rank {}). Raise "
        "peer_timeout ({}PEER_TIMEOUT) if it is just slow",
        m_plan.name, m_plan.peer, consumed, m_plan.settings.peer_timeout, m_plan.my_rank,
        channel_env_prefix(m_plan.name)));
  }

  static void write_header(std::byte* at, int64_t step, double time, uint32_t flags, uint32_t attributes_bytes,
                           int64_t payload) {
    WireHeader h{};
    h.magic = kWireMagic;
    h.step = step;
    h.time = time;
    h.flags = flags;
    h.attributes_bytes = attributes_bytes;
    h.payload_bytes = payload;
    std::memcpy(at, &h, sizeof h);
  }

  // A step's buffer (null when this rank sends nothing), from those whose
  // sends completed: their pages stay mapped and faulted in.
  BufferPtr take_buffer() {
    if (m_step_buffer == 0) return nullptr;
    if (m_free.empty()) return std::make_shared<Buffer>(m_step_buffer);
    BufferPtr b = std::move(m_free.back());
    m_free.pop_back();
    return b;
  }
  // Keeps a step's buffer for a later step: at most as many as can be in use.
  void recycle(BufferPtr b) {
    const auto keep = static_cast<std::size_t>(m_plan.window + m_plan.pending_capacity + 1);
    if (b && b->size() == m_step_buffer && m_free.size() < keep) m_free.push_back(std::move(b));
  }

  void enqueue(int64_t step, double time, const std::string& attributes, const ChannelCore::PackFn& pack) {
    Queued q{step, time, attributes, take_buffer(), {}};
    const uint32_t flags = step_flags(attributes);
    for (int c = 0; c < m_plan.remote_size; ++c) {
      const std::size_t at = m_offset[static_cast<std::size_t>(c)];
      if (at == kNoPart) continue;
      const std::size_t payload = payload_bytes(c);
      write_header(q.buffer->data() + at, step, time, flags, static_cast<uint32_t>(attributes.size()),
                   static_cast<int64_t>(payload));
      if (payload) pack(c, q.buffer->data() + at + sizeof(WireHeader));
    }
    m_pending.push_back(std::move(q));
  }

  // An InFlight whose vectors keep the capacity of an earlier one.
  InFlight fresh_inflight() {
    if (m_spare.empty()) return {};
    InFlight f = std::move(m_spare.back());
    m_spare.pop_back();
    return f;
  }

  void send_front() {
    Queued q = std::move(m_pending.front());
    m_pending.pop_front();
    InFlight f = fresh_inflight();
    if (m_leader && !q.attributes.empty()) {
      // Attributes travel once per consumer rank, from rank 0, ahead of the data.
      auto a = std::make_shared<Buffer>(q.attributes.size());
      std::memcpy(a->data(), q.attributes.data(), q.attributes.size());
      for (int c = 0; c < m_plan.remote_size; ++c) {
        f.requests.push_back(MPI_REQUEST_NULL);
        check_lazy(MPI_Isend(a->data(), static_cast<int>(a->size()), MPI_BYTE, c, tag(kTagAttributes), m_plan.inter,
                             &f.requests.back()),
                   [&] { return fmt::format("channel '{}': send attributes of step {}", m_plan.name, q.step); });
      }
      f.buffers.push_back(a);
    }
    for (int c = 0; c < m_plan.remote_size; ++c) {
      const std::size_t at = m_offset[static_cast<std::size_t>(c)];
      if (at == kNoPart || (!q.sent_direct.empty() && q.sent_direct[static_cast<std::size_t>(c)])) continue;
      std::byte* b = q.buffer->data() + at;
      const std::size_t payload = payload_bytes(c);
      const auto what = [&] {
        return fmt::format("channel '{}': send step {} to consumer rank {}", m_plan.name, q.step, c);
      };
      if (payload >= kSplitBytes) {  // header, then the payload on its own (contiguous: single-copy transports)
        f.requests.push_back(MPI_REQUEST_NULL);
        check_lazy(MPI_Isend(b, sizeof(WireHeader), MPI_BYTE, c, tag(kTagData), m_plan.inter, &f.requests.back()),
                   what);
        f.requests.push_back(MPI_REQUEST_NULL);
        check_lazy(MPI_Isend(b + sizeof(WireHeader), static_cast<int>(payload), MPI_BYTE, c, tag(kTagData),
                             m_plan.inter, &f.requests.back()),
                   what);
      } else {
        f.requests.push_back(MPI_REQUEST_NULL);
        check_lazy(MPI_Isend(b, static_cast<int>(sizeof(WireHeader) + payload), MPI_BYTE, c, tag(kTagData),
                             m_plan.inter, &f.requests.back()),
                   what);
      }
      m_stats.bytes_sent += static_cast<int64_t>(payload);
    }
    if (q.buffer) f.buffers.push_back(std::move(q.buffer));
    m_inflight.push_back(std::move(f));
    ++m_sent;
    ++m_stats.steps_sent;
  }

  // Sends a step straight away: parts of at least kSplitBytes that the view
  // holds contiguously go from there (header first, then the data as it
  // lies); the rest is packed as usual. Returns when every
  // direct send has completed, so the caller may change its view.
  void send_direct(int64_t step, double time, const std::string& attributes, const ChannelCore::PackFn& pack) {
    // The step's buffer only if some part is packed; the headers of parts
    // sent from the view go from small buffers of their own.
    Queued q{step, time, attributes, nullptr, std::vector<char>(static_cast<std::size_t>(m_plan.remote_size), 0)};
    const uint32_t flags = step_flags(attributes);
    std::vector<MPI_Request> direct;
    std::vector<BufferPtr> headers;
    for (int c = 0; c < m_plan.remote_size; ++c) {
      const std::size_t at = m_offset[static_cast<std::size_t>(c)];
      if (at == kNoPart) continue;
      const std::size_t payload = payload_bytes(c);
      const std::byte* in_place = payload >= kSplitBytes && pack.direct ? pack.direct(c) : nullptr;
      if (!in_place) {
        if (!q.buffer) q.buffer = take_buffer();
        write_header(q.buffer->data() + at, step, time, flags, static_cast<uint32_t>(attributes.size()),
                     static_cast<int64_t>(payload));
        if (payload) pack(c, q.buffer->data() + at + sizeof(WireHeader));
        continue;
      }
      q.sent_direct[static_cast<std::size_t>(c)] = 1;
      auto header = std::make_shared<Buffer>(sizeof(WireHeader));
      write_header(header->data(), step, time, flags, static_cast<uint32_t>(attributes.size()),
                   static_cast<int64_t>(payload));
      headers.push_back(header);
      const auto what = [&] {
        return fmt::format("channel '{}': send step {} to consumer rank {}", m_plan.name, step, c);
      };
      direct.push_back(MPI_REQUEST_NULL);
      check_lazy(
          MPI_Isend(header->data(), sizeof(WireHeader), MPI_BYTE, c, tag(kTagData), m_plan.inter, &direct.back()),
          what);
      direct.push_back(MPI_REQUEST_NULL);
      // MPI only reads the buffer; the cast is for MPI-3's non-const signature in older headers.
      check_lazy(MPI_Isend(const_cast<std::byte*>(in_place), static_cast<int>(payload), MPI_BYTE, c, tag(kTagData),
                           m_plan.inter, &direct.back()),
                 what);
      m_stats.bytes_sent += static_cast<int64_t>(payload);
    }
    if (!direct.empty()) ++m_stats.steps_direct;
    m_pending.push_back(std::move(q));
    send_front();                     // attributes and the packed parts
    const double t0 = seconds_now();  // waiting for the consumer to take the step counts as blocked
    Deadline deadline(t0, m_plan.settings.peer_timeout);
    Backoff backoff;
    int done = 0, gave_up = 0;
    while (!done) {
      check_lazy(MPI_Testall(static_cast<int>(direct.size()), direct.data(), &done, MPI_STATUSES_IGNORE),
                 [&] { return fmt::format("channel '{}': send step {}", m_plan.name, step); });
      if (done) break;
      if (deadline.passed()) {
        // The sends stay with MPI; their headers and the caller's view must
        // outlive them.
        for (auto& r : direct)
          if (r != MPI_REQUEST_NULL) MPI_Request_free(&r);
        orphaned_memory().insert(orphaned_memory().end(), headers.begin(), headers.end());
        if (pack.keep) orphaned_memory().push_back(pack.keep());
        gave_up = 1;
        break;
      }
      backoff.pause();
    }
    // put() is collective: when one producer rank gives up, all do, or the
    // others would wait for it in the next put().
    if (m_plan.local_size > 1)
      check_lazy(MPI_Allreduce(MPI_IN_PLACE, &gave_up, 1, MPI_INT, MPI_MAX, m_plan.local),
                 [&] { return fmt::format("channel '{}': send step {}", m_plan.name, step); });
    if (gave_up)
      throw ChannelError(
          fmt::format("channel '{}': consumer component '{}' did not take step {} within {:.0f} s; "
                      "it is stuck or gone (producer rank {}, or another producer rank)",
                      m_plan.name, m_plan.peer, step, m_plan.settings.peer_timeout, m_plan.my_rank));
    m_stats.put_blocked_s += seconds_now() - t0;
  }

  // Returns the buffers of completed sends to the pool.
  void reap() {
    while (!m_inflight.empty()) {
      auto& f = m_inflight.front();
      int done = 0;
      check_lazy(MPI_Testall(static_cast<int>(f.requests.size()), f.requests.data(), &done, MPI_STATUSES_IGNORE),
                 [&] { return fmt::format("channel '{}': send completion", m_plan.name); });
      if (!done) break;
      for (auto& b : f.buffers) recycle(std::move(b));
      f.buffers.clear();
      f.requests.clear();
      if (m_spare.size() < 8) m_spare.push_back(std::move(f));
      m_inflight.pop_front();
    }
  }

  ChannelPlan m_plan;
  bool m_leader;
  bool m_closed = false;
  bool m_detached = false;
  std::vector<int> m_large_parts;  // consumer ranks whose part may go from the caller's view (kSplitBytes or more)
  bool m_consumer_bound = false;   // leader, policy block: see decide()
  int m_idle_misses = 0;           // leader: waits for the consumer given up on since a step went from the view
  int64_t m_idle_skip = 0;         // and idle put()s to go before the next try (see decide())
  double m_put_end = 0;            // leader: when the last put() of a step that may go from the view returned
  double m_put_took = 0;           // and how long it took
  double m_consumer_step = 0;      // leader: seconds per step the consumer took lately (0: not known)
  int64_t m_seen_consumed = 0;     // the count of finished steps at m_seen_time
  double m_seen_time = 0;
  std::deque<Queued> m_pending;
  std::deque<InFlight> m_inflight;
  std::vector<InFlight> m_spare;      // emptied InFlights, reused for their capacity
  std::vector<std::size_t> m_offset;  // per consumer rank: its message's place in a step's buffer, or kNoPart
  std::size_t m_step_buffer = 0;      // bytes of a step's buffer
  std::vector<BufferPtr> m_free;      // step buffers whose sends completed
  int64_t m_sent = 0;                 // steps handed to MPI (the same on every producer rank)
  int64_t m_consumed = 0;             // leader: steps every consumer rank has acknowledged
  std::vector<int64_t> m_acked;
  std::vector<AckMessage> m_ack_in;
  std::vector<MPI_Request> m_ack_requests;
  ChannelStats m_stats;
};

class MpiConsumer final : public Engine {
 public:
  explicit MpiConsumer(const ChannelPlan& plan) : m_plan(plan) {
    for (int p = 0; p < plan.remote_size; ++p)
      if (!plan.parts[static_cast<std::size_t>(p)].empty()) m_sources.push_back(p);
    if (m_sources.empty()) m_sources.push_back(0);  // header-only messages from the producer's rank 0
    // Where a large part is one contiguous run of my box, its payload (a
    // message of its own) lands straight in the frame, not to be unpacked.
    // A single part holding all my box needs no frame: its buffer is one.
    const bool whole = m_sources.size() == 1 && plan.parts[static_cast<std::size_t>(m_sources[0])] == plan.my_box;
    for (int p : m_sources) {
      const Box& part = plan.parts[static_cast<std::size_t>(p)];
      const int64_t at = contiguous_offset(plan.my_box, part);
      const bool in_place = !whole && !plan.header_only_me && at >= 0 &&
                            static_cast<std::size_t>(part.volume()) * plan.element_size >= kSplitBytes;
      m_frame_offset.push_back(in_place ? static_cast<std::size_t>(at) * plan.element_size : kNotInPlace);
      m_headers.push_back(in_place ? std::make_shared<Buffer>(sizeof(WireHeader)) : nullptr);
    }
    prefetch();
  }

  ~MpiConsumer() override {
    bool open = false;
    for (auto& r : m_requests)
      if (r != MPI_REQUEST_NULL) {
        MPI_Cancel(&r);
        int done = 0;
        MPI_Test(&r, &done, MPI_STATUS_IGNORE);
        if (!done) {
          MPI_Request_free(&r);
          open = true;
        }
      }
    // A receive already under way cannot be withdrawn, and MPI may still
    // write into its buffer: keep the buffers until the process ends.
    if (open) {
      auto& kept = orphaned_memory();
      kept.insert(kept.end(), m_buffers.begin(), m_buffers.end());
      if (m_frame) kept.push_back(m_frame);
    }
    for (auto& r : m_ack_requests)
      if (r != MPI_REQUEST_NULL) MPI_Request_free(&r);
  }

  void put(int64_t, double, const std::string&, const ChannelCore::PackFn&) override {
    throw ChannelError(fmt::format("channel '{}': put() on the consuming side", m_plan.name));
  }

  std::optional<Incoming> get() override {
    if (m_ended) return std::nullopt;
    acknowledge_frames();   // the frames returned so far are finished with
    if (!step_arrived()) {  // the clock only when there is a wait to time
      const double t0 = seconds_now();
      wait_for_step(t0);
      m_stats.get_blocked_s += seconds_now() - t0;
    }

    Incoming in;
    bool end = false, data = false, ack_now = false;
    for (std::size_t i = 0; i < m_sources.size(); ++i) {
      WireHeader h;
      std::memcpy(&h, m_buffers[i]->data(), sizeof h);
      if (h.magic != kWireMagic)
        throw ChannelError(
            fmt::format("channel '{}': malformed message from producer rank {}", m_plan.name, m_sources[i]));
      if (h.flags & kFlagEnd) {
        end = true;
        continue;
      }
      if (data && h.step != in.step)
        throw ChannelError(
            fmt::format("channel '{}': producer ranks disagree on the step ({} and {})", m_plan.name, in.step, h.step));
      data = true;
      in.step = h.step;
      in.time = h.time;
      if ((h.flags & kFlagAttributes) && in.attributes.empty()) in.attributes = receive_attributes(h.attributes_bytes);
      ack_now = ack_now || (h.flags & kFlagAckOnReceipt);
      if (!m_plan.header_only_me) {
        if (m_frame_offset[i] == kNotInPlace)
          in.parts.emplace_back(m_sources[i], m_buffers[i]);
        else
          m_stats.bytes_in_place += h.payload_bytes;
        m_stats.bytes_received += h.payload_bytes;
      }
    }
    if (end) {
      if (data)
        throw ChannelError(
            fmt::format("channel '{}': some producer ranks ended the stream and others sent a step", m_plan.name));
      m_ended = true;
      return std::nullopt;
    }
    in.frame = std::move(m_frame);
    ++m_received;
    ++m_stats.steps_received;
    if (ack_now) acknowledge_frames();  // a byte budget of fewer than 3 steps: see ChannelPlan::ack_on_receipt
    prefetch();
    return in;
  }

  void close() override {
    if (m_closed) return;
    m_closed = true;
    if (m_ended) return;
    // Tell the producer nobody listens any more, then take what it still sends
    // until its end of stream, so that none of its sends is left hanging.
    acknowledge(kDetached);
    while (get()) {
    }
    finish_acks();
  }

  ChannelStats stats() const override { return m_stats; }

 private:
  int tag(int kind) const { return m_plan.tag_base + kind; }

  // Posts the receives of the next step, into [header | payload] buffers;
  // large payloads come as a message of their own (see kSplitBytes), into
  // the frame where they are one run of it.
  void prefetch() {
    m_buffers.clear();
    m_requests.clear();
    m_request_source.clear();
    m_request_buffer.clear();
    m_request_payload.clear();
    m_frame.reset();
    for (std::size_t i = 0; i < m_sources.size(); ++i) {
      const int p = m_sources[i];
      const auto payload =
          m_plan.header_only_me
              ? 0
              : static_cast<std::size_t>(m_plan.parts[static_cast<std::size_t>(p)].volume()) * m_plan.element_size;
      const bool in_place = m_frame_offset[i] != kNotInPlace;
      if (in_place && !m_frame)
        m_frame = m_frames.take(static_cast<std::size_t>(m_plan.my_box.volume()) * m_plan.element_size);
      m_buffers.push_back(in_place ? m_headers[i] : m_pool.take(sizeof(WireHeader) + payload));
      std::byte* data = m_buffers.back()->data();
      const auto what = [&] { return fmt::format("channel '{}': post receive from producer rank {}", m_plan.name, p); };
      auto post = [&](std::byte* at, std::size_t bytes, bool payload_only) {
        m_requests.push_back(MPI_REQUEST_NULL);
        m_request_source.push_back(p);
        m_request_buffer.push_back(at);
        m_request_payload.push_back(payload_only ? 1 : 0);
        check_lazy(MPI_Irecv(at, static_cast<int>(bytes), MPI_BYTE, p, tag(kTagData), m_plan.inter, &m_requests.back()),
                   what);
      };
      if (in_place) {
        post(data, sizeof(WireHeader), false);
        post(m_frame->data() + m_frame_offset[i], payload, true);
      } else if (payload >= kSplitBytes) {
        post(data, sizeof(WireHeader), false);
        post(data + sizeof(WireHeader), payload, true);
      } else {
        post(data, sizeof(WireHeader) + payload, false);
      }
    }
  }

  // Tests the posted receives one by one (MPI_Testall leaves them all open
  // until all are done: a finished header may be an end of stream with no
  // payload behind it). True when all are complete.
  bool step_arrived() {
    bool open = false;
    for (auto& r : m_requests) {
      if (r == MPI_REQUEST_NULL) continue;
      int done = 0;
      check_lazy(MPI_Test(&r, &done, MPI_STATUS_IGNORE),
                 [&] { return fmt::format("channel '{}': receive", m_plan.name); });
      open = open || !done;
    }
    if (open) cancel_payloads_after_end();
    return !open;
  }

  void wait_for_step(double start) {
    Deadline deadline(start, m_plan.settings.peer_timeout);
    Backoff backoff;
    while (!step_arrived()) {
      if (deadline.passed()) {
        std::vector<std::string> missing;
        for (std::size_t i = 0; i < m_requests.size(); ++i)
          if (m_requests[i] != MPI_REQUEST_NULL &&
              std::find(missing.begin(), missing.end(), std::to_string(m_request_source[i])) == missing.end())
            missing.push_back(std::to_string(m_request_source[i]));
        std::string list;
        for (const auto& m : missing) list += (list.empty() ? "" : ", ") + m;
        throw ChannelError(fmt::format(
            "channel '{}': no step from producer component '{}' (rank(s) {}) for {:.0f} s; it is stuck or gone "
            "(consumer rank {}). Raise peer_timeout if the producer is just slow",
            m_plan.name, m_plan.peer, list, m_plan.settings.peer_timeout, m_plan.my_rank));
      }
      backoff.pause();
    }
  }

  // An end of stream is a header alone: where a separate payload receive was
  // posted behind a header that turned out to be the end, withdraw it.
  void cancel_payloads_after_end() {
    for (std::size_t i = 0; i + 1 < m_requests.size(); ++i) {
      if (m_requests[i] != MPI_REQUEST_NULL || m_request_payload[i + 1] == 0 || m_requests[i + 1] == MPI_REQUEST_NULL)
        continue;  // header still open, or the next receive is not this header's payload, or it is done
      WireHeader h;
      std::memcpy(&h, m_request_buffer[i], sizeof h);
      if (!(h.flags & kFlagEnd)) continue;
      MPI_Cancel(&m_requests[i + 1]);
      MPI_Wait(&m_requests[i + 1], MPI_STATUS_IGNORE);
    }
  }

  std::string receive_attributes(uint32_t bytes) {
    std::string a(bytes, '\0');
    MPI_Request r = MPI_REQUEST_NULL;
    check_lazy(MPI_Irecv(a.data(), static_cast<int>(bytes), MPI_BYTE, 0, tag(kTagAttributes), m_plan.inter, &r),
               [&] { return fmt::format("channel '{}': attributes", m_plan.name); });
    Deadline deadline(m_plan.settings.peer_timeout);
    int done = 0;
    Backoff backoff;
    while (!done) {
      check_lazy(MPI_Test(&r, &done, MPI_STATUS_IGNORE),
                 [&] { return fmt::format("channel '{}': attributes", m_plan.name); });
      if (!done) backoff.pause();
      if (!done && deadline.passed()) {
        MPI_Cancel(&r);
        MPI_Request_free(&r);
        throw ChannelError(
            fmt::format("channel '{}': the attributes of a step never came from producer rank 0", m_plan.name));
      }
    }
    return a;
  }

  // The count of frames returned, if not sent yet and still listening.
  void acknowledge_frames() {
    if (m_received <= m_acked_sent || m_closed) return;
    acknowledge(m_received);
    m_acked_sent = m_received;
  }

  // Consumed-step count (or kDetached) to the producer's rank 0.
  void acknowledge(int64_t value) {
    finish_acks(false);
    m_ack_values.push_back(AckMessage{m_plan.ack_token, value});
    m_ack_requests.push_back(MPI_REQUEST_NULL);
    check_lazy(MPI_Isend(&m_ack_values.back(), 2, MPI_INT64_T, 0, tag(kTagAck), m_plan.inter, &m_ack_requests.back()),
               [&] { return fmt::format("channel '{}': acknowledge", m_plan.name); });
  }

  // Drops completed ack sends; with `wait`, waits for all (bounded).
  void finish_acks(bool wait = true) {
    Deadline deadline(m_plan.settings.peer_timeout);
    Backoff backoff;
    while (!m_ack_requests.empty()) {
      int done = 0;
      check_lazy(MPI_Test(&m_ack_requests.front(), &done, MPI_STATUS_IGNORE),
                 [&] { return fmt::format("channel '{}': acknowledge", m_plan.name); });
      if (done) {
        m_ack_requests.pop_front();
        m_ack_values.pop_front();
        continue;
      }
      if (!wait || deadline.passed()) break;
      backoff.pause();
    }
  }

  static constexpr std::size_t kNotInPlace = ~std::size_t{0};

  ChannelPlan m_plan;
  std::vector<int> m_sources;
  std::vector<std::size_t> m_frame_offset;  // per source: where its payload lands in the frame, or kNotInPlace
  std::vector<BufferPtr> m_headers;         // per source received in place: its header's buffer
  std::vector<BufferPtr> m_buffers;         // per source: [header | payload], or the header alone
  BufferPool m_pool{8};                     // receive buffers
  BufferPool m_frames{4};                   // frames parts land in
  BufferPtr m_frame;                        // the frame of the step being received (see m_frame_offset)
  std::vector<MPI_Request> m_requests;
  std::vector<int> m_request_source;         // producer rank of each posted receive
  std::vector<std::byte*> m_request_buffer;  // where it lands
  std::vector<char> m_request_payload;       // 1: a payload posted on its own behind the previous (header) receive
  std::deque<AckMessage> m_ack_values;       // a deque: sends in flight keep their addresses
  std::deque<MPI_Request> m_ack_requests;
  int64_t m_received = 0;
  int64_t m_acked_sent = 0;  // the last count acknowledged
  bool m_ended = false;
  bool m_closed = false;
  ChannelStats m_stats;
};

}  // namespace

std::unique_ptr<Engine> make_mpi_engine(const ChannelPlan& plan) {
  if (plan.producer) return std::make_unique<MpiProducer>(plan);
  return std::make_unique<MpiConsumer>(plan);
}

}  // namespace msa::detail

// The null engine: put() packs the step as the mpi engine would and then
// discards it; get() reports the end of the stream at once. It needs no peer,
// and measures what msa itself costs around the transport.
#include <fmt/format.h>

#include "engine.hpp"

namespace msa::detail {

namespace {

class NullEngine final : public Engine {
 public:
  explicit NullEngine(const ChannelPlan& plan) : m_plan(plan) {}

  void put(int64_t, double, const std::string&, const ChannelCore::PackFn& pack) override {
    ++m_stats.steps_put;
    for (int c = 0; c < m_plan.remote_size; ++c) {
      const auto bytes =
          static_cast<std::size_t>(m_plan.parts[static_cast<std::size_t>(c)].volume()) * m_plan.element_size;
      if (!bytes) continue;
      if (m_scratch.size() < bytes) m_scratch = std::vector<std::byte>(bytes);
      pack(c, m_scratch.data());
      m_stats.bytes_sent += static_cast<int64_t>(bytes);
    }
    ++m_stats.steps_sent;
  }
  std::optional<Incoming> get() override { return std::nullopt; }
  void close() override {}
  ChannelStats stats() const override { return m_stats; }

 private:
  ChannelPlan m_plan;
  std::vector<std::byte> m_scratch;
  ChannelStats m_stats;
};

}  // namespace

std::unique_ptr<Engine> make_null_engine(const ChannelPlan& plan) { return std::make_unique<NullEngine>(plan); }

}  // namespace msa::detail

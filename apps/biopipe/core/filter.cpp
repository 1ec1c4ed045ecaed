// Quality trimming and filtering of reads.
#include "filter.hpp"

#include <algorithm>

namespace biopipe {

std::vector<Record> filter_reads(const std::vector<Record>& reads, const FilterConfig& config, FilterStats& stats) {
  std::vector<Record> out;
  out.reserve(reads.size());
  FilterStats local;
  for (const auto& r : reads) {
    ++local.reads_in;
    local.bases_in += static_cast<std::int64_t>(r.sequence.size());
    std::size_t keep = r.sequence.size();
    const bool has_quality = !r.quality.empty();
    if (has_quality && config.trim_quality > 0)
      while (keep > 0 && r.quality[keep - 1] - 33 < config.trim_quality) --keep;
    if (keep < static_cast<std::size_t>(std::max(config.min_length, 0))) continue;
    if (has_quality) {
      std::int64_t sum = 0;
      for (std::size_t i = 0; i < keep; ++i) sum += r.quality[i] - 33;
      // An empty read has no mean; it passes only when min_length allows it and no quality is required.
      const double mean = keep > 0 ? static_cast<double>(sum) / static_cast<double>(keep) : 0.0;
      if (mean < config.min_mean_quality) continue;
    }
    ++local.reads_out;
    local.bases_out += static_cast<std::int64_t>(keep);
    if (keep == r.sequence.size())
      out.push_back(r);
    else
      out.push_back(Record{r.name, r.sequence.substr(0, keep), r.quality.substr(0, keep)});
  }
  stats += local;
  return out;
}

}  // namespace biopipe

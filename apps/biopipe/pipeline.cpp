#include "pipeline.hpp"

#include <toml++/toml.h>

#include <algorithm>
#include <fstream>
#include <map>
#include <sstream>

#include "msa/error.hpp"

namespace biopipe {

namespace {

class Checker {
 public:
  explicit Checker(std::string source) : m_source(std::move(source)) {}

  std::string where(const toml::source_region& r) const {
    return m_source + ":" + std::to_string(r.begin.line) + ":" + std::to_string(r.begin.column);
  }
  [[noreturn]] void fail(const toml::node& node, const std::string& what) const {
    throw msa::ConfigError(where(node.source()) + ": " + what);
  }

  void only(const toml::table& table, const std::vector<std::string>& allowed, const std::string& context) const {
    for (const auto& [key, node] : table) {
      if (std::find(allowed.begin(), allowed.end(), std::string(key.str())) != allowed.end()) continue;
      std::string list;
      for (const auto& a : allowed) list += (list.empty() ? "" : ", ") + a;
      throw msa::ConfigError(where(key.source()) + ": unknown key '" + std::string(key.str()) + "' in " + context +
                             " (known: " + list + ")");
    }
  }

  const toml::table* table(const toml::table& root, const char* key) const {
    const toml::node* node = root.get(key);
    if (!node) return nullptr;
    if (!node->is_table()) fail(*node, "[" + std::string(key) + "] must be a table");
    return node->as_table();
  }

  std::string string(const toml::table& t, const char* key, const std::string& context, std::string fallback) const {
    const toml::node* node = t.get(key);
    if (!node) return fallback;
    const auto value = node->value<std::string>();
    if (!value || !node->is_string()) fail(*node, context + "." + key + " must be a string");
    if (value->empty()) fail(*node, context + "." + key + " must not be empty");
    return *value;
  }

  std::int64_t integer(const toml::table& t, const char* key, const std::string& context, std::int64_t fallback,
                       std::int64_t minimum, std::int64_t maximum) const {
    const toml::node* node = t.get(key);
    if (!node) return fallback;
    if (!node->is_integer()) fail(*node, context + "." + key + " must be an integer");
    const auto v = *node->value<std::int64_t>();
    if (v < minimum || v > maximum)
      fail(*node, context + "." + key + " = " + std::to_string(v) + " is out of range [" + std::to_string(minimum) +
                      ", " + std::to_string(maximum) + "]");
    return v;
  }

  double number(const toml::table& t, const char* key, const std::string& context, double fallback, double minimum,
                double maximum) const {
    const toml::node* node = t.get(key);
    if (!node) return fallback;
    if (!node->is_number()) fail(*node, context + "." + key + " must be a number");
    const auto v = *node->value<double>();
    if (!(v >= minimum && v <= maximum)) {
      std::ostringstream out;
      out << context << "." << key << " = " << v << " is out of range [" << minimum << ", " << maximum << "]";
      fail(*node, out.str());
    }
    return v;
  }

 private:
  std::string m_source;
};

}  // namespace

Pipeline parse_pipeline(const std::string& text, const std::string& source) {
  Checker check(source);
  toml::table root;
  try {
    root = toml::parse(text, source);
  } catch (const toml::parse_error& e) {
    throw msa::ConfigError(check.where(e.source()) + ": malformed TOML: " + std::string(e.description()));
  }
  check.only(root, {"name", "input", "synthetic", "filter", "kmers", "align", "output"}, "the pipeline file");
  Pipeline p;
  p.source = source;
  p.name = check.string(root, "name", "pipeline", p.name);

  const toml::table* input = check.table(root, "input");
  if (!input) throw msa::ConfigError(source + ": no [input] table (reference = ..., reads = [...])");
  check.only(*input, {"reference", "reads", "chunk_reads"}, "[input]");
  p.reference = check.string(*input, "reference", "input", "");
  if (p.reference.empty())
    throw msa::ConfigError(check.where(input->source()) + ": [input] needs reference = \"<FASTA file>\"");
  if (const toml::node* reads = input->get("reads")) {
    if (reads->is_string()) {
      p.reads.push_back(*reads->value<std::string>());
    } else if (const toml::array* list = reads->as_array()) {
      for (const auto& item : *list) {
        if (!item.is_string() || item.value<std::string>()->empty())
          check.fail(item, "input.reads must list file names (strings)");
        p.reads.push_back(*item.value<std::string>());
      }
    } else {
      check.fail(*reads, "input.reads must be a file name or a list of them");
    }
  }
  if (p.reads.empty())
    throw msa::ConfigError(check.where(input->source()) + ": [input] needs reads = [\"<FASTQ or FASTA file>\", ...]");
  p.chunk_reads = check.integer(*input, "chunk_reads", "input", p.chunk_reads, 1, 100000000);

  if (const toml::table* s = check.table(root, "synthetic")) {
    check.only(*s,
               {"seed", "contigs", "contig_length", "reads", "read_length", "substitution_rate", "indel_rate",
                "random_read_fraction", "low_quality_fraction"},
               "[synthetic]");
    GeneratorConfig g;
    g.seed = static_cast<std::uint64_t>(check.integer(*s, "seed", "synthetic", static_cast<std::int64_t>(g.seed), 0,
                                                      std::numeric_limits<std::int64_t>::max()));
    g.contigs = static_cast<int>(check.integer(*s, "contigs", "synthetic", g.contigs, 1, 10000));
    g.contig_length = check.integer(*s, "contig_length", "synthetic", g.contig_length, 1, 1000000000);
    g.reads = check.integer(*s, "reads", "synthetic", g.reads, 0, 1000000000);
    g.read_length = static_cast<int>(check.integer(*s, "read_length", "synthetic", g.read_length, 1, 100000));
    g.substitution_rate = check.number(*s, "substitution_rate", "synthetic", g.substitution_rate, 0, 1);
    g.indel_rate = check.number(*s, "indel_rate", "synthetic", g.indel_rate, 0, 1);
    g.random_read_fraction = check.number(*s, "random_read_fraction", "synthetic", g.random_read_fraction, 0, 1);
    g.low_quality_fraction = check.number(*s, "low_quality_fraction", "synthetic", g.low_quality_fraction, 0, 1);
    p.synthetic = g;
  }
  if (const toml::table* f = check.table(root, "filter")) {
    check.only(*f, {"min_length", "min_mean_quality", "trim_quality"}, "[filter]");
    p.filter.min_length = static_cast<int>(check.integer(*f, "min_length", "filter", p.filter.min_length, 0, 1000000));
    p.filter.min_mean_quality = check.number(*f, "min_mean_quality", "filter", p.filter.min_mean_quality, 0, 93);
    p.filter.trim_quality = static_cast<int>(check.integer(*f, "trim_quality", "filter", p.filter.trim_quality, 0, 93));
  }
  if (const toml::table* k = check.table(root, "kmers")) {
    check.only(*k, {"k", "max_multiplicity"}, "[kmers]");
    p.kmer_k = static_cast<int>(check.integer(*k, "k", "kmers", p.kmer_k, 1, 31));
    p.max_multiplicity =
        static_cast<int>(check.integer(*k, "max_multiplicity", "kmers", p.max_multiplicity, 1, 1000000));
  }
  if (const toml::table* a = check.table(root, "align")) {
    check.only(*a,
               {"window", "overlap", "seed_k", "seed_stride", "max_candidates", "min_seed_hits", "match", "mismatch",
                "n_score", "gap_open", "gap_extend", "min_score", "histogram_bin"},
               "[align]");
    AlignConfig& c = p.align;
    c.window = check.integer(*a, "window", "align", c.window, 16, 100000000);
    c.overlap = check.integer(*a, "overlap", "align", c.overlap, 0, c.window - 1);
    c.seed_k = static_cast<int>(check.integer(*a, "seed_k", "align", c.seed_k, 4, 31));
    c.seed_stride = static_cast<int>(check.integer(*a, "seed_stride", "align", c.seed_stride, 1, 1000));
    c.max_candidates = static_cast<int>(check.integer(*a, "max_candidates", "align", c.max_candidates, 1, 1000));
    c.min_seed_hits = static_cast<int>(check.integer(*a, "min_seed_hits", "align", c.min_seed_hits, 1, 100000));
    c.scoring.match = static_cast<int>(check.integer(*a, "match", "align", c.scoring.match, 1, 100));
    c.scoring.mismatch = static_cast<int>(check.integer(*a, "mismatch", "align", c.scoring.mismatch, -100, 0));
    c.scoring.n_score = static_cast<int>(check.integer(*a, "n_score", "align", c.scoring.n_score, -100, 0));
    c.scoring.gap_open = static_cast<int>(check.integer(*a, "gap_open", "align", c.scoring.gap_open, 1, 100));
    c.scoring.gap_extend = static_cast<int>(check.integer(*a, "gap_extend", "align", c.scoring.gap_extend, 1, 100));
    c.min_score = static_cast<int>(check.integer(*a, "min_score", "align", c.min_score, 1, 1000000));
    c.histogram_bin = static_cast<int>(check.integer(*a, "histogram_bin", "align", c.histogram_bin, 1, 1000000));
  }
  if (const toml::table* o = check.table(root, "output")) {
    check.only(*o, {"dir"}, "[output]");
    p.output_dir = check.string(*o, "dir", "output", p.output_dir);
  }
  return p;
}

Pipeline load_pipeline(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw msa::ConfigError("pipeline file '" + path + "': cannot be read (no such file, or no permission)");
  std::ostringstream text;
  text << in.rdbuf();
  return parse_pipeline(text.str(), path);
}

}  // namespace biopipe

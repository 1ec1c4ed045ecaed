// biopipe: a sequencing pipeline whose stages are msa tasks, placed on the
// booster or the cluster by the scheduler and resumable from its journal.
//
//   biopipe generate --out-dir data [--reads 20000 ...]   synthetic reference + reads
//   biopipe run pipeline.toml [--journal DIR] [--history FILE]
//
// Stages (task kinds): load_reference, load_reads (per file), filter and
// kmer_count (per chunk of reads; CPU work), align (per chunk: seeds on the
// host, Smith-Waterman as a Kokkos kernel on gh200 modules, a host loop
// elsewhere), kmer_merge and summarize / summary_merge (reduction trees),
// spectrum. Outputs: <out>/biopipe.h5 and <out>/summary.txt.
#include <CLI/CLI.hpp>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <msa/io/store.hpp>
#include <msa/msa.hpp>
#include <mutex>
#include <sstream>

#include "core.hpp"
#include "pipeline.hpp"

namespace {

using msa::Bytes;
namespace fs = std::filesystem;

int g_rank = 0;  // for printing an error once when every rank has it

// ---- buffers made of several parts (a task has one output)

Bytes pack(const std::vector<const Bytes*>& parts) {
  std::size_t total = 4;
  for (const Bytes* p : parts) total += 8 + p->size();
  Bytes out;
  out.reserve(total);
  auto put = [&](const void* data, std::size_t n) {
    const auto* b = static_cast<const std::uint8_t*>(data);
    out.insert(out.end(), b, b + n);
  };
  const auto count = static_cast<std::uint32_t>(parts.size());
  put(&count, 4);
  for (const Bytes* p : parts) {
    const std::uint64_t n = p->size();
    put(&n, 8);
    put(p->data(), p->size());
  }
  return out;
}

struct Part {
  const std::uint8_t* data;
  std::size_t size;
};

std::vector<Part> unpack(const Bytes& bytes, std::size_t expected, const std::string& what) {
  auto corrupt = [&] {
    return msa::ConfigError("corrupt " + what + " buffer (" + std::to_string(bytes.size()) + " bytes)");
  };
  if (bytes.size() < 4) throw corrupt();
  std::uint32_t count = 0;
  std::memcpy(&count, bytes.data(), 4);
  if (count != expected) throw corrupt();
  std::vector<Part> parts;
  std::size_t at = 4;
  for (std::uint32_t i = 0; i < count; ++i) {
    if (at + 8 > bytes.size()) throw corrupt();
    std::uint64_t n = 0;
    std::memcpy(&n, bytes.data() + at, 8);
    at += 8;
    if (n > bytes.size() - at) throw corrupt();
    parts.push_back({bytes.data() + at, static_cast<std::size_t>(n)});
    at += n;
  }
  if (at != bytes.size()) throw corrupt();
  return parts;
}

// Reads whose true origin the generator wrote in their name, and how many of
// them the aligner put there.
struct Truth {
  std::int64_t labelled = 0, correct = 0;
};

Bytes truth_bytes(const Truth& t) {
  Bytes b(16);
  std::memcpy(b.data(), &t.labelled, 8);
  std::memcpy(b.data() + 8, &t.correct, 8);
  return b;
}
Truth truth_of(const Part& p) {
  if (p.size != 16) throw msa::ConfigError("corrupt truth buffer");
  Truth t;
  std::memcpy(&t.labelled, p.data, 8);
  std::memcpy(&t.correct, p.data + 8, 8);
  return t;
}

// What the aggregation tasks carry: filter counts, the truth check and the
// summary, as three parts (stats, truth, third part: hits or summary).
struct Tally {
  biopipe::FilterStats stats;
  Truth truth;
  biopipe::Summary summary;

  /// Adds the counts of an input of three parts; returns the parts.
  std::vector<Part> add_counts(const Bytes& input, const std::string& what) {
    auto parts = unpack(input, 3, what);
    stats += biopipe::decode<biopipe::FilterStats>(parts[0].data, parts[0].size);
    const Truth t = truth_of(parts[1]);
    truth.labelled += t.labelled;
    truth.correct += t.correct;
    return parts;
  }
  Bytes bytes() const {
    const Bytes s = biopipe::to_bytes(stats), t = truth_bytes(truth), u = biopipe::to_bytes(summary);
    return pack({&s, &t, &u});
  }
};

/// FNV-1a of the bytes: the cache key of a reference, the results digest.
std::uint64_t digest(const Bytes& a, std::uint64_t h = 1469598103934665603ull) {
  for (auto b : a) h = (h ^ b) * 1099511628211ull;
  return h;
}

// ---- the reference's windows and seed index, built once per process

struct ReferenceIndex {
  std::vector<biopipe::Record> reference;
  std::vector<biopipe::Window> windows;
  std::unique_ptr<biopipe::SeedIndex> seeds;
};

std::shared_ptr<const ReferenceIndex> reference_index(const Bytes& reference, const biopipe::AlignConfig& c) {
  static std::mutex mutex;
  static std::map<std::string, std::shared_ptr<const ReferenceIndex>> cache;
  const std::string key = std::to_string(digest(reference)) + "/" + std::to_string(reference.size()) + "/" +
                          std::to_string(c.window) + "/" + std::to_string(c.overlap) + "/" + std::to_string(c.seed_k) +
                          "/" + std::to_string(c.seed_stride);
  std::lock_guard<std::mutex> lock(mutex);
  auto& slot = cache[key];
  if (!slot) {
    auto index = std::make_shared<ReferenceIndex>();
    index->reference = biopipe::decode<std::vector<biopipe::Record>>(reference);
    index->windows = biopipe::make_windows(index->reference, c.window, c.overlap);
    index->seeds = std::make_unique<biopipe::SeedIndex>(index->windows, c.seed_k, c.seed_stride);
    slot = index;
  }
  return slot;
}

// "read12 contig=1 pos=3456" -> (1, 3456); else (-1, -1).
std::pair<int, std::int64_t> true_origin(const std::string& name) {
  const auto c = name.find(" contig=");
  const auto p = name.find(" pos=");
  if (c == std::string::npos || p == std::string::npos) return {-1, -1};
  try {
    return {std::stoi(name.substr(c + 8)), std::stoll(name.substr(p + 5))};
  } catch (const std::exception&) {
    return {-1, -1};
  }
}

std::int64_t fault_kill_after() {
  const char* v = std::getenv("MSA_BIOPIPE_KILL_AFTER");
  return v && *v ? std::atoll(v) : -1;
}

// ---- task kinds

void define_kinds(msa::Scheduler& scheduler, const biopipe::Pipeline& p, int world_rank) {
  using biopipe::Record;
  scheduler.kind("load_reference").variant("host", [](msa::TaskContext& t) {
    t.set_output(biopipe::to_bytes(biopipe::read_sequences(t.param("path"))));
  });
  scheduler.kind("load_reads").variant("host", [](msa::TaskContext& t) {
    t.set_output(biopipe::to_bytes(biopipe::read_sequences(t.param("path"))));
  });
  msa::WorkModel streaming;  // a few passes over the bytes
  streaming.memory_bytes_per_byte = 8;
  scheduler.kind("filter")
      .variant("host",
               [config = p.filter](msa::TaskContext& t) {
                 const auto all = biopipe::decode<std::vector<Record>>(t.input(0));
                 const auto first = static_cast<std::size_t>(t.param_int("first"));
                 const auto count = static_cast<std::size_t>(t.param_int("count"));
                 if (first + count > all.size())
                   throw msa::ConfigError("reads " + std::to_string(first) + "+" + std::to_string(count) +
                                          " asked of a file with " + std::to_string(all.size()));
                 const std::vector<Record> chunk(all.begin() + static_cast<std::ptrdiff_t>(first),
                                                 all.begin() + static_cast<std::ptrdiff_t>(first + count));
                 biopipe::FilterStats stats;
                 const auto kept = biopipe::filter_reads(chunk, config, stats);
                 const Bytes s = biopipe::to_bytes(stats), r = biopipe::to_bytes(kept);
                 t.set_output(pack({&s, &r}));
               })
      .work(streaming);
  msa::WorkModel hashing;
  hashing.flops_per_byte = 200;
  scheduler.kind("kmer_count")
      .variant("host",
               [k = p.kmer_k](msa::TaskContext& t) {
                 const auto parts = unpack(t.input(0), 2, "filtered reads");
                 const auto reads = biopipe::decode<std::vector<Record>>(parts[1].data, parts[1].size);
                 t.set_output(biopipe::to_bytes(biopipe::count_kmers(reads, k)));
               })
      .work(hashing);
  scheduler.kind("kmer_merge").variant("host", [](msa::TaskContext& t) {
    biopipe::KmerCounts total;
    for (std::size_t i = 0; i < t.input_count(); ++i)
      total = biopipe::merge(total, biopipe::decode<biopipe::KmerCounts>(t.input(i)));
    t.set_output(biopipe::to_bytes(total));
  });
  scheduler.kind("spectrum").variant("host", [max = p.max_multiplicity](msa::TaskContext& t) {
    const auto s = biopipe::spectrum(biopipe::decode<biopipe::KmerCounts>(t.input(0)), max);
    Bytes out(s.size() * sizeof(std::uint64_t));
    if (!out.empty()) std::memcpy(out.data(), s.data(), out.size());
    t.set_output(std::move(out));
  });

  // Alignment: seeds on the host, then all (read, candidate window) pairs in
  // one call: the Kokkos kernel on a GPU module, the host loop elsewhere.
  auto align_with = [config = p.align, world_rank](bool kernel) {
    return [config, kernel, world_rank](msa::TaskContext& t) {
      static std::int64_t done_here = 0;
      const auto kill_after = fault_kill_after();
      if (kill_after >= 0 && done_here >= kill_after) {
        std::fprintf(stderr, "biopipe: rank %d killed by MSA_BIOPIPE_KILL_AFTER=%lld (fault injection)\n", world_rank,
                     static_cast<long long>(kill_after));
        std::fflush(stderr);
        std::raise(SIGKILL);
      }
      const auto index = reference_index(t.input(0), config);
      const auto parts = unpack(t.input(1), 2, "filtered reads");
      const auto reads = biopipe::decode<std::vector<Record>>(parts[1].data, parts[1].size);
      std::vector<biopipe::Pair> pairs;
      for (std::size_t r = 0; r < reads.size(); ++r)
        for (auto w : index->seeds->candidates(reads[r].sequence, config.max_candidates, config.min_seed_hits))
          pairs.emplace_back(static_cast<std::int32_t>(r), w);
      auto hits = kernel ? biopipe::align(reads, index->windows, pairs, config.scoring)
                         : biopipe::align_host(reads, index->windows, pairs, config.scoring);
      // Best hit per read (highest score, then lowest window), for the truth check.
      Truth truth;
      std::vector<const biopipe::Hit*> best(reads.size(), nullptr);
      for (const auto& h : hits) {
        auto& b = best[static_cast<std::size_t>(h.read)];
        if (!b || h.score > b->score || (h.score == b->score && h.window < b->window)) b = &h;
      }
      for (std::size_t r = 0; r < reads.size(); ++r) {
        const auto [contig, pos] = true_origin(reads[r].name);
        if (contig < 0) continue;
        ++truth.labelled;
        const biopipe::Hit* b = best[r];
        if (b && b->score >= config.min_score) {
          const auto& w = index->windows[static_cast<std::size_t>(b->window)];
          if (w.contig == contig && std::llabs(w.start + b->ref_begin - pos) <= 20) ++truth.correct;
        }
      }
      const auto base = static_cast<std::int32_t>(t.param_int("read_base"));
      for (auto& h : hits) h.read += base;
      const Bytes tb = truth_bytes(truth), hb = biopipe::to_bytes(hits);
      const Bytes stats(parts[0].data, parts[0].data + parts[0].size);
      t.set_output(pack({&stats, &tb, &hb}));
      ++done_here;
    };
  };
  msa::WorkModel dynamic_programming;  // cells per read byte x a few operations per cell
  dynamic_programming.flops_per_byte = 10.0 * static_cast<double>(p.align.max_candidates * p.align.window);
  scheduler.kind("align")
      .variant("gh200", align_with(true))
      .variant("host", align_with(false))
      .work(dynamic_programming);

  scheduler.kind("summarize").variant("host", [config = p.align](msa::TaskContext& t) {
    const auto index = reference_index(t.input(0), config);
    Tally tally;
    tally.summary = biopipe::make_summary(index->reference, config.histogram_bin, config.min_score);
    for (std::size_t i = 1; i < t.input_count(); ++i) {
      const auto parts = tally.add_counts(t.input(i), "alignment");
      biopipe::add_hits(tally.summary, biopipe::decode<std::vector<biopipe::Hit>>(parts[2].data, parts[2].size),
                        index->windows);
    }
    t.set_output(tally.bytes());
  });
  scheduler.kind("summary_merge").variant("host", [](msa::TaskContext& t) {
    Tally tally;
    for (std::size_t i = 0; i < t.input_count(); ++i) {
      const auto parts = tally.add_counts(t.input(i), "summary");
      tally.summary = biopipe::merge(tally.summary, biopipe::decode<biopipe::Summary>(parts[2].data, parts[2].size));
    }
    t.set_output(tally.bytes());
  });
}

// A tree of `kind` tasks over `items`, `fan_in` at a time; returns the root.
msa::TaskId reduce(msa::TaskGraph& g, const std::string& kind, const std::string& name, std::vector<msa::TaskId> items,
                   std::size_t fan_in) {
  int level = 0;
  while (items.size() > 1) {
    std::vector<msa::TaskId> next;
    for (std::size_t i = 0; i < items.size(); i += fan_in) {
      std::vector<msa::TaskId> group(items.begin() + static_cast<std::ptrdiff_t>(i),
                                     items.begin() + static_cast<std::ptrdiff_t>(std::min(items.size(), i + fan_in)));
      next.push_back(g.add(kind, name + "/" + std::to_string(level) + "/" + std::to_string(i / fan_in), group));
    }
    items = std::move(next);
    ++level;
  }
  return items.front();
}

struct Graph {
  msa::TaskGraph graph;
  msa::TaskId spectrum, summary;
  std::int64_t chunks = 0;
};

Graph build_graph(const biopipe::Pipeline& p, const std::vector<std::int64_t>& reads_per_file) {
  Graph out;
  auto& g = out.graph;
  const auto reference = g.add("load_reference", "reference", {}, {{"path", p.reference}},
                               static_cast<double>(fs::file_size(p.reference)));
  std::vector<msa::TaskId> kmers, aligned;
  std::int64_t read_base = 0;
  for (std::size_t f = 0; f < p.reads.size(); ++f) {
    const std::string file = std::to_string(f);
    const auto load =
        g.add("load_reads", "load/" + file, {}, {{"path", p.reads[f]}}, static_cast<double>(fs::file_size(p.reads[f])));
    for (std::int64_t first = 0; first < reads_per_file[f]; first += p.chunk_reads) {
      const std::int64_t count = std::min(p.chunk_reads, reads_per_file[f] - first);
      const std::string chunk = file + "/" + std::to_string(first / p.chunk_reads);
      const auto filtered = g.add("filter", "filter/" + chunk, {load},
                                  {{"first", std::to_string(first)}, {"count", std::to_string(count)}});
      kmers.push_back(g.add("kmer_count", "kmers/" + chunk, {filtered}));
      aligned.push_back(
          g.add("align", "align/" + chunk, {reference, filtered}, {{"read_base", std::to_string(read_base + first)}}));
      ++out.chunks;
    }
    read_base += reads_per_file[f];
  }
  if (kmers.empty()) throw msa::ConfigError(p.source + ": the input files hold no reads");
  out.spectrum = g.add("spectrum", "spectrum", {reduce(g, "kmer_merge", "kmer_merge", kmers, 4)});
  std::vector<msa::TaskId> summaries;
  for (std::size_t i = 0; i < aligned.size(); i += 4) {
    std::vector<msa::TaskId> in = {reference};
    for (std::size_t j = i; j < std::min(aligned.size(), i + 4); ++j) in.push_back(aligned[j]);
    summaries.push_back(g.add("summarize", "summarize/" + std::to_string(i / 4), in));
  }
  out.summary = reduce(g, "summary_merge", "summary_merge", summaries, 4);
  return out;
}

void write_outputs(const biopipe::Pipeline& p, const biopipe::Summary& summary, const biopipe::FilterStats& stats,
                   const Truth& truth, const std::vector<std::uint64_t>& spectrum,
                   const std::vector<biopipe::Record>& reference, const std::string& report, std::uint64_t hash,
                   const std::string& dir) {
  fs::create_directories(dir);
  const std::string h5 = (fs::path(dir) / "biopipe.h5").string();
  auto file = msa::io::File::create(h5);
  file.set_attribute("pipeline", p.source);
  file.set_attribute("reads_in", stats.reads_in);
  file.set_attribute("reads_passed_filter", stats.reads_out);
  file.set_attribute("bases_in", stats.bases_in);
  file.set_attribute("bases_passed_filter", stats.bases_out);
  auto put_i32 = [](msa::io::Group& where, const std::string& name, const std::vector<std::int32_t>& v) {
    auto ds = where.create_dataset<std::int32_t>(name, {static_cast<std::int64_t>(v.size())});
    ds.write_raw(v.data(), msa::DataType::int32, msa::Box::whole({static_cast<std::int64_t>(v.size())}));
    return ds;
  };
  auto put_i64 = [](msa::io::Group& where, const std::string& name, const std::vector<std::int64_t>& v) {
    auto ds = where.create_dataset<std::int64_t>(name, {static_cast<std::int64_t>(v.size())});
    ds.write_raw(v.data(), msa::DataType::int64, msa::Box::whole({static_cast<std::int64_t>(v.size())}));
    return ds;
  };
  auto hits = file.create_group("best_hits");
  std::vector<std::int32_t> read, contig, score;
  std::vector<std::int64_t> begin, end;
  for (std::size_t i = 0; i < summary.best.size(); ++i) {
    read.push_back(summary.best[i].read);
    score.push_back(summary.best[i].score);
    contig.push_back(summary.spans[i].contig);
    begin.push_back(summary.spans[i].begin);
    end.push_back(summary.spans[i].end);
  }
  put_i32(hits, "read", read);
  put_i32(hits, "contig", contig);
  put_i64(hits, "begin", begin).set_attribute("long_name", "first aligned reference base (0-based)");
  put_i64(hits, "end", end).set_attribute("long_name", "last aligned reference base (0-based, inclusive)");
  put_i32(hits, "score", score);
  auto hist = put_i64(file, "score_histogram", summary.score_histogram);
  hist.set_attribute("bin_width", static_cast<std::int64_t>(summary.bin));
  hist.set_attribute("min_score", static_cast<std::int64_t>(summary.min_score));
  auto coverage = file.create_group("coverage");
  for (std::size_t c = 0; c < summary.coverage.size(); ++c) {
    std::vector<std::int32_t> depth(summary.coverage[c].begin(), summary.coverage[c].end());
    const std::string name =
        c < reference.size() ? reference[c].name.substr(0, reference[c].name.find(' ')) : "contig" + std::to_string(c);
    put_i32(coverage, name.empty() ? "contig" + std::to_string(c) : name, depth);
  }
  std::vector<std::int64_t> spec(spectrum.begin(), spectrum.end());
  put_i64(file, "kmer_spectrum", spec).set_attribute("k", static_cast<std::int64_t>(p.kmer_k));

  std::ostringstream text;
  char line[256];
  text << "biopipe " << p.name << " (" << p.source << ")\n";
  std::snprintf(
      line, sizeof line, "reads: %lld in, %lld passed the filter (%.1f %%), %lld aligned with score >= %d\n",
      static_cast<long long>(stats.reads_in), static_cast<long long>(stats.reads_out),
      100.0 * static_cast<double>(stats.reads_out) / static_cast<double>(std::max<std::int64_t>(1, stats.reads_in)),
      static_cast<long long>(summary.best.size()), summary.min_score);
  text << line;
  if (truth.labelled > 0) {
    std::snprintf(line, sizeof line, "synthetic truth: %lld of %lld labelled reads placed at their origin (%.2f %%)\n",
                  static_cast<long long>(truth.correct), static_cast<long long>(truth.labelled),
                  100.0 * static_cast<double>(truth.correct) / static_cast<double>(truth.labelled));
    text << line;
  }
  double score_sum = 0;
  for (const auto& h : summary.best) score_sum += h.score;
  std::snprintf(line, sizeof line, "mean best score: %.1f\n",
                summary.best.empty() ? 0.0 : score_sum / static_cast<double>(summary.best.size()));
  text << line;
  for (std::size_t c = 0; c < summary.coverage.size(); ++c) {
    double sum = 0;
    std::int64_t covered = 0;
    for (auto d : summary.coverage[c]) {
      sum += d;
      covered += d > 0;
    }
    const double n = static_cast<double>(std::max<std::size_t>(1, summary.coverage[c].size()));
    std::snprintf(line, sizeof line, "coverage %-12s mean depth %6.2f, %5.1f %% of %zu bases covered\n",
                  c < reference.size() ? reference[c].name.substr(0, reference[c].name.find(' ')).c_str() : "?",
                  sum / n, 100.0 * static_cast<double>(covered) / n, summary.coverage[c].size());
    text << line;
  }
  std::size_t peak = 1;
  for (std::size_t m = 2; m + 1 < spectrum.size(); ++m)
    if (spectrum[m] > spectrum[peak]) peak = m;
  std::uint64_t distinct = 0;
  for (auto v : spectrum) distinct += v;
  std::snprintf(line, sizeof line, "k-mer spectrum (k=%d): %llu distinct k-mers, peak at multiplicity %zu\n", p.kmer_k,
                static_cast<unsigned long long>(distinct), peak);
  text << line;
  text << report;
  std::snprintf(line, sizeof line, "results digest: %016llx\n", static_cast<unsigned long long>(hash));
  text << line;
  std::ofstream out(fs::path(dir) / "summary.txt");
  out << text.str();
  if (!out) throw msa::IoError("cannot write " + (fs::path(dir) / "summary.txt").string());
  std::printf("%s", text.str().c_str());
  std::printf("outputs: %s and %s\n", h5.c_str(), (fs::path(dir) / "summary.txt").string().c_str());
}

int run(const std::string& pipeline_path, const std::string& out_override, const std::string& journal,
        const std::string& history, const std::string& policy) {
  msa::Session session;
  const int rank = session.world().rank();
  g_rank = rank;
  const int size = session.world().size();
  // Every rank reads the file (same text, same result); rank 0 checks and
  // prepares the inputs; everyone hears of any failure.
  std::string error;
  biopipe::Pipeline p;
  std::vector<std::int64_t> counts;
  try {
    p = biopipe::load_pipeline(pipeline_path);
    if (!out_override.empty()) p.output_dir = out_override;
  } catch (const std::exception& e) {
    error = e.what();
  }
  if (rank == 0 && error.empty()) {
    try {
      if (p.synthetic && (!fs::exists(p.reference) || p.reads.size() != 1 || !fs::exists(p.reads[0]))) {
        if (p.reads.size() != 1)
          throw msa::ConfigError(p.source + ": [synthetic] makes one reads file; [input] lists " +
                                 std::to_string(p.reads.size()));
        std::printf("biopipe: generating synthetic inputs %s and %s\n", p.reference.c_str(), p.reads[0].c_str());
        const auto data = biopipe::generate(*p.synthetic);
        for (const auto& path : {p.reference, p.reads[0]})
          if (fs::path(path).has_parent_path()) fs::create_directories(fs::path(path).parent_path());
        biopipe::write_fasta(p.reference, data.reference);
        biopipe::write_fastq(p.reads[0], data.reads);
      }
      // Bad inputs fail here, before any task, naming the pipeline entry.
      try {
        biopipe::read_sequences(p.reference);
      } catch (const msa::Error& e) {
        throw msa::ConfigError(p.source + ": input.reference: " + e.what());
      }
      for (const auto& f : p.reads) {
        try {
          counts.push_back(static_cast<std::int64_t>(biopipe::read_sequences(f).size()));
        } catch (const msa::Error& e) {
          throw msa::ConfigError(p.source + ": input.reads: " + e.what());
        }
      }
    } catch (const std::exception& e) {
      error = e.what();
    }
  }
  int failed = error.empty() ? 0 : 1;
  MPI_Allreduce(MPI_IN_PLACE, &failed, 1, MPI_INT, MPI_MAX, session.world());
  if (failed) {
    if (!error.empty() && rank == 0) std::fprintf(stderr, "biopipe: %s\n", error.c_str());
    return 2;
  }
  counts.resize(p.reads.size());
  MPI_Bcast(counts.data(), static_cast<int>(counts.size()), MPI_INT64_T, 0, session.world());

  msa::SchedulerOptions options;
  options.journal_dir = journal;
  options.history_file = history;
  options.policy = policy;
  msa::Scheduler scheduler(session, options);
  define_kinds(scheduler, p, rank);
  Graph g = build_graph(p, counts);
  if (rank == 0) {
    std::printf("biopipe: %zu tasks (%lld chunks of up to %lld reads) on %d ranks (", g.graph.size(),
                static_cast<long long>(g.chunks), static_cast<long long>(p.chunk_reads), size);
    for (const auto& m : session.modules())
      std::printf("%s%s %zu", m == session.modules().front() ? "" : ", ", m.c_str(), session.module_ranks(m).size());
    std::printf(")%s\n", journal.empty() ? "" : (", journal " + journal).c_str());
    std::fflush(stdout);
  }
  const auto& stats = scheduler.run(g.graph);
  const std::string report = stats.report();
  const Bytes spectrum_bytes = scheduler.result(g.spectrum);
  const Bytes summary_bytes = scheduler.result(g.summary);
  if (rank == 0) {
    const auto parts = unpack(summary_bytes, 3, "summary");
    const auto summary = biopipe::decode<biopipe::Summary>(parts[2].data, parts[2].size);
    const auto filter_stats = biopipe::decode<biopipe::FilterStats>(parts[0].data, parts[0].size);
    std::vector<std::uint64_t> spectrum(spectrum_bytes.size() / sizeof(std::uint64_t));
    if (!spectrum.empty()) std::memcpy(spectrum.data(), spectrum_bytes.data(), spectrum_bytes.size());
    const auto reference = biopipe::read_sequences(p.reference);
    write_outputs(p, summary, filter_stats, truth_of(parts[1]), spectrum, reference, report,
                  digest(spectrum_bytes, digest(summary_bytes)), p.output_dir);
  }
  return 0;
}

int generate_command(const biopipe::GeneratorConfig& config, const std::string& dir) {
  const auto data = biopipe::generate(config);
  fs::create_directories(dir);
  biopipe::write_fasta((fs::path(dir) / "reference.fa").string(), data.reference);
  biopipe::write_fastq((fs::path(dir) / "reads.fq.gz").string(), data.reads);
  std::printf("wrote %s/reference.fa (%d contigs of %lld bases) and %s/reads.fq.gz (%lld reads of %d bases)\n",
              dir.c_str(), config.contigs, static_cast<long long>(config.contig_length), dir.c_str(),
              static_cast<long long>(config.reads), config.read_length);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{
      "biopipe: a sequencing pipeline (filter, k-mer spectrum, Smith-Waterman alignment, coverage) whose "
      "stages msa places on the booster and the cluster"};
  app.require_subcommand(1);
  auto* run_cmd = app.add_subcommand("run", "run a pipeline file (collective over all ranks)");
  std::string pipeline, out_dir, journal, history, policy = "eft";
  run_cmd->add_option("pipeline", pipeline, "pipeline TOML file")->required();
  run_cmd->add_option("--out-dir", out_dir, "output directory (default: the file's [output] dir)");
  run_cmd->add_option("--journal", journal, "journal directory: a rerun skips the tasks it holds");
  run_cmd->add_option("--history", history, "task-time history file, read at start and updated at the end");
  run_cmd->add_option("--policy", policy, "placement: eft (expected finish time) or round_robin")
      ->check(CLI::IsMember({"eft", "round_robin"}));
  auto* gen_cmd = app.add_subcommand("generate", "write a synthetic reference and reads (deterministic)");
  biopipe::GeneratorConfig g;
  std::string gen_dir = "biopipe-data";
  gen_cmd->add_option("--out-dir", gen_dir, "where to write reference.fa and reads.fq.gz");
  gen_cmd->add_option("--seed", g.seed, "random seed");
  gen_cmd->add_option("--contigs", g.contigs, "reference contigs")->check(CLI::Range(1, 10000));
  gen_cmd->add_option("--contig-length", g.contig_length, "bases per contig")->check(CLI::Range(1, 1000000000));
  gen_cmd->add_option("--reads", g.reads, "number of reads")->check(CLI::Range(0, 1000000000));
  gen_cmd->add_option("--read-length", g.read_length, "bases per read")->check(CLI::Range(1, 100000));
  CLI11_PARSE(app, argc, argv);
  try {
    if (gen_cmd->parsed()) return generate_command(g, gen_dir);
    return run(pipeline, out_dir, journal, history, policy);
  } catch (const std::exception& e) {
    // Errors of run() reach every rank alike (the Session has finished MPI
    // on the way out); anything else is this rank's alone.
    int initialized = 0, finalized = 0;
    MPI_Initialized(&initialized);
    MPI_Finalized(&finalized);
    if (g_rank == 0 || !finalized) std::fprintf(stderr, "biopipe: %s\n", e.what());
    std::fflush(stderr);
    if (initialized && !finalized) MPI_Abort(MPI_COMM_WORLD, 1);
    return 1;
  }
}

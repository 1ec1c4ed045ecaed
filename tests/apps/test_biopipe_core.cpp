// biopipe's core library: FASTA/FASTQ files and their errors, synthetic data,
// the read filter, k-mer spectra, the Smith-Waterman aligner (Kokkos kernel
// and host loop) against parasail, summaries and byte buffers.
#include <gtest/gtest.h>
#include <parasail.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>

#include "core.hpp"
#include "error_message.hpp"

namespace {

namespace fs = std::filesystem;
using biopipe::Hit;
using biopipe::Record;
using biopipe::Scoring;
using msa::test::config_error;

// A fresh folder per test, removed afterwards.
class TempDir {
 public:
  TempDir() {
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    m_path = fs::temp_directory_path() /
             (std::string("biopipe-") + info->name() + "-" + std::to_string(static_cast<long>(::getpid())));
    fs::remove_all(m_path);
    fs::create_directories(m_path);
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(m_path, ec);
  }
  std::string file(const std::string& name, const std::string& content = "") const {
    const std::string p = (m_path / name).string();
    std::ofstream(p, std::ios::binary) << content;
    return p;
  }
  std::string path(const std::string& name) const { return (m_path / name).string(); }

 private:
  fs::path m_path;
};

// Deterministic test data from the raw engine (see synthetic.cpp for why).
class Rng {
 public:
  explicit Rng(std::uint64_t seed) : m_engine(seed) {}
  std::uint64_t below(std::uint64_t n) { return m_engine() % n; }
  bool chance(double p) { return static_cast<double>(m_engine() >> 11) * 0x1.0p-53 < p; }
  std::string bases(std::size_t n, double n_rate = 0) {
    std::string s(n, 'A');
    for (auto& c : s) c = chance(n_rate) ? 'N' : "ACGT"[below(4)];
    return s;
  }
  // A copy with substitutions, insertions and deletions.
  std::string mutate(const std::string& s, double rate) {
    std::string out;
    for (char c : s) {
      if (chance(rate)) {
        const auto kind = below(3);
        if (kind == 0) out += "ACGT"[below(4)];                         // substitution
        if (kind == 1) out += std::string(1, c) + bases(1 + below(4));  // insertion
        continue;                                                       // kind 2: deletion
      }
      out += c;
    }
    return out.empty() ? bases(1) : out;
  }

 private:
  std::mt19937_64 m_engine;
};

// parasail's answer for the same scoring: ACGTN matrix, N row and column set.
struct Parasail {
  explicit Parasail(const Scoring& s) : m_scoring(s), m_matrix(parasail_matrix_create("ACGTN", s.match, s.mismatch)) {
    for (int i = 0; i < 5; ++i) {
      parasail_matrix_set_value(m_matrix, 4, i, s.n_score);
      parasail_matrix_set_value(m_matrix, i, 4, s.n_score);
    }
  }
  ~Parasail() { parasail_matrix_free(m_matrix); }
  Parasail(const Parasail&) = delete;
  Parasail& operator=(const Parasail&) = delete;

  // Score and ends from the reference implementation (parasail_sw), the score
  // also from the vectorised one.
  Hit align(const std::string& q, const std::string& r) const {
    parasail_result_t* plain = parasail_sw(q.data(), static_cast<int>(q.size()), r.data(), static_cast<int>(r.size()),
                                           m_scoring.gap_open, m_scoring.gap_extend, m_matrix);
    parasail_result_t* striped =
        parasail_sw_striped_16(q.data(), static_cast<int>(q.size()), r.data(), static_cast<int>(r.size()),
                               m_scoring.gap_open, m_scoring.gap_extend, m_matrix);
    Hit h;
    h.score = parasail_result_get_score(plain);
    h.query_end = parasail_result_get_end_query(plain);
    h.ref_end = parasail_result_get_end_ref(plain);
    // parasail's vectorised routines assume open > extend: with open == extend
    // striped_16 reports lower scores than parasail_sw (parasail issue #64).
    if (m_scoring.gap_open > m_scoring.gap_extend) {
      EXPECT_EQ(parasail_result_get_score(striped), h.score) << "parasail's own implementations disagree";
    }
    parasail_result_free(plain);
    parasail_result_free(striped);
    return h;
  }

 private:
  Scoring m_scoring;
  parasail_matrix_t* m_matrix;
};

std::vector<Record> as_records(const std::vector<std::string>& seqs) {
  std::vector<Record> out;
  for (std::size_t i = 0; i < seqs.size(); ++i) out.push_back(Record{"s" + std::to_string(i), seqs[i], ""});
  return out;
}

std::vector<biopipe::Window> as_windows(const std::vector<std::string>& seqs) {
  std::vector<biopipe::Window> out;
  for (const auto& s : seqs) out.push_back(biopipe::Window{0, 0, s});
  return out;
}

// ---------------------------------------------------------------- alignment

TEST(SmithWaterman, AffineGapsCostOpenPlusExtendPerFurtherPosition) {
  const Scoring s;  // match 2, mismatch -3, N -1, open 5, extend 2
  const std::string left = "AAAAAAAA", right = "GGGGGGGG";
  // 16 matches (32) around a gap of length L in the query: 32 - (5 + 2 (L - 1)).
  for (int gap = 1; gap <= 3; ++gap) {
    const std::string ref = left + std::string(static_cast<std::size_t>(gap), 'T') + right;
    const int expected = 32 - (5 + 2 * (gap - 1));
    EXPECT_EQ(biopipe::sw_score(left + right, ref, s), expected) << "gap " << gap;
    EXPECT_EQ(biopipe::sw_score(ref, left + right, s), expected) << "gap " << gap << " in the reference";
    EXPECT_EQ(Parasail(s).align(left + right, ref).score, expected) << "gap " << gap;
    const auto hits = biopipe::align(as_records({left + right}), as_windows({"CC" + ref}), {{0, 0}}, s);
    EXPECT_EQ(hits[0].score, expected);
    EXPECT_EQ(hits[0].query_end, 15);
    EXPECT_EQ(hits[0].ref_begin, 2);
    // With one T, a mismatch instead of the gap scores the same 27 and ends a column earlier.
    EXPECT_EQ(hits[0].ref_end, gap == 1 ? 17 : 2 + 16 + gap - 1);
    EXPECT_EQ(hits[0].ref_end, Parasail(s).align(left + right, "CC" + ref).ref_end);
  }
  // A mismatch inside (7 matches - 3 = 11) beats either half (8); N pairs score -1.
  EXPECT_EQ(biopipe::sw_score("ACGTACGT", "ACGTTCGT", s), 11);
  EXPECT_EQ(biopipe::sw_score("ACGNACGT", "ACGTACGT", s), 13);
  EXPECT_EQ(biopipe::sw_score("ACGT", "TTTT", s), 2);
  EXPECT_EQ(biopipe::sw_score("", "ACGT", s), 0);
  const auto none = biopipe::align(as_records({"AAAA"}), as_windows({"CCCC"}), {{0, 0}}, s);
  EXPECT_EQ(none[0], (Hit{0, 0, 0, -1, -1, -1}));
}

void expect_like_parasail(const Scoring& scoring, std::uint64_t seed, int pairs) {
  Rng rng(seed);
  std::vector<std::string> queries, refs;
  for (int i = 0; i < pairs; ++i) {
    const auto len = static_cast<std::size_t>(1 + rng.below(300));
    const double n_rate = rng.chance(0.3) ? 0.05 : 0.0;
    const std::string ref = rng.bases(len, n_rate);
    std::string query;
    switch (rng.below(4)) {
      case 0:  // unrelated
        query = rng.bases(1 + rng.below(300), n_rate);
        break;
      case 1:  // a mutated piece of the reference
      {
        const auto from = rng.below(len), count = 1 + rng.below(len - from);
        query = rng.mutate(ref.substr(from, count), 0.08);
        break;
      }
      case 2:  // a heavily mutated copy inside random flanks
        query = rng.bases(rng.below(20)) + rng.mutate(ref, 0.3) + rng.bases(rng.below(20));
        break;
      default:  // repeats, where many cells tie
        query = std::string(1 + rng.below(30), "ACGT"[rng.below(4)]);
    }
    queries.push_back(query);
    refs.push_back(ref);
  }
  std::vector<biopipe::Pair> pair_list;
  for (int i = 0; i < pairs; ++i) pair_list.emplace_back(i, i);
  const auto reads = as_records(queries);
  const auto windows = as_windows(refs);
  const auto device = biopipe::align(reads, windows, pair_list, scoring);
  const auto host = biopipe::align_host(reads, windows, pair_list, scoring);
  const Parasail reference(scoring);
  ASSERT_EQ(device.size(), static_cast<std::size_t>(pairs));
  for (int i = 0; i < pairs; ++i) {
    const auto& q = queries[static_cast<std::size_t>(i)];
    const auto& r = refs[static_cast<std::size_t>(i)];
    SCOPED_TRACE("pair " + std::to_string(i) + " query " + q + " ref " + r);
    const Hit expected = reference.align(q, r);
    const Hit& got = device[static_cast<std::size_t>(i)];
    EXPECT_EQ(got, host[static_cast<std::size_t>(i)]);
    EXPECT_EQ(got.read, i);
    EXPECT_EQ(got.window, i);
    EXPECT_EQ(biopipe::sw_score(q, r, scoring), expected.score);
    EXPECT_EQ(got.score, expected.score);
    if (expected.score > 0) {
      EXPECT_EQ(got.query_end, expected.query_end);
      EXPECT_EQ(got.ref_end, expected.ref_end);
      // ref_begin starts an optimal alignment ending at ref_end: the span alone scores the same.
      ASSERT_GE(got.ref_begin, 0);
      ASSERT_LE(got.ref_begin, got.ref_end);
      const auto span =
          r.substr(static_cast<std::size_t>(got.ref_begin), static_cast<std::size_t>(got.ref_end - got.ref_begin + 1));
      EXPECT_EQ(biopipe::sw_score(q.substr(0, static_cast<std::size_t>(got.query_end + 1)), span, scoring),
                expected.score);
    }
  }
}

TEST(SmithWaterman, ScoresAndEndsEqualParasailsOnRandomPairs) {
  expect_like_parasail(Scoring{}, 1, 600);
  expect_like_parasail(Scoring{1, -2, 0, 3, 1}, 2, 300);
  expect_like_parasail(Scoring{5, -4, -2, 10, 1}, 3, 300);
  expect_like_parasail(Scoring{2, -1, -1, 2, 2}, 4, 300);  // open == extend: linear gaps
}

TEST(SmithWaterman, PairsOfManyReadsAndWindowsInAnyOrder) {
  Rng rng(7);
  std::vector<std::string> refs, queries;
  for (int w = 0; w < 5; ++w) refs.push_back(rng.bases(400 + rng.below(300)));
  for (int q = 0; q < 40; ++q) {
    const auto& r = refs[rng.below(5)];
    const auto from = rng.below(r.size() - 150);
    queries.push_back(rng.mutate(r.substr(from, 150), 0.02));
  }
  std::vector<biopipe::Pair> pairs;
  for (int k = 0; k < 200; ++k)
    pairs.emplace_back(static_cast<std::int32_t>(rng.below(40)), static_cast<std::int32_t>(rng.below(5)));
  const Scoring s;
  const auto device = biopipe::align(as_records(queries), as_windows(refs), pairs, s);
  const auto host = biopipe::align_host(as_records(queries), as_windows(refs), pairs, s);
  const Parasail reference(s);
  for (std::size_t k = 0; k < pairs.size(); ++k) {
    EXPECT_EQ(device[k], host[k]);
    EXPECT_EQ(device[k].read, pairs[k].first);
    EXPECT_EQ(device[k].window, pairs[k].second);
    const Hit expected = reference.align(queries[static_cast<std::size_t>(pairs[k].first)],
                                         refs[static_cast<std::size_t>(pairs[k].second)]);
    EXPECT_EQ(device[k].score, expected.score);
    EXPECT_EQ(device[k].ref_end, expected.ref_end);
  }
  EXPECT_TRUE(biopipe::align(as_records(queries), as_windows(refs), {}, s).empty());
  // Empty sequences align to nothing, on either side.
  const auto empty = biopipe::align(as_records({"", "ACGT"}), as_windows({"ACGT", ""}), {{0, 0}, {1, 1}, {1, 0}}, s);
  EXPECT_EQ(empty[0], (Hit{0, 0, 0, -1, -1, -1}));
  EXPECT_EQ(empty[1], (Hit{1, 1, 0, -1, -1, -1}));
  EXPECT_EQ(empty[2], (Hit{1, 0, 8, 3, 3, 0}));
  EXPECT_EQ(biopipe::align_host(as_records({"", "ACGT"}), as_windows({"ACGT", ""}), {{0, 0}, {1, 1}, {1, 0}}, s),
            empty);
  const auto message = config_error([&] { biopipe::align(as_records(queries), as_windows(refs), {{40, 0}}, s); });
  EXPECT_NE(message.find("read 40"), std::string::npos) << message;
}

TEST(Windows, TileEachContigWithOverlap) {
  const std::vector<Record> ref{{"c0", std::string(2500, 'A'), ""}, {"c1", std::string(700, 'C'), ""}};
  const auto w = biopipe::make_windows(ref, 1000, 200);
  ASSERT_EQ(w.size(), 4u);
  EXPECT_EQ(w[0].start, 0);
  EXPECT_EQ(w[1].start, 800);
  EXPECT_EQ(w[2].start, 1600);
  EXPECT_EQ(w[2].sequence.size(), 900u);
  EXPECT_EQ(w[3].contig, 1);
  EXPECT_EQ(w[3].start, 0);
  EXPECT_EQ(w[3].sequence.size(), 700u);
  EXPECT_EQ(biopipe::make_windows(ref, 1000, 0).size(), 4u);
  EXPECT_NE(config_error([&] { biopipe::make_windows(ref, 100, 100); }).find("overlap 100"), std::string::npos);
}

TEST(SeedIndex, CandidatesAreTheWindowsWithMostSeedHits) {
  Rng rng(11);
  const std::vector<Record> ref{{"c0", rng.bases(3000), ""}};
  const auto windows = biopipe::make_windows(ref, 1000, 200);  // starts 0, 800, 1600, 2400
  const biopipe::SeedIndex index(windows, 12, 3);
  EXPECT_GT(index.size(), 900u);
  // Inside window 1 only.
  const std::string inside = ref[0].sequence.substr(1200, 150);
  const auto one = index.candidates(inside, 4, 2);
  ASSERT_FALSE(one.empty());
  EXPECT_EQ(one[0], 1);
  EXPECT_EQ(one.size(), 1u);
  // In the overlap of windows 1 and 2: the same hits in both, lower id first.
  const auto both = index.candidates(ref[0].sequence.substr(1620, 150), 4, 2);
  EXPECT_EQ(both, (std::vector<std::int32_t>{1, 2}));
  EXPECT_EQ(index.candidates(ref[0].sequence.substr(1620, 150), 1, 2), (std::vector<std::int32_t>{1}));
  EXPECT_TRUE(index.candidates(rng.bases(150), 4, 3).empty());
  EXPECT_TRUE(index.candidates("ACGT", 4, 1).empty());  // shorter than k
  EXPECT_FALSE(config_error([&] { biopipe::SeedIndex(windows, 32, 1); }).empty());
}

// ---------------------------------------------------------------- files

TEST(Sequences, FastaAndFastqRoundTripPlainAndGzip) {
  TempDir dir;
  Rng rng(5);
  std::vector<Record> contigs{{"contig0 first", rng.bases(250, 0.02), ""},
                              {"contig1", rng.bases(60), ""},
                              {"empty", "", ""},
                              {"c3", rng.bases(61), ""}};
  std::vector<Record> reads;
  for (int i = 0; i < 50; ++i) {
    Record r{"r" + std::to_string(i) + " extra words", rng.bases(1 + rng.below(200), 0.01), ""};
    for (std::size_t k = 0; k < r.sequence.size(); ++k) r.quality += static_cast<char>('!' + rng.below(94));
    reads.push_back(r);
  }
  for (const char* suffix : {"", ".gz"}) {
    const auto fa = dir.path(std::string("ref.fa") + suffix);
    const auto fq = dir.path(std::string("reads.fq") + suffix);
    biopipe::write_fasta(fa, contigs);
    biopipe::write_fastq(fq, reads);
    EXPECT_EQ(biopipe::read_sequences(fa), contigs) << fa;
    EXPECT_EQ(biopipe::read_sequences(fq), reads) << fq;
  }
  // 60 columns per line.
  std::ifstream plain(dir.path("ref.fa"));
  std::string header, line;
  std::getline(plain, header);
  std::getline(plain, line);
  EXPECT_EQ(header, ">contig0 first");
  EXPECT_EQ(line.size(), 60u);
  // gzip is gzip (magic bytes), whatever reads it.
  std::ifstream gz(dir.path("reads.fq.gz"), std::ios::binary);
  EXPECT_EQ(gz.get(), 0x1f);
  EXPECT_EQ(gz.get(), 0x8b);
}

TEST(Sequences, LowerCaseIupacCrlfAndBlankLines) {
  TempDir dir;
  const auto fa = dir.file("mixed.fa", "\n>a desc\r\nacgtRYn\r\nAC\r\n\r\n>b\nKMBDHVSWacgt\n");
  const auto records = biopipe::read_sequences(fa);
  ASSERT_EQ(records.size(), 2u);
  EXPECT_EQ(records[0], (Record{"a desc", "ACGTNNNAC", ""}));
  EXPECT_EQ(records[1], (Record{"b", "NNNNNNNNACGT", ""}));
  const auto fq = dir.file("reads.fq", "@r1\nacgt\n+r1\nIIII\n\n@r2\nNNA\n+\n#5I\n");
  EXPECT_EQ(biopipe::read_sequences(fq), (std::vector<Record>{{"r1", "ACGT", "IIII"}, {"r2", "NNA", "#5I"}}));
}

// The message of reading `content` as `name`, which must name file:line.
void expect_read_error(const TempDir& dir, const std::string& name, const std::string& content, int line,
                       const std::string& what) {
  const auto path = dir.file(name, content);
  const auto message = config_error([&] { biopipe::read_sequences(path); });
  EXPECT_NE(message.find(path + ":" + std::to_string(line) + ":"), std::string::npos) << message;
  EXPECT_NE(message.find(what), std::string::npos) << message;
}

TEST(Sequences, MalformedFilesNameFileAndLine) {
  TempDir dir;
  const std::string good = "@r1\nACGT\n+\nIIII\n@r2\nACGT\n+\nIIII\n";
  expect_read_error(dir, "text.fq", "\nhello\n", 2, "not a FASTA or FASTQ file");
  expect_read_error(dir, "noplus.fq", good + "@r3\nACGT\nIIII\n@r4\nACGT\n+\nIIII\n", 11,
                    "FASTQ record 'r3': expected the '+' line, found 'IIII'");
  expect_read_error(dir, "short.fq", good + "@r3 x\nACGT\n+\nIIII\n@r4\nACGTAC\n+\nIIII\n", 16,
                    "FASTQ record 'r4': quality has 4 characters, sequence has 6");
  expect_read_error(dir, "truncated.fq", good + "@r3\nACGT\n", 9, "FASTQ record 'r3' is truncated");
  expect_read_error(dir, "badbase.fq", good + "@r3\nACXT\n+\nIIII\n", 10,
                    "record 'r3': invalid character 'X' at column 3");
  expect_read_error(dir, "badbase.fa", ">c0\nACGT\n>c1 long name\nACGT\nAC-T\n", 5,
                    "record 'c1': invalid character '-' at column 3");
  expect_read_error(dir, "badqual.fq", "@r1\nACGT\n+\nII I\n", 4, "invalid quality character ' ' at column 3");
  expect_read_error(dir, "noat.fq", good + "r3\nACGT\n+\nIIII\n", 9, "expected '@'");

  const auto empty = dir.file("empty.fa", "\n  \n");
  auto message = config_error([&] { biopipe::read_sequences(empty); });
  EXPECT_NE(message.find(empty + ": the file is empty"), std::string::npos) << message;
  const auto missing = dir.path("missing.fa");
  message = config_error([&] { biopipe::read_sequences(missing); });
  EXPECT_NE(message.find(missing + ": cannot read: No such file or directory"), std::string::npos) << message;
  message = config_error([&] { biopipe::read_sequences(dir.path("")); });
  EXPECT_NE(message.find("directory"), std::string::npos) << message;
}

TEST(Sequences, ATruncatedGzipFileIsAnErrorNotFewerRecords) {
  TempDir dir;
  biopipe::GeneratorConfig c;
  c.reads = 3000;
  c.contig_length = 5000;
  const auto reads = biopipe::generate(c).reads;
  const auto path = dir.path("reads.fq.gz");
  biopipe::write_fastq(path, reads);
  ASSERT_EQ(biopipe::read_sequences(path).size(), reads.size());
  const auto size = fs::file_size(path);
  for (const auto keep : {size / 2, size - 4}) {  // mid-stream, and only the trailer's length missing
    fs::copy_file(path, dir.path("cut.fq.gz"), fs::copy_options::overwrite_existing);
    fs::resize_file(dir.path("cut.fq.gz"), keep);
    const auto message = config_error([&] { biopipe::read_sequences(dir.path("cut.fq.gz")); });
    EXPECT_NE(message.find(dir.path("cut.fq.gz") + ":"), std::string::npos) << message;
    EXPECT_NE(message.find("truncated"), std::string::npos) << message;
  }
  // Corrupt deflate data: also an error with the file's name.
  std::string bytes;
  {
    std::ifstream in(path, std::ios::binary);
    bytes.assign(std::istreambuf_iterator<char>(in), {});
  }
  for (std::size_t i = 100; i < 200; ++i) bytes[i] = static_cast<char>(bytes[i] ^ 0x5a);
  const auto bad = dir.file("bad.fq.gz", bytes);
  const auto message = config_error([&] { biopipe::read_sequences(bad); });
  EXPECT_NE(message.find(bad + ":"), std::string::npos) << message;
}

TEST(Sequences, WriteErrorsNameThePath) {
  TempDir dir;
  const std::vector<Record> records{{"r", std::string(200000, 'A'), ""}};
  auto message = config_error([&] { biopipe::write_fasta("/dev/full", records); });
  EXPECT_NE(message.find("/dev/full: cannot write: No space left on device"), std::string::npos) << message;
  message = config_error([&] { biopipe::write_fastq("/dev/full", records); });
  EXPECT_NE(message.find("/dev/full: cannot write"), std::string::npos) << message;
  const auto nowhere = dir.path("no/such/folder/x.fa.gz");
  message = config_error([&] { biopipe::write_fasta(nowhere, records); });
  EXPECT_NE(message.find(nowhere + ": cannot write"), std::string::npos) << message;
  message = config_error([&] { biopipe::write_fastq(dir.path("q.fq"), {{"r", "ACGT", "II"}}); });
  EXPECT_NE(message.find("'r' has 2 quality characters for 4 bases"), std::string::npos) << message;
}

// ---------------------------------------------------------------- synthetic data

// FNV-1a over names, sequences and qualities: a fingerprint of a data set.
std::uint64_t fnv1a(const std::vector<Record>& records) {
  std::uint64_t h = 0xcbf29ce484222325u;
  for (const auto& r : records)
    for (const std::string* s : {&r.name, &r.sequence, &r.quality})
      for (char c : *s + '\n') h = (h ^ static_cast<unsigned char>(c)) * 0x100000001b3u;
  return h;
}

TEST(Synthetic, SameSeedSameBytesOtherSeedOtherData) {
  biopipe::GeneratorConfig c;
  c.contig_length = 20000;
  c.reads = 500;
  const auto a = biopipe::generate(c), b = biopipe::generate(c);
  EXPECT_EQ(a.reference, b.reference);
  EXPECT_EQ(a.reads, b.reads);
  ASSERT_EQ(a.reference.size(), 3u);
  ASSERT_EQ(a.reads.size(), 500u);
  for (const auto& r : a.reads) {
    EXPECT_EQ(r.sequence.size(), 150u);
    EXPECT_EQ(r.quality.size(), 150u);
  }
  // Pinned bytes: a change here changes every user's data set.
  EXPECT_EQ(a.reference[0].sequence.substr(0, 24), "TGTATAGCCCAGGGTTTCAAGACA");
  EXPECT_EQ(a.reads[0].name, "read0 contig=2 pos=310");
  EXPECT_EQ(fnv1a(a.reference) ^ fnv1a(a.reads), std::uint64_t{15109949133651537548ull});
  c.seed = 43;
  const auto other = biopipe::generate(c);
  EXPECT_NE(other.reference, a.reference);
  EXPECT_NE(other.reads, a.reads);
  c.contig_length = 10;
  EXPECT_NE(config_error([&] { biopipe::generate(c); }).find("shorter than the read length"), std::string::npos);
}

// The true origin of a read from its name "read<i> contig=<c> pos=<p>"; contig -1 for random reads.
std::pair<int, std::int64_t> origin(const std::string& name) {
  const auto c = name.find("contig="), p = name.find("pos=");
  if (c == std::string::npos) return {-1, -1};
  return {std::stoi(name.substr(c + 7)), std::stoll(name.substr(p + 4))};
}

TEST(Synthetic, ReadsMapBackToWhereTheyCameFrom) {
  biopipe::GeneratorConfig c;
  c.contig_length = 30000;
  c.reads = 600;
  const auto data = biopipe::generate(c);
  const auto windows = biopipe::make_windows(data.reference, 1000, 200);
  const biopipe::SeedIndex index(windows, 15, 2);
  std::vector<biopipe::Pair> pairs;
  for (std::size_t i = 0; i < data.reads.size(); ++i)
    for (auto w : index.candidates(data.reads[i].sequence, 3, 2)) pairs.emplace_back(static_cast<std::int32_t>(i), w);
  const auto hits = biopipe::align(data.reads, windows, pairs, Scoring{});
  auto summary = biopipe::make_summary(data.reference, 10, 100);
  biopipe::add_hits(summary, hits, windows);
  std::size_t from_reference = 0, placed = 0, random = 0;
  for (std::size_t i = 0; i < data.reads.size(); ++i) {
    if (origin(data.reads[i].name).first < 0) ++random;
  }
  for (std::size_t k = 0; k < summary.best.size(); ++k) {
    const Hit& h = summary.best[k];
    const auto [contig, pos] = origin(data.reads[static_cast<std::size_t>(h.read)].name);
    EXPECT_GE(contig, 0) << "a random read aligned with score " << h.score;
    if (contig < 0) continue;
    const auto& span = summary.spans[k];
    if (span.contig == contig && std::abs(span.begin - pos) <= 3 && h.score >= 240) ++placed;
  }
  from_reference = data.reads.size() - random;
  EXPECT_GT(random, 3u);
  EXPECT_GE(placed * 100, from_reference * 95) << placed << " of " << from_reference << " placed";
  // Depth: 600 reads x 150 bases over 90 kb is about 1x.
  std::uint64_t covered = 0;
  for (const auto& depth : summary.coverage)
    for (auto d : depth) covered += d;
  EXPECT_GT(covered, static_cast<std::uint64_t>(placed) * 140);
}

// ---------------------------------------------------------------- filter and k-mers

TEST(Filter, LengthMeanQualityAndTrimming) {
  const std::vector<Record> reads{
      {"pass", std::string(60, 'A'), std::string(60, 'I')},                             // phred 40
      {"short", std::string(40, 'A'), std::string(40, 'I')},                            // too short
      {"bad", std::string(60, 'A'), std::string(60, '+')},                              // phred 10
      {"tail", std::string(80, 'A'), std::string(60, 'I') + std::string(20, '#')},      // mean 30.5
      {"longtail", std::string(70, 'A'), std::string(45, 'I') + std::string(25, '#')},  // mean 26.4
      {"fasta", std::string(55, 'C'), ""}};
  biopipe::FilterStats stats;
  auto out = biopipe::filter_reads(reads, biopipe::FilterConfig{}, stats);
  ASSERT_EQ(out.size(), 4u);
  EXPECT_EQ(out[1].name, "tail");
  EXPECT_EQ(out[1].sequence.size(), 80u);
  EXPECT_EQ(stats, (biopipe::FilterStats{6, 4, 365, 265}));
  biopipe::FilterConfig trim;
  trim.trim_quality = 20;
  biopipe::FilterStats trimmed;
  out = biopipe::filter_reads(reads, trim, trimmed);
  ASSERT_EQ(out.size(), 3u);
  EXPECT_EQ(out[1], (Record{"tail", std::string(60, 'A'), std::string(60, 'I')}));
  EXPECT_EQ(out[2].name, "fasta");
  EXPECT_EQ(trimmed, (biopipe::FilterStats{6, 3, 365, 175}));
  // Counts add up over calls.
  biopipe::filter_reads(reads, trim, trimmed);
  EXPECT_EQ(trimmed, (biopipe::FilterStats{12, 6, 730, 350}));
}

TEST(Kmers, CanonicalCountsSkipN) {
  using biopipe::kmer_code;
  // ACGT: AC, CG, GT; GT's reverse complement is AC, CG is its own.
  auto counts = biopipe::count_kmers({{"r", "ACGT", ""}}, 2);
  EXPECT_EQ(counts.k, 2);
  EXPECT_EQ(counts.codes, (std::vector<std::uint64_t>{kmer_code("AC"), kmer_code("CG")}));
  EXPECT_EQ(counts.counts, (std::vector<std::uint32_t>{2, 1}));
  EXPECT_EQ(kmer_code("AC"), 1u);
  EXPECT_EQ(kmer_code("CG"), 6u);
  // N breaks k-mers: only AC and GT remain.
  counts = biopipe::count_kmers({{"r", "ACNGT", ""}, {"n", "NNNN", ""}, {"s", "A", ""}}, 2);
  EXPECT_EQ(counts.codes, (std::vector<std::uint64_t>{kmer_code("AC")}));
  EXPECT_EQ(counts.counts, (std::vector<std::uint32_t>{2}));
  // A read and its reverse complement have the same spectrum.
  EXPECT_EQ(biopipe::count_kmers({{"f", "AAACCGTAGGT", ""}}, 5), biopipe::count_kmers({{"r", "ACCTACGGTTT", ""}}, 5));
  EXPECT_EQ(biopipe::reverse_complement(kmer_code("AAACG"), 5), kmer_code("CGTTT"));
  EXPECT_EQ(biopipe::kmer_string(kmer_code("GATTACA"), 7), "GATTACA");
  // k = 31 uses all 62 bits.
  const std::string t31(31, 'T');
  counts = biopipe::count_kmers({{"t", t31 + "T", ""}}, 31);
  EXPECT_EQ(counts.codes, (std::vector<std::uint64_t>{0}));  // TTT...T -> canonical AAA...A
  EXPECT_EQ(counts.counts, (std::vector<std::uint32_t>{2}));
  EXPECT_FALSE(config_error([] { biopipe::count_kmers({}, 32); }).empty());
  EXPECT_FALSE(config_error([] { biopipe::count_kmers({}, 0); }).empty());
}

TEST(Kmers, SpectrumAndAssociativeMerge) {
  // AAAA x3 -> AA seen 9 times; ACGT -> AC 2, CG 1.
  const auto counts =
      biopipe::count_kmers({{"a", "AAAA", ""}, {"b", "AAAA", ""}, {"c", "AAAA", ""}, {"d", "ACGT", ""}}, 2);
  EXPECT_EQ(biopipe::spectrum(counts, 4), (std::vector<std::uint64_t>{0, 1, 1, 0, 1}));
  EXPECT_EQ(biopipe::spectrum(counts, 10), (std::vector<std::uint64_t>{0, 1, 1, 0, 0, 0, 0, 0, 0, 1, 0}));
  Rng rng(3);
  std::vector<Record> reads;
  for (int i = 0; i < 300; ++i) reads.push_back({"r", rng.bases(40 + rng.below(40), 0.01), ""});
  const std::vector<Record> a(reads.begin(), reads.begin() + 100), b(reads.begin() + 100, reads.begin() + 180),
      c(reads.begin() + 180, reads.end());
  const auto ka = biopipe::count_kmers(a, 7), kb = biopipe::count_kmers(b, 7), kc = biopipe::count_kmers(c, 7);
  const auto all = biopipe::count_kmers(reads, 7);
  EXPECT_EQ(biopipe::merge(biopipe::merge(ka, kb), kc), all);
  EXPECT_EQ(biopipe::merge(ka, biopipe::merge(kb, kc)), all);
  EXPECT_EQ(biopipe::merge(kc, biopipe::merge(ka, kb)), all);
  EXPECT_EQ(biopipe::merge(biopipe::KmerCounts{}, all), all);
  EXPECT_NE(config_error([&] { biopipe::merge(ka, biopipe::count_kmers(a, 5)); }).find("k = 7 and k = 5"),
            std::string::npos);
  std::uint64_t total = 0;
  for (auto n : all.counts) total += n;
  std::uint64_t expected = 0;
  for (const auto& r : reads) {
    int run = 0;
    for (char ch : r.sequence) {
      run = ch == 'N' ? 0 : run + 1;
      if (run >= 7) ++expected;
    }
  }
  EXPECT_EQ(total, expected);
}

// ---------------------------------------------------------------- summary and buffers

std::vector<biopipe::Window> summary_windows() {
  return {{0, 0, std::string(1000, 'A')}, {0, 800, std::string(1000, 'A')}, {1, 0, std::string(500, 'A')}};
}

TEST(Summary, BestHitsHistogramAndCoverage) {
  const std::vector<Record> ref{{"c0", std::string(1800, 'A'), ""}, {"c1", std::string(500, 'A'), ""}};
  auto s = biopipe::make_summary(ref, 10, 20);
  biopipe::add_hits(s, {{0, 1, 30, 9, 109, 100}, {0, 0, 30, 9, 909, 900}, {1, 2, 25, 4, 14, 10}, {2, 2, 19, 3, 3, 0}},
                    summary_windows());
  // Read 0 ties on score: window 0 wins. Read 2 is below min_score.
  ASSERT_EQ(s.best.size(), 2u);
  EXPECT_EQ(s.best[0], (Hit{0, 0, 30, 9, 909, 900}));
  EXPECT_EQ(s.spans[0], (biopipe::Span{0, 900, 909}));
  EXPECT_EQ(s.spans[1], (biopipe::Span{1, 10, 14}));
  EXPECT_EQ(s.score_histogram, (std::vector<std::int64_t>{0, 0, 1, 1}));
  EXPECT_EQ(s.coverage[0][899], 0u);
  EXPECT_EQ(s.coverage[0][900], 1u);
  EXPECT_EQ(s.coverage[0][909], 1u);
  EXPECT_EQ(s.coverage[0][910], 0u);
  EXPECT_EQ(s.coverage[1][12], 1u);
  // A better hit of read 1 in a later chunk replaces it everywhere.
  biopipe::add_hits(s, {{1, 0, 41, 9, 19, 10}}, summary_windows());
  EXPECT_EQ(s.score_histogram, (std::vector<std::int64_t>{0, 0, 0, 1, 1}));
  EXPECT_EQ(s.coverage[1][12], 0u);
  EXPECT_EQ(s.coverage[0][15], 1u);
  EXPECT_FALSE(config_error([&] { biopipe::add_hits(s, {{3, 7, 50, 1, 1, 0}}, summary_windows()); }).empty());
}

TEST(Summary, MergeIsIndependentOfOrderAndGrouping) {
  const std::vector<Record> ref{{"c0", std::string(1800, 'A'), ""}, {"c1", std::string(500, 'A'), ""}};
  const auto windows = summary_windows();
  Rng rng(9);
  std::vector<Hit> hits;
  for (int k = 0; k < 400; ++k) {
    const auto w = static_cast<std::int32_t>(rng.below(3));
    const auto begin = static_cast<std::int32_t>(rng.below(300));
    hits.push_back(Hit{static_cast<std::int32_t>(rng.below(120)), w, static_cast<std::int32_t>(rng.below(60)), 20,
                       begin + static_cast<std::int32_t>(rng.below(150)), begin});
  }
  auto whole = biopipe::make_summary(ref, 7, 5);
  biopipe::add_hits(whole, hits, windows);
  // Chunks share reads, so merges must replace worse best hits.
  std::vector<biopipe::Summary> parts;
  for (std::size_t first = 0; first < hits.size(); first += 70) {
    auto part = biopipe::make_summary(ref, 7, 5);
    biopipe::add_hits(part,
                      std::vector<Hit>(hits.begin() + static_cast<std::ptrdiff_t>(first),
                                       hits.begin() + static_cast<std::ptrdiff_t>(std::min(hits.size(), first + 70))),
                      windows);
    parts.push_back(part);
  }
  biopipe::Summary left;  // neutral
  for (const auto& p : parts) left = biopipe::merge(left, p);
  biopipe::Summary right;
  for (auto it = parts.rbegin(); it != parts.rend(); ++it) right = biopipe::merge(*it, right);
  auto tree = parts;
  while (tree.size() > 1) {
    std::vector<biopipe::Summary> next;
    for (std::size_t i = 0; i + 1 < tree.size(); i += 2) next.push_back(biopipe::merge(tree[i + 1], tree[i]));
    if (tree.size() % 2) next.push_back(tree.back());
    tree = next;
  }
  EXPECT_EQ(left, whole);
  EXPECT_EQ(right, whole);
  EXPECT_EQ(tree[0], whole);
  // Coverage equals a recount from the best spans.
  std::vector<std::vector<std::uint32_t>> depth{std::vector<std::uint32_t>(1800), std::vector<std::uint32_t>(500)};
  for (const auto& span : whole.spans)
    for (auto p = span.begin; p <= span.end; ++p)
      ++depth[static_cast<std::size_t>(span.contig)][static_cast<std::size_t>(p)];
  EXPECT_EQ(whole.coverage, depth);
  EXPECT_FALSE(config_error([&] { biopipe::merge(whole, biopipe::make_summary(ref, 8, 5)); }).empty());
}

template <class T>
void expect_truncations_fail(const std::vector<std::uint8_t>& bytes, const std::string& what) {
  for (std::size_t n = 0; n < bytes.size(); ++n) {
    const auto message = config_error([&] { biopipe::decode<T>(bytes.data(), n); });
    EXPECT_NE(message.find("corrupt " + what + " buffer"), std::string::npos) << "prefix of " << n << ": " << message;
  }
  auto longer = bytes;
  longer.push_back(0);
  EXPECT_NE(config_error([&] { biopipe::decode<T>(longer); }).find("left over"), std::string::npos);
}

TEST(Buffers, RoundTripsAndTruncationsFail) {
  const std::vector<Record> records{{"r1 x", "ACGTN", "IIII#"}, {"c", "ACGT", ""}, {"", "", ""}};
  EXPECT_EQ(biopipe::decode<std::vector<Record>>(biopipe::to_bytes(records)), records);
  EXPECT_TRUE(biopipe::decode<std::vector<Record>>(biopipe::to_bytes(std::vector<Record>{})).empty());
  expect_truncations_fail<std::vector<Record>>(biopipe::to_bytes(records), "records");

  const auto kmers = biopipe::count_kmers({{"r", "ACGTTGCANNACGGT", ""}}, 3);
  EXPECT_EQ(biopipe::decode<biopipe::KmerCounts>(biopipe::to_bytes(kmers)), kmers);
  expect_truncations_fail<biopipe::KmerCounts>(biopipe::to_bytes(kmers), "k-mer counts");

  const std::vector<Hit> hits{{1, 2, 3, 4, 5, 6}, {-1, -1, 0, -1, -1, -1}};
  EXPECT_EQ(biopipe::decode<std::vector<Hit>>(biopipe::to_bytes(hits)), hits);
  expect_truncations_fail<std::vector<Hit>>(biopipe::to_bytes(hits), "hits");

  const std::vector<Record> ref{{"c0", std::string(1800, 'A'), ""}, {"c1", std::string(50, 'A'), ""}};
  auto summary = biopipe::make_summary(ref, 10, 0);
  biopipe::add_hits(summary, {{0, 1, 30, 9, 109, 100}, {4, 0, 12, 9, 9, 0}}, summary_windows());
  EXPECT_EQ(biopipe::decode<biopipe::Summary>(biopipe::to_bytes(summary)), summary);
  expect_truncations_fail<biopipe::Summary>(biopipe::to_bytes(summary), "summary");

  const biopipe::FilterStats stats{10, 8, 1500, 1100};
  EXPECT_EQ(biopipe::decode<biopipe::FilterStats>(biopipe::to_bytes(stats)), stats);
  expect_truncations_fail<biopipe::FilterStats>(biopipe::to_bytes(stats), "filter stats");

  // Another type's buffer, and a length prefix far beyond the buffer.
  EXPECT_NE(config_error([&] { biopipe::decode<biopipe::Summary>(biopipe::to_bytes(hits)); }).find("tag"),
            std::string::npos);
  auto huge = biopipe::to_bytes(hits);
  huge[4] = 0xff;
  huge[11] = 0x7f;
  EXPECT_NE(config_error([&] { biopipe::decode<std::vector<Hit>>(huge); }).find("does not fit"), std::string::npos);
}

}  // namespace

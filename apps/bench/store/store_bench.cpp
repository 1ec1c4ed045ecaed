// apps/bench/store: the Store against hand-written HDF5 and POSIX I/O, in one run.
//   mpirun -np 2 msa_bench_store [--quick] [--json FILE] [--dir DIR]
// A 3-d double array, split over all ranks along dimension 0 (msa::block_along),
// is written collectively and read back by three methods: the msa Store,
// hand-written parallel HDF5 C calls with the same layout (contiguous dataset,
// collective MPI-IO transfer: the baseline of the goal), and plain POSIX, each
// rank pwrite()ing its contiguous slab into one shared file. A write is timed
// from a barrier to the slowest rank's fsync; a read is open, read own box,
// close, several times after each write. Sizes: 64 MiB, 256 MiB, 1 GiB
// (--quick: 16 and 64 MiB). Each figure is a median over repetitions; the
// three methods run in a rotating order in each repetition, so drifting noise
// hits all of them alike. Every write is checked by reading values back from
// the file with pread at the dataset's offset (not through the method that
// wrote it), every read by checking what it returned: a broken write or read
// fails the run instead of looking fast.
#include <fcntl.h>
#include <hdf5.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <limits>
#include <msa/io/store.hpp>
#include <msa/msa.hpp>
#include <nlohmann/json.hpp>

#include "../bench_common.hpp"

namespace {

using msa::bench::median;
using msa::bench::now;

using HostView = Kokkos::View<double***, Kokkos::LayoutRight, Kokkos::HostSpace>;

constexpr int64_t kEdge = 256;  // dimensions 1 and 2: a plane of dimension 0 is 512 KiB
constexpr int64_t kPlane = kEdge * kEdge;

struct Env {
  int rank = 0, size = 0;
  bool quick = false;
  std::string dir;
  nlohmann::json records = nlohmann::json::array();
};

std::string size_label(std::size_t bytes) {
  if (bytes >= (std::size_t{1} << 30) && bytes % (std::size_t{1} << 30) == 0)
    return std::to_string(bytes >> 30) + "GiB";
  return std::to_string(bytes >> 20) + "MiB";
}

// One record, printed as `store write 64MiB  msa X GB/s  baseline Y GB/s (name)  ratio R  goal >= G`.
void record(Env& env, const std::string& op, std::size_t bytes, double msa, double baseline,
            const std::string& baseline_name, double goal) {
  const double ratio = baseline > 0 ? msa / baseline : 0;
  nlohmann::json r = msa::bench::make_record("store", op + " bytes=" + std::to_string(bytes), "bandwidth", "GB/s", msa,
                                             baseline, baseline_name, "higher", goal);
  env.records.push_back(r);
  const std::string name = "(" + baseline_name + ")";
  std::printf("store %-5s %-7s msa %8.3f GB/s  baseline %8.3f GB/s %-14s  ratio %.3f%s\n", op.c_str(),
              size_label(bytes).c_str(), msa, baseline, name.c_str(), ratio,
              goal > 0 ? msa::bench::goal_text("higher", goal).c_str() : "");
  std::fflush(stdout);
}

// An IoError with errno's reason (main's handler adds the rank).
[[noreturn]] void fail(const std::string& what) { throw msa::IoError(what + ": " + std::strerror(errno)); }

// ---- the problem -------------------------------------------------------------

// The global array, this rank's slab of it, and the buffers written and read.
struct Problem {
  int rank = 0;
  std::vector<int64_t> shape;
  msa::Box box;
  std::size_t bytes = 0;  // of the whole array
  HostView out, in;

  std::size_t local_bytes() const { return static_cast<std::size_t>(box.volume()) * sizeof(double); }
  // The slab's first element, as a row-major index of the whole array.
  int64_t first() const { return box.start[0] * kPlane; }
};

// Element g of the array (row-major index) holds g: exact in a double.
double value(int64_t g) { return static_cast<double>(g); }

Problem make_problem(const Env& env, std::size_t bytes) {
  Problem p;
  p.rank = env.rank;
  p.bytes = bytes;
  p.shape = {static_cast<int64_t>(bytes / sizeof(double)) / kPlane, kEdge, kEdge};
  p.box = msa::block_along(p.shape, 0, env.size, env.rank);
  const auto n0 = static_cast<std::size_t>(p.box.count[0]), n = static_cast<std::size_t>(kEdge);
  p.out = HostView(Kokkos::view_alloc(Kokkos::WithoutInitializing, "out"), n0, n, n);
  p.in = HostView(Kokkos::view_alloc(Kokkos::WithoutInitializing, "in"), n0, n, n);
  double* d = p.out.data();
  for (std::size_t i = 0; i < p.out.size(); ++i) d[i] = value(p.first() + static_cast<int64_t>(i));
  return p;
}

// Indices of this rank's slab that are checked: a prime stride, and the last.
template <class F>
void for_samples(std::size_t n, F&& f) {
  if (n == 0) return;
  for (std::size_t i = 0; i < n; i += 4099) f(i);
  f(n - 1);
}

std::string where_in(const Problem& p, std::size_t i) {
  const int64_t g = p.first() + static_cast<int64_t>(i);
  return "[" + std::to_string(g / kPlane) + ", " + std::to_string(g / kEdge % kEdge) + ", " +
         std::to_string(g % kEdge) + "]";
}

// What a read returned.
void check_read(const Problem& p, const char* method) {
  const double* d = p.in.data();
  for_samples(p.in.size(), [&](std::size_t i) {
    const double want = value(p.first() + static_cast<int64_t>(i));
    if (d[i] != want)
      throw msa::IoError(std::string(method) + " read " + size_label(p.bytes) + ": element " + where_in(p, i) + " is " +
                         std::to_string(d[i]) + ", expected " + std::to_string(want) + " (the read is broken)");
  });
}

void pread_all(int fd, char* buf, std::size_t n, off_t offset, const std::string& path) {
  while (n > 0) {
    const ssize_t got = ::pread(fd, buf, n, offset);
    if (got < 0 && errno == EINTR) continue;
    if (got < 0) fail("pread " + path);
    if (got == 0) throw msa::IoError(path + " ends early");
    buf += got;
    n -= static_cast<std::size_t>(got);
    offset += got;
  }
}

void pwrite_all(int fd, const char* buf, std::size_t n, off_t offset, const std::string& path) {
  while (n > 0) {
    const ssize_t put = ::pwrite(fd, buf, n, offset);
    if (put < 0 && errno == EINTR) continue;
    if (put < 0) fail("pwrite " + path);
    buf += put;
    n -= static_cast<std::size_t>(put);
    offset += put;
  }
}

// What a write left in the file, read with pread at `data_offset` (the start
// of the array in the file), past every library.
void check_file(const Problem& p, const std::string& path, int64_t data_offset, const char* method) {
  const int fd = ::open(path.c_str(), O_RDONLY);
  if (fd < 0) fail(std::string(method) + " write: open " + path);
  for_samples(p.out.size(), [&](std::size_t i) {
    const int64_t g = p.first() + static_cast<int64_t>(i);
    double got = 0;
    pread_all(fd, reinterpret_cast<char*>(&got), sizeof got,
              static_cast<off_t>(data_offset + g * static_cast<int64_t>(sizeof(double))), path);
    if (got != value(g))
      throw msa::IoError(std::string(method) + " write " + size_label(p.bytes) + ": element " + where_in(p, i) +
                         " in the file is " + std::to_string(got) + ", expected " + std::to_string(value(g)) +
                         " (the write is broken)");
  });
  ::close(fd);
}

// Where the HDF5 file's dataset "data" starts (rank 0 asks HDF5, serially).
int64_t hdf5_data_offset(const std::string& path, int rank) {
  int64_t offset = -1;
  if (rank == 0) {
    const hid_t file = H5Fopen(path.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT);
    if (file >= 0) {
      const hid_t ds = H5Dopen2(file, "data", H5P_DEFAULT);
      if (ds >= 0) {
        const haddr_t a = H5Dget_offset(ds);  // HADDR_UNDEF: storage never allocated
        if (a != HADDR_UNDEF) offset = static_cast<int64_t>(a);
        H5Dclose(ds);
      }
      H5Fclose(file);
    }
  }
  MPI_Bcast(&offset, 1, MPI_INT64_T, 0, MPI_COMM_WORLD);
  if (offset < 0) throw msa::IoError(path + ": no dataset 'data' with allocated contiguous storage after the write");
  return offset;
}

// ---- the three methods -------------------------------------------------------

// Every rank opens the file after it is closed and fsyncs it: on one node the
// first fsync writes the dirty pages of all ranks and the others find none; on
// a parallel file system each client's own pages are written.
void fsync_file(const std::string& path) {
  const int fd = ::open(path.c_str(), O_WRONLY);
  if (fd < 0) fail("open " + path + " to fsync");
  if (::fsync(fd) != 0) fail("fsync " + path);
  if (::close(fd) != 0) fail("close " + path + " after fsync");
}

void msa_write(const Problem& p, const std::string& path) {
  auto file = msa::io::File::create(path, MPI_COMM_WORLD);
  {
    auto ds = file.create_dataset<double>("data", p.shape);
    ds.write(p.out, p.box);
  }
  file.close();
  fsync_file(path);
}

void msa_read(const Problem& p, const std::string& path) {
  auto file = msa::io::File::open(path, MPI_COMM_WORLD);
  {
    auto ds = file.dataset("data");
    ds.read(p.in, p.box);
  }
  file.close();
}

template <class R>
R h5(R status, const char* call) {
  if (status < 0) throw msa::IoError("raw HDF5 baseline: " + std::string(call) + " failed");
  return status;
}

// This rank's box in the file space of `ds`, and a memory space for it.
std::pair<hid_t, hid_t> hdf5_selection(hid_t ds, const msa::Box& box) {
  const hid_t fspace = h5(H5Dget_space(ds), "H5Dget_space");
  const hsize_t start[3] = {static_cast<hsize_t>(box.start[0]), static_cast<hsize_t>(box.start[1]),
                            static_cast<hsize_t>(box.start[2])};
  const hsize_t count[3] = {static_cast<hsize_t>(box.count[0]), static_cast<hsize_t>(box.count[1]),
                            static_cast<hsize_t>(box.count[2])};
  if (box.empty()) {
    const hsize_t one = 1;
    const hid_t mspace = h5(H5Screate_simple(1, &one, nullptr), "H5Screate_simple");
    h5(H5Sselect_none(fspace), "H5Sselect_none");
    h5(H5Sselect_none(mspace), "H5Sselect_none");
    return {fspace, mspace};
  }
  h5(H5Sselect_hyperslab(fspace, H5S_SELECT_SET, start, nullptr, count, nullptr), "H5Sselect_hyperslab");
  return {fspace, h5(H5Screate_simple(3, count, nullptr), "H5Screate_simple")};
}

hid_t hdf5_fapl() {
  const hid_t fapl = h5(H5Pcreate(H5P_FILE_ACCESS), "H5Pcreate");
  h5(H5Pset_fapl_mpio(fapl, MPI_COMM_WORLD, MPI_INFO_NULL), "H5Pset_fapl_mpio");
  return fapl;
}

hid_t hdf5_dxpl() {
  const hid_t dxpl = h5(H5Pcreate(H5P_DATASET_XFER), "H5Pcreate");
  h5(H5Pset_dxpl_mpio(dxpl, H5FD_MPIO_COLLECTIVE), "H5Pset_dxpl_mpio");
  return dxpl;
}

void hdf5_write(const Problem& p, const std::string& path) {
  const hid_t fapl = hdf5_fapl();
  const hid_t file = h5(H5Fcreate(path.c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, fapl), "H5Fcreate");
  const hsize_t dims[3] = {static_cast<hsize_t>(p.shape[0]), static_cast<hsize_t>(p.shape[1]),
                           static_cast<hsize_t>(p.shape[2])};
  const hid_t space = h5(H5Screate_simple(3, dims, nullptr), "H5Screate_simple");
  const hid_t ds =
      h5(H5Dcreate2(file, "data", H5T_IEEE_F64LE, space, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT), "H5Dcreate2");
  const auto [fspace, mspace] = hdf5_selection(ds, p.box);
  const hid_t dxpl = hdf5_dxpl();
  double dummy = 0;
  h5(H5Dwrite(ds, H5T_NATIVE_DOUBLE, mspace, fspace, dxpl, p.box.empty() ? &dummy : p.out.data()), "H5Dwrite");
  h5(H5Pclose(dxpl), "H5Pclose");
  h5(H5Sclose(mspace), "H5Sclose");
  h5(H5Sclose(fspace), "H5Sclose");
  h5(H5Dclose(ds), "H5Dclose");
  h5(H5Sclose(space), "H5Sclose");
  h5(H5Pclose(fapl), "H5Pclose");
  h5(H5Fclose(file), "H5Fclose");
  fsync_file(path);
}

void hdf5_read(const Problem& p, const std::string& path) {
  const hid_t fapl = hdf5_fapl();
  const hid_t file = h5(H5Fopen(path.c_str(), H5F_ACC_RDONLY, fapl), "H5Fopen");
  const hid_t ds = h5(H5Dopen2(file, "data", H5P_DEFAULT), "H5Dopen2");
  const auto [fspace, mspace] = hdf5_selection(ds, p.box);
  const hid_t dxpl = hdf5_dxpl();
  double dummy = 0;
  h5(H5Dread(ds, H5T_NATIVE_DOUBLE, mspace, fspace, dxpl, p.box.empty() ? &dummy : p.in.data()), "H5Dread");
  h5(H5Pclose(dxpl), "H5Pclose");
  h5(H5Sclose(mspace), "H5Sclose");
  h5(H5Sclose(fspace), "H5Sclose");
  h5(H5Dclose(ds), "H5Dclose");
  h5(H5Pclose(fapl), "H5Pclose");
  h5(H5Fclose(file), "H5Fclose");
}

void posix_write(const Problem& p, const std::string& path) {
  if (p.rank == 0) {  // one creator, so no rank truncates another's data
    const int fd = ::open(path.c_str(), O_CREAT | O_WRONLY | O_TRUNC, 0644);
    if (fd < 0 || ::close(fd) != 0) fail("create " + path);
  }
  MPI_Barrier(MPI_COMM_WORLD);
  const int fd = ::open(path.c_str(), O_WRONLY);
  if (fd < 0) fail("open " + path);
  pwrite_all(fd, reinterpret_cast<const char*>(p.out.data()), p.local_bytes(),
             static_cast<off_t>(p.first() * static_cast<int64_t>(sizeof(double))), path);
  if (::close(fd) != 0) fail("close " + path);
  fsync_file(path);
}

void posix_read(const Problem& p, const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDONLY);
  if (fd < 0) fail("open " + path);
  pread_all(fd, reinterpret_cast<char*>(p.in.data()), p.local_bytes(),
            static_cast<off_t>(p.first() * static_cast<int64_t>(sizeof(double))), path);
  if (::close(fd) != 0) fail("close " + path);
}

struct Method {
  const char* name;
  const char* file;
  void (*write)(const Problem&, const std::string&);
  void (*read)(const Problem&, const std::string&);
  bool hdf5;
};

const Method kMethods[3] = {{"msa", "msa.h5", msa_write, msa_read, true},
                            {"raw HDF5", "raw.h5", hdf5_write, hdf5_read, true},
                            {"POSIX", "posix.bin", posix_write, posix_read, false}};

// Seconds of `f` from a barrier to the slowest rank's end (on rank 0).
template <class F>
double timed(F&& f) {
  MPI_Barrier(MPI_COMM_WORLD);
  const double t0 = now();
  f();
  const double t = now() - t0;
  double slowest = 0;
  MPI_Reduce(&t, &slowest, 1, MPI_DOUBLE, MPI_MAX, 0, MPI_COMM_WORLD);
  return slowest;
}

// Reads after each write: a read from the page cache takes milliseconds, so
// one sample a repetition would be mostly noise.
constexpr int kReadsPerWrite = 5;

// One write of `p` by method `m`, then kReadsPerWrite reads, each checked;
// the write's seconds, and the reads' appended to `reads`.
double write_then_read(const Env& env, const Problem& p, const Method& m, std::vector<double>& reads) {
  const std::string path = env.dir + "/" + m.file;
  const double write = timed([&] { m.write(p, path); });
  check_file(p, path, m.hdf5 ? hdf5_data_offset(path, env.rank) : 0, m.name);
  for (int i = 0; i < kReadsPerWrite; ++i) {
    std::fill_n(p.in.data(), p.in.size(), std::numeric_limits<double>::quiet_NaN());
    reads.push_back(timed([&] { m.read(p, path); }));
    check_read(p, m.name);
  }
  MPI_Barrier(MPI_COMM_WORLD);
  if (env.rank == 0 && ::unlink(path.c_str()) != 0) fail("remove " + path);
  MPI_Barrier(MPI_COMM_WORLD);
  return write;
}

void run_size(Env& env, std::size_t bytes, int repeats) {
  const Problem p = make_problem(env, bytes);
  std::vector<double> writes[3], reads[3];
  for (int r = 0; r < repeats; ++r)
    for (int k = 0; k < 3; ++k) {
      const int m = (r + k) % 3;  // who goes first rotates
      writes[m].push_back(write_then_read(env, p, kMethods[m], reads[m]));
    }
  if (env.rank != 0) return;
  auto gbs = [&](const std::vector<double>& t) { return static_cast<double>(bytes) / median(t) / 1e9; };
  for (const char* op : {"write", "read"}) {
    const auto& t = std::string(op) == "write" ? writes : reads;
    const double msa = gbs(t[0]);
    record(env, op, bytes, msa, gbs(t[1]), "raw HDF5", 0.95);
    record(env, op, bytes, msa, gbs(t[2]), std::string(op) == "write" ? "POSIX pwrite" : "POSIX pread", 0);
  }
}

std::string fs_type(const std::string& dir) {
  struct statfs s {};
  if (::statfs(dir.c_str(), &s) != 0) return "unknown";
  switch (static_cast<unsigned long>(s.f_type)) {
    case 0xEF53:
      return "ext2/3/4";
    case 0x58465342:
      return "xfs";
    case 0x9123683E:
      return "btrfs";
    case 0x01021994:
      return "tmpfs: fsync writes nothing, writes are memory copies";
    case 0x794C7630:
      return "overlayfs";
    case 0x6969:
      return "nfs";
    case 0x0BD00BD0:
      return "lustre";
    case 0x47504653:
      return "gpfs";
    default: {
      char b[32];
      std::snprintf(b, sizeof b, "type 0x%lx", static_cast<unsigned long>(s.f_type));
      return b;
    }
  }
}

// The files' directory: --dir, or a fresh one under $TMPDIR or /tmp (which
// the caller removes). Every rank must see it (one node, or a shared --dir).
bool prepare_dir(Env& env) {
  const bool fresh = env.dir.empty();
  char name[4096] = {};
  if (env.rank == 0) {
    if (fresh) {
      const char* tmp = std::getenv("TMPDIR");
      const std::string pattern = std::string(tmp && *tmp ? tmp : "/tmp") + "/msa_bench_store_XXXXXX";
      std::snprintf(name, sizeof name, "%s", pattern.c_str());
      if (!::mkdtemp(name)) fail("create a directory like " + pattern);
    } else {
      std::filesystem::create_directories(env.dir);
      std::snprintf(name, sizeof name, "%s", env.dir.c_str());
    }
  }
  MPI_Bcast(name, sizeof name, MPI_CHAR, 0, MPI_COMM_WORLD);
  env.dir = name;
  struct stat st {};
  const int seen = ::stat(env.dir.c_str(), &st) == 0 && S_ISDIR(st.st_mode) ? 1 : 0;
  int all = 0;
  MPI_Allreduce(&seen, &all, 1, MPI_INT, MPI_MIN, MPI_COMM_WORLD);
  if (!all) {
    if (env.rank == 0 && fresh) std::filesystem::remove_all(env.dir);
    throw msa::ConfigError("store bench: directory " + env.dir +
                           " is not visible on every rank; on several nodes pass --dir on a shared file system");
  }
  return fresh;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"Store benchmark: msa Store vs raw HDF5 and POSIX I/O in the same run"};
  Env env;
  std::string json_file;
  app.add_flag("--quick", env.quick, "16 and 64 MiB, 3 repetitions (seconds)");
  app.add_option("--json", json_file, "Write the records as a JSON array to FILE");
  app.add_option("--dir", env.dir,
                 "Directory for the files (default: a fresh one under $TMPDIR or /tmp, removed at the end); "
                 "on several nodes, one every rank sees");
  CLI11_PARSE(app, argc, argv);

  int provided = 0;
  MPI_Init_thread(&argc, &argv, MPI_THREAD_FUNNELED, &provided);
  MPI_Comm_rank(MPI_COMM_WORLD, &env.rank);
  MPI_Comm_size(MPI_COMM_WORLD, &env.size);
  Kokkos::initialize(argc, argv);
  int rc = 0;
  bool fresh = false;
  try {
    fresh = prepare_dir(env);
    std::vector<std::size_t> sizes = {std::size_t{64} << 20, std::size_t{256} << 20, std::size_t{1} << 30};
    if (env.quick) sizes = {std::size_t{16} << 20, std::size_t{64} << 20};
    const int repeats = env.quick ? 3 : 5;
    if (env.rank == 0) {
      std::printf("store: %d ranks, files in %s (%s); %d repetitions, medians; methods in a rotating order\n", env.size,
                  env.dir.c_str(), fs_type(env.dir).c_str(), repeats);
      std::printf(
          "store: array [n, %lld, %lld] of double split along dimension 0; write = create, write own box, close, then "
          "each rank reopens the file and fsyncs it, timed from a barrier to the slowest rank\n",
          static_cast<long long>(kEdge), static_cast<long long>(kEdge));
      std::printf(
          "store: read = open, read own box, close, %d times after each write; nothing is dropped from the page "
          "cache, so reads are likely served from memory\n",
          kReadsPerWrite);
      std::fflush(stdout);
    }
    {
      const Problem warm = make_problem(env, static_cast<std::size_t>(2 * env.size * kPlane) * sizeof(double));
      std::vector<double> ignored;
      for (const Method& m : kMethods) write_then_read(env, warm, m, ignored);  // libraries and MPI-IO loaded, untimed
    }
    for (std::size_t bytes : sizes) run_size(env, bytes, repeats);
    if (env.rank == 0 && !json_file.empty()) {
      msa::bench::write_records(env.records, json_file);
    }
    MPI_Barrier(MPI_COMM_WORLD);
    if (env.rank == 0 && fresh) std::filesystem::remove_all(env.dir);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "msa_bench_store: rank %d: %s\n", env.rank, e.what());
    std::error_code ec;
    if (fresh && !env.dir.empty()) std::filesystem::remove_all(env.dir, ec);
    rc = 1;
    MPI_Abort(MPI_COMM_WORLD, 1);
  }
  Kokkos::finalize();
  MPI_Finalize();
  return rc;
}

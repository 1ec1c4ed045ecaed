#pragma once
/// Atomic checkpoints and restart through the Store.
///
///   msa::io::Checkpoints checkpoints(session.component(), "restart", "model", /*keep=*/3);
///   auto cp = checkpoints.begin(step, time);       // writes <dir>/model.<step>.h5.tmp
///   cp.write("h", h, decomposition);               // each rank its box, any layout
///   cp.set_attribute("dt", dt);
///   cp.commit();                                   // close, fsync, rename, keep the newest 3
///
///   if (auto restart = checkpoints.latest()) {     // newest checkpoint whose checksums verify
///     restart->read("h", h, decomposition);         // any rank count, any decomposition
///     step = restart->info().step;
///   }
///
/// A checkpoint carries a checksum of every array (over values and their
/// global positions, so it verifies whatever decomposition reads it) and one of
/// its metadata (step, time, writer ranks, shapes, types, writers' boxes,
/// attributes). A failed or interrupted checkpoint never replaces the previous
/// good one: it is written under a temporary name and renamed only once
/// complete, on disk and verified. Every call is collective over the communicator.

#include <mpi.h>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "msa/decomposition.hpp"
#include "msa/io/store.hpp"

namespace msa::io {

/// What a checkpoint is, from its metadata.
struct CheckpointInfo {
  std::string path;
  int64_t step = 0;
  double time = 0;
  int writer_ranks = 0;
  std::vector<std::string> arrays;  ///< in the order they were written
};

/// A checkpoint being written (Checkpoints::begin). Destroying it without
/// commit() removes the temporary file.
class CheckpointWriter {
 public:
  CheckpointWriter(CheckpointWriter&&) noexcept;
  CheckpointWriter& operator=(CheckpointWriter&&) noexcept;
  ~CheckpointWriter();

  /// Collective: stores array `name` of shape d.global, each rank its d.box
  /// from `view` (extents = the box's; any layout, any memory space).
  template <class View>
  void write(const std::string& name, const View& view, const Decomposition& d) {
    using T = typename View::non_const_value_type;
    std::string error;
    try {
      msa::detail::check_extents<IoError>(view, d.box, [&] { return "checkpoint array '" + name + "'"; });
    } catch (const IoError& e) {
      error = e.what();
    }
    std::vector<T> packed(error.empty() ? static_cast<std::size_t>(d.box.volume()) : 0);
    if (error.empty()) msa::detail::pack_view(view, d.box, d.box, packed.data());
    write_raw(name, packed.data(), data_type_of<T>(), d, error);
  }
  /// Collective: a number, string or array kept with the checkpoint (names
  /// starting with "msa_" are reserved).
  void set_attribute(const std::string& name, const AttributeValue& value);
  /// Collective: closes the file, fsyncs it, reads it back to verify the
  /// checksums (some MPI-IO layers do not report failed writes), renames it
  /// into place (then fsyncs the directory) and removes all but the newest `keep`. On failure
  /// the temporary file is removed, the previous checkpoints are untouched,
  /// and every rank throws the same IoError.
  CheckpointInfo commit();

 private:
  friend class Checkpoints;
  struct State;
  explicit CheckpointWriter(std::unique_ptr<State> state);
  void write_raw(const std::string& name, const void* data, DataType type, const Decomposition& d,
                 const std::string& local_error);
  std::unique_ptr<State> m_state;
};

/// A verified checkpoint, open for reading.
class Restart {
 public:
  const CheckpointInfo& info() const { return m_info; }
  /// The stored array's global shape and type (IoError naming the arrays there if missing).
  std::vector<int64_t> shape(const std::string& name) const;
  DataType type(const std::string& name) const;
  /// Collective: reads this rank's d.box of array `name` into `view`. IoError
  /// if the array is missing or its type or global shape is not the one asked for.
  template <class View>
  void read(const std::string& name, const View& view, const Decomposition& d) const {
    using T = typename View::non_const_value_type;
    array(name, data_type_of<T>(), d.global).read(view, d.box);
  }
  AttributeValue attribute(const std::string& name) const { return m_file.attribute(name); }
  template <class T>
  T attribute_as(const std::string& name) const {
    return m_file.attribute_as<T>(name);
  }

 private:
  friend class Checkpoints;
  Restart(File file, CheckpointInfo info) : m_file(std::move(file)), m_info(std::move(info)) {}
  Dataset array(const std::string& name, DataType type, const std::vector<int64_t>& global) const;
  File m_file;
  CheckpointInfo m_info;
};

/// The checkpoints of one program in one directory: files <prefix>.<step>.h5.
class Checkpoints {
 public:
  /// Collective over `comm` (used by every call). `keep` >= 1 newest
  /// checkpoints are kept. The directory is created when first written.
  Checkpoints(MPI_Comm comm, std::string directory, std::string prefix = "checkpoint", int keep = 2);

  /// Collective: starts checkpoint `step` (removing leftovers of interrupted ones).
  CheckpointWriter begin(int64_t step, double time);
  /// Collective: the newest checkpoint whose metadata and array checksums
  /// verify (reading every array once), or nothing if there is none. A
  /// damaged newer one is skipped with a warning on stderr naming the reason.
  std::optional<Restart> latest() const;
  /// Collective: verifies the checkpoint at `path`; IoError with the reason if it is not valid.
  Restart open(const std::string& path) const;
  /// Checkpoint files present, newest first (not verified). Not collective.
  std::vector<std::string> files() const;

  const std::string& directory() const { return m_directory; }

 private:
  MPI_Comm m_comm;
  std::string m_directory;
  std::string m_prefix;
  int m_keep;
};

}  // namespace msa::io

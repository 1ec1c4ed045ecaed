#pragma once
/// The Store: HDF5 files both modules read and write. Every HDF5 handle has an
/// owner; every HDF5 failure is an IoError naming the file, the object and the
/// rank, with HDF5's own reason (HDF5 itself prints nothing).
///
///   auto file = msa::io::File::create("out.h5", session.component());   // parallel (MPI-IO)
///   auto ds = file.create_dataset<double>("h", {ny, nx}, {.chunk = {64, 64}, .deflate = 4});
///   ds.write(h, my_box);                  // collective: each rank its box, any layout
///   ds.set_attribute("units", "m");
///
/// Parallel files: every call that creates, opens, resizes or writes metadata
/// (groups, datasets, attributes) is collective over the file's communicator
/// and must be made with the same arguments on every rank; dataset write() and
/// read() are collective, each rank giving its own box (possibly empty).
/// Serial files: nothing is collective. Nothing here is thread-safe.

#include <mpi.h>

#include <Kokkos_Core.hpp>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <type_traits>
#include <variant>
#include <vector>

#include "msa/channel.hpp"  // DataType
#include "msa/decomposition.hpp"
#include "msa/detail/channel_kernels.hpp"
#include "msa/error.hpp"

namespace msa::io {

namespace detail {
/// An owned HDF5 identifier (hid_t), closed with the call its kind needs.
class Handle {
 public:
  Handle() noexcept = default;
  explicit Handle(int64_t id) noexcept : m_id(id) {}
  ~Handle() { reset(); }
  Handle(Handle&& o) noexcept : m_id(o.m_id) { o.m_id = -1; }
  Handle& operator=(Handle&& o) noexcept {
    if (this != &o) {
      reset();
      m_id = o.m_id;
      o.m_id = -1;
    }
    return *this;
  }
  Handle(const Handle&) = delete;
  Handle& operator=(const Handle&) = delete;
  int64_t get() const noexcept { return m_id; }
  explicit operator bool() const noexcept { return m_id >= 0; }
  /// Closes now, reporting (not throwing) a failure on stderr.
  void reset() noexcept;
  /// Gives up ownership.
  int64_t release() noexcept {
    const int64_t id = m_id;
    m_id = -1;
    return id;
  }

 private:
  int64_t m_id = -1;
};
struct FileState;
}  // namespace detail

/// Values of attributes: numbers, strings and arrays of numbers.
using AttributeValue = std::variant<int64_t, double, std::string, std::vector<int64_t>, std::vector<double>>;

/// How a dataset is laid out on disk.
struct DatasetOptions {
  /// Largest shape (resize() up to it); -1 in a dimension means unlimited.
  /// Empty: the shape is fixed.
  std::vector<int64_t> max_shape;
  /// Chunk shape. Empty: contiguous, unless max_shape or deflate needs chunks
  /// (then chosen here: about 1 MiB, whole trailing dimensions first).
  std::vector<int64_t> chunk;
  int deflate = 0;             ///< gzip level 0 (off) to 9; needs chunks
  bool shuffle = false;        ///< byte shuffle before deflate
  std::optional<double> fill;  ///< value of elements never written (converted to the dataset's type)
};

class Dataset;
class Group;

/// What groups and datasets share: a name and attributes.
class Object {
 public:
  /// "file.h5:/group/name", for messages.
  std::string where() const;
  /// The object's path inside the file ("/group/name").
  const std::string& path() const { return m_path; }

  /// Creates or replaces attribute `name`. Collective in parallel files.
  void set_attribute(const std::string& name, const AttributeValue& value);
  /// Reads attribute `name`: integers as int64_t, floating point as double,
  /// strings as std::string, arrays as vectors. IoError if missing.
  AttributeValue attribute(const std::string& name) const;
  /// attribute(name) as T (int64_t, double, std::string, std::vector<...>);
  /// IoError naming the stored type if it is another.
  template <class T>
  T attribute_as(const std::string& name) const {
    const AttributeValue v = attribute(name);
    if constexpr (std::is_same_v<T, double>) {
      if (std::holds_alternative<int64_t>(v)) return static_cast<double>(std::get<int64_t>(v));
    }
    if (!std::holds_alternative<T>(v)) throw_attribute_type(name);
    return std::get<T>(v);
  }
  bool has_attribute(const std::string& name) const;
  std::vector<std::string> attribute_names() const;

  /// The raw HDF5 identifier (borrowed), for calls msa does not wrap.
  int64_t id() const { return m_handle.get(); }

 protected:
  Object() = default;
  Object(detail::Handle handle, std::shared_ptr<detail::FileState> file, std::string path)
      : m_handle(std::move(handle)), m_file(std::move(file)), m_path(std::move(path)) {}
  [[noreturn]] void throw_attribute_type(const std::string& name) const;

  detail::Handle m_handle;
  std::shared_ptr<detail::FileState> m_file;
  std::string m_path;
};

/// A dataset: an N-d array of one element type (N <= 4 for distributed I/O).
class Dataset : public Object {
 public:
  Dataset() = default;
  DataType type() const;
  /// The current shape.
  std::vector<int64_t> shape() const;
  /// The largest shape (-1: unlimited).
  std::vector<int64_t> max_shape() const;
  /// The chunk shape (empty when contiguous).
  std::vector<int64_t> chunk() const;

  /// Collective: writes each rank's `box` (global indices; may be empty) from
  /// `view`, whose extents are the box's. Any layout, subviews, any memory
  /// space (device data is staged through host memory). The view's element
  /// type must be the dataset's: no silent conversion.
  template <class View>
  void write(const View& view, const Box& box) {
    using T = typename View::non_const_value_type;
    const std::string error = view_error(view, box, "write");
    if constexpr (msa::detail::host_accessible<View>()) {
      if (error.empty() && msa::detail::contiguous_right(view)) {
        transfer(const_cast<T*>(view.data()), data_type_of<T>(), box, true, error);
        return;
      }
    }
    std::vector<T> packed(error.empty() ? static_cast<std::size_t>(box.volume()) : 0);
    if (error.empty()) msa::detail::pack_view(view, box, box, packed.data());
    transfer(packed.data(), data_type_of<T>(), box, true, error);
  }
  /// Collective: reads each rank's `box` into `view` (extents = box's; any
  /// layout or memory space). Any decomposition, whoever wrote the data.
  template <class View>
  void read(const View& view, const Box& box) const {
    using T = typename View::non_const_value_type;
    const std::string error = view_error(view, box, "read");
    if constexpr (msa::detail::host_accessible<View>()) {
      if (error.empty() && msa::detail::contiguous_right(view)) {
        transfer(view.data(), data_type_of<T>(), box, false, error);
        return;
      }
    }
    std::vector<T> packed(error.empty() ? static_cast<std::size_t>(box.volume()) : 0);
    transfer(packed.data(), data_type_of<T>(), box, false, error);
    msa::detail::unpack_view(view, box, box, packed.data());
  }
  /// Collective: `data` holds `box` contiguously (LayoutRight order, host memory).
  void write_raw(const void* data, DataType type, const Box& box);
  void read_raw(void* data, DataType type, const Box& box) const;
  /// Collective: changes the shape (within max_shape).
  void resize(const std::vector<int64_t>& shape);

 private:
  friend class Group;
  using Object::Object;
  // The problem with `view` for `box` ("" if none): reported on every rank
  // by the collective transfer, so one rank's mistake cannot hang the others.
  template <class View>
  std::string view_error(const View& view, const Box& box, const char* what) const {
    static_assert(Kokkos::is_view<View>::value, "Dataset reads and writes Kokkos views");
    try {
      msa::detail::check_extents<IoError>(view, box, [&] { return std::string(what) + " of " + where(); });
    } catch (const IoError& e) {
      return e.what();
    }
    return {};
  }
  void transfer(void* data, DataType type, const Box& box, bool write, const std::string& local_error) const;
};

/// A group: a folder of datasets and groups.
class Group : public Object {
 public:
  Group() = default;
  /// Collective in parallel files. IoError if it exists.
  Group create_group(const std::string& name);
  /// Opens an existing group (IoError naming the file and what exists if not).
  Group group(const std::string& name) const;
  /// Whether a link `name` exists here (a relative path of existing groups is allowed).
  bool contains(const std::string& name) const;
  /// Names of the members, in creation order when tracked, else by name.
  std::vector<std::string> members() const;

  /// Collective in parallel files: creates a dataset of `shape`.
  Dataset create_dataset(const std::string& name, DataType type, const std::vector<int64_t>& shape,
                         const DatasetOptions& options = {});
  template <class T>
  Dataset create_dataset(const std::string& name, const std::vector<int64_t>& shape,
                         const DatasetOptions& options = {}) {
    return create_dataset(name, data_type_of<T>(), shape, options);
  }
  /// Opens an existing dataset; with `type`/`shape`, checks them (IoError
  /// naming the expected and the stored ones).
  Dataset dataset(const std::string& name) const;
  Dataset dataset(const std::string& name, DataType type, const std::vector<int64_t>& shape) const;

 protected:
  friend class File;
  using Object::Object;
};

/// How to open an existing file.
enum class Mode { read_only, read_write };

/// An HDF5 file, serial or parallel. The root group's operations are the file's.
class File : public Group {
 public:
  File() = default;
  /// Internal: wraps the root group of an open file (use create() or open()).
  File(detail::Handle root, std::shared_ptr<detail::FileState> state);
  /// Parallel (MPI-IO, collective metadata), collective over `comm`:
  /// creates `path`, replacing an existing file.
  static File create(const std::string& path, MPI_Comm comm);
  /// Serial (this process only): creates `path`, replacing an existing file.
  static File create(const std::string& path);
  /// Parallel, collective over `comm`. IoError if missing, not HDF5 or damaged.
  static File open(const std::string& path, MPI_Comm comm, Mode mode = Mode::read_only);
  /// Serial.
  static File open(const std::string& path, Mode mode = Mode::read_only);

  /// The file name as given.
  const std::string& filename() const;
  bool parallel() const;
  /// The communicator (MPI_COMM_SELF for serial files).
  MPI_Comm comm() const;
  /// Collective: writes HDF5's buffers to the file system (no fsync).
  void flush();
  /// Collective: closes the file, reporting errors (a full disk often shows
  /// here) as IoError. Objects opened from it must be gone. Idempotent.
  void close();
};

/// Whether `path` is an HDF5 file (signature check; false if missing).
bool is_hdf5(const std::string& path);

}  // namespace msa::io

// Files, groups, datasets and attributes over the HDF5 C API.
#include "msa/io/store.hpp"

#include <fmt/format.h>
#include <sys/stat.h>

#include <algorithm>
#include <cstdio>
#include <cstring>

#include "h5.hpp"
#include "mpi_util.hpp"  // the runtime's agree_on_error
#include "msa/comm.hpp"

namespace msa::io {

namespace detail {

void silence_hdf5() { H5Eset_auto2(H5E_DEFAULT, nullptr, nullptr); }

std::string hdf5_reason() {
  std::vector<std::string> lines;
  H5Ewalk2(
      H5E_DEFAULT, H5E_WALK_DOWNWARD,
      [](unsigned, const H5E_error2_t* e, void* data) -> herr_t {
        auto* out = static_cast<std::vector<std::string>*>(data);
        if (e->desc && *e->desc) out->emplace_back(e->desc);
        return 0;
      },
      &lines);
  H5Eclear2(H5E_DEFAULT);
  if (lines.empty()) return "no reason given";
  if (lines.size() == 1) return lines.front();
  return lines.front() + ": " + lines.back();
}

void throw_hdf5(const std::string& what, const std::string& where, int rank) {
  throw IoError(fmt::format("{} ({}, rank {}): HDF5: {}", what, where, rank, hdf5_reason()));
}

FileState::~FileState() {
  file.reset();
  transfer.reset();
  if (parallel && comm != MPI_COMM_NULL) {
    int finalized = 0;
    MPI_Finalized(&finalized);
    if (!finalized) MPI_Comm_free(&comm);
  }
}

void FileState::agree(const std::string& error) const {
  if (parallel)
    msa::detail::agree_on_error(comm, error, 4);
  else if (!error.empty())
    throw IoError(error);
}

namespace {
// Each DataType's native (memory) and little-endian (file) HDF5 type.
struct TypePair {
  hid_t memory, file;
};
TypePair types_of(DataType type) {
  switch (type) {
    case DataType::float32:
      return {H5T_NATIVE_FLOAT, H5T_IEEE_F32LE};
    case DataType::float64:
      return {H5T_NATIVE_DOUBLE, H5T_IEEE_F64LE};
    case DataType::int32:
      return {H5T_NATIVE_INT32, H5T_STD_I32LE};
    case DataType::int64:
      return {H5T_NATIVE_INT64, H5T_STD_I64LE};
    case DataType::uint8:
      return {H5T_NATIVE_UINT8, H5T_STD_U8LE};
  }
  return {H5T_NATIVE_DOUBLE, H5T_IEEE_F64LE};
}
}  // namespace

hid_t memory_type(DataType type) { return types_of(type).memory; }
hid_t file_type(DataType type) { return types_of(type).file; }

DataType data_type_of_hdf5(hid_t type, const std::string& where) {
  const H5T_class_t cls = H5Tget_class(type);
  const std::size_t size = H5Tget_size(type);
  if (cls == H5T_FLOAT && size == 4) return DataType::float32;
  if (cls == H5T_FLOAT && size == 8) return DataType::float64;
  if (cls == H5T_INTEGER) {
    const bool is_signed = H5Tget_sign(type) == H5T_SGN_2;
    if (is_signed && size == 4) return DataType::int32;
    if (is_signed && size == 8) return DataType::int64;
    if (!is_signed && size == 1) return DataType::uint8;
    throw IoError(fmt::format("{}: {}-bit {} integers are not supported (int32, int64, uint8 are)", where, 8 * size,
                              is_signed ? "signed" : "unsigned"));
  }
  throw IoError(
      fmt::format("{}: HDF5 type class {} of {} bytes is not supported (float, double, int32, int64, uint8 are)", where,
                  static_cast<int>(cls), size));
}

std::vector<hsize_t> to_hsize(const std::vector<int64_t>& v) {
  std::vector<hsize_t> out;
  out.reserve(v.size());
  for (auto x : v) out.push_back(x < 0 ? H5S_UNLIMITED : static_cast<hsize_t>(x));
  return out;
}

void Handle::reset() noexcept {
  if (m_id < 0) return;
  const hid_t id = m_id;
  m_id = -1;
  silence_hdf5();
  if (H5Iis_valid(id) <= 0) return;  // closed with its file already
  herr_t status = 0;
  switch (H5Iget_type(id)) {
    case H5I_FILE:
      status = H5Fclose(id);
      break;
    case H5I_GROUP:
      status = H5Gclose(id);
      break;
    case H5I_DATASET:
      status = H5Dclose(id);
      break;
    case H5I_ATTR:
      status = H5Aclose(id);
      break;
    case H5I_DATASPACE:
      status = H5Sclose(id);
      break;
    case H5I_DATATYPE:
      status = H5Tclose(id);
      break;
    case H5I_GENPROP_LST:
      status = H5Pclose(id);
      break;
    default:
      status = H5Idec_ref(id);
  }
  if (status < 0) {
    try {
      std::fprintf(stderr, "msa: closing an HDF5 object failed: %s\n", hdf5_reason().c_str());
    } catch (...) {
    }
  }
}

}  // namespace detail

using detail::Handle;
using detail::to_hsize;

namespace {

std::string child_path(const std::string& parent, const std::string& name) {
  if (!name.empty() && name.front() == '/') return name;
  return parent == "/" ? "/" + name : parent + "/" + name;
}

Handle make_plist(hid_t cls, const detail::FileState& f, const std::string& path) {
  return Handle(f.check(H5Pcreate(cls), "cannot create a property list", path));
}

// Shape of a dataspace.
std::vector<int64_t> space_shape(hid_t space, bool max, const detail::FileState& f, const std::string& path) {
  const int nd = f.check(H5Sget_simple_extent_ndims(space), "cannot read the shape", path);
  std::vector<hsize_t> dims(static_cast<std::size_t>(nd)), maxdims(static_cast<std::size_t>(nd));
  f.check(H5Sget_simple_extent_dims(space, dims.data(), maxdims.data()), "cannot read the shape", path);
  std::vector<int64_t> out;
  for (int d = 0; d < nd; ++d) {
    const hsize_t x = max ? maxdims[static_cast<std::size_t>(d)] : dims[static_cast<std::size_t>(d)];
    out.push_back(x == H5S_UNLIMITED ? -1 : static_cast<int64_t>(x));
  }
  return out;
}

// About 1 MiB per chunk: whole trailing dimensions first.
std::vector<int64_t> default_chunk(const std::vector<int64_t>& shape, std::size_t element) {
  std::vector<int64_t> chunk(shape.size(), 1);
  int64_t budget = std::max<int64_t>(1, static_cast<int64_t>((1u << 20) / element));
  for (std::size_t i = shape.size(); i-- > 0;) {
    const int64_t extent = std::max<int64_t>(1, shape[i]);
    chunk[i] = std::max<int64_t>(1, std::min(extent, budget));
    budget = std::max<int64_t>(1, budget / chunk[i]);
  }
  return chunk;
}

Handle create_file(const std::string& path, MPI_Comm comm, detail::FileState& f) {
  detail::silence_hdf5();
  Handle fcpl = make_plist(H5P_FILE_CREATE, f, "/");
  // Creation order of links and attributes, as netCDF-4 keeps it.
  f.check(H5Pset_link_creation_order(fcpl.get(), H5P_CRT_ORDER_TRACKED | H5P_CRT_ORDER_INDEXED),
          "cannot set creation order", "/");
  f.check(H5Pset_attr_creation_order(fcpl.get(), H5P_CRT_ORDER_TRACKED | H5P_CRT_ORDER_INDEXED),
          "cannot set creation order", "/");
  Handle fapl = make_plist(H5P_FILE_ACCESS, f, "/");
  if (f.parallel) {
    f.check(H5Pset_fapl_mpio(fapl.get(), comm, MPI_INFO_NULL), "cannot set up MPI-IO", "/");
    f.check(H5Pset_all_coll_metadata_ops(fapl.get(), 1), "cannot set collective metadata", "/");
    f.check(H5Pset_coll_metadata_write(fapl.get(), 1), "cannot set collective metadata", "/");
  }
  f.check(H5Pset_fclose_degree(fapl.get(), H5F_CLOSE_STRONG), "cannot set the close degree", "/");
  const hid_t id = H5Fcreate(path.c_str(), H5F_ACC_TRUNC, fcpl.get(), fapl.get());
  if (id < 0) detail::throw_hdf5("cannot create the file", f.where("/"), f.rank);
  return Handle(id);
}

void check_exists(const std::string& path, int rank) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0)
    throw IoError(fmt::format("'{}' (rank {}): {}", path, rank, std::strerror(errno)));
  if (!S_ISREG(st.st_mode)) throw IoError(fmt::format("'{}' (rank {}): not a regular file", path, rank));
  detail::silence_hdf5();
  if (H5Fis_hdf5(path.c_str()) <= 0) {
    H5Eclear2(H5E_DEFAULT);
    throw IoError(fmt::format("'{}' (rank {}): not an HDF5 file ({} bytes, no HDF5 signature)", path, rank,
                              static_cast<long long>(st.st_size)));
  }
}

Handle open_file(const std::string& path, MPI_Comm comm, Mode mode, detail::FileState& f) {
  Handle fapl = make_plist(H5P_FILE_ACCESS, f, "/");
  if (f.parallel) {
    f.check(H5Pset_fapl_mpio(fapl.get(), comm, MPI_INFO_NULL), "cannot set up MPI-IO", "/");
    f.check(H5Pset_all_coll_metadata_ops(fapl.get(), 1), "cannot set collective metadata", "/");
    f.check(H5Pset_coll_metadata_write(fapl.get(), 1), "cannot set collective metadata", "/");
  }
  f.check(H5Pset_fclose_degree(fapl.get(), H5F_CLOSE_STRONG), "cannot set the close degree", "/");
  const hid_t id = H5Fopen(path.c_str(), mode == Mode::read_write ? H5F_ACC_RDWR : H5F_ACC_RDONLY, fapl.get());
  if (id < 0)
    detail::throw_hdf5(mode == Mode::read_write ? "cannot open for writing" : "cannot open", f.where("/"), f.rank);
  return Handle(id);
}

std::shared_ptr<detail::FileState> new_state(const std::string& path, MPI_Comm comm, bool parallel) {
  auto f = std::make_shared<detail::FileState>();
  f->filename = path;
  f->parallel = parallel;
  if (parallel) {
    check_mpi(MPI_Comm_dup(comm, &f->comm), "Store: duplicate the file's communicator");
    check_mpi(MPI_Comm_rank(f->comm, &f->rank), "Store: MPI_Comm_rank");
    check_mpi(MPI_Comm_size(f->comm, &f->size), "Store: MPI_Comm_size");
  } else {
    int initialized = 0;
    MPI_Initialized(&initialized);
    if (initialized) MPI_Comm_rank(MPI_COMM_WORLD, &f->rank);
  }
  return f;
}

}  // namespace

// ---- Object ----------------------------------------------------------------

std::string Object::where() const { return m_file ? m_file->where(m_path) : "(closed object)"; }

void Object::throw_attribute_type(const std::string& name) const {
  const AttributeValue v = attribute(name);
  static const char* names[] = {"an integer", "a floating-point number", "a string", "an integer array",
                                "a floating-point array"};
  throw IoError(fmt::format("attribute '{}' of {} is {}", name, where(), names[v.index()]));
}

bool Object::has_attribute(const std::string& name) const {
  if (!m_file) throw IoError("attribute '" + name + "': object is not open");
  return m_file->check(H5Aexists(id(), name.c_str()), "cannot look up attribute '" + name + "'", m_path) > 0;
}

void Object::set_attribute(const std::string& name, const AttributeValue& value) {
  auto& f = *m_file;
  const std::string what = "cannot write attribute '" + name + "'";
  detail::collectively(f, [&] {
    if (H5Aexists(id(), name.c_str()) > 0) f.check(H5Adelete(id(), name.c_str()), what, m_path);
    Handle type, space;
    const void* data = nullptr;
    hid_t memtype = -1;
    int64_t i = 0;
    double d = 0;
    if (std::holds_alternative<int64_t>(value)) {
      i = std::get<int64_t>(value);
      type = Handle(H5Tcopy(H5T_STD_I64LE));
      space = Handle(H5Screate(H5S_SCALAR));
      data = &i;
      memtype = H5T_NATIVE_INT64;
    } else if (std::holds_alternative<double>(value)) {
      d = std::get<double>(value);
      type = Handle(H5Tcopy(H5T_IEEE_F64LE));
      space = Handle(H5Screate(H5S_SCALAR));
      data = &d;
      memtype = H5T_NATIVE_DOUBLE;
    } else if (std::holds_alternative<std::string>(value)) {
      const auto& s = std::get<std::string>(value);
      type = Handle(H5Tcopy(H5T_C_S1));
      f.check(H5Tset_size(type.get(), std::max<std::size_t>(1, s.size())), what, m_path);
      f.check(H5Tset_strpad(type.get(), H5T_STR_NULLTERM), what, m_path);
      space = Handle(H5Screate(H5S_SCALAR));
      data = s.empty() ? "" : s.data();
      memtype = type.get();
    } else {
      const bool ints = std::holds_alternative<std::vector<int64_t>>(value);
      const hsize_t n =
          ints ? std::get<std::vector<int64_t>>(value).size() : std::get<std::vector<double>>(value).size();
      type = Handle(H5Tcopy(ints ? H5T_STD_I64LE : H5T_IEEE_F64LE));
      space = Handle(n ? H5Screate_simple(1, &n, nullptr) : H5Screate(H5S_NULL));
      data = ints ? static_cast<const void*>(std::get<std::vector<int64_t>>(value).data())
                  : static_cast<const void*>(std::get<std::vector<double>>(value).data());
      memtype = ints ? H5T_NATIVE_INT64 : H5T_NATIVE_DOUBLE;
    }
    f.check(type.get(), what, m_path);
    f.check(space.get(), what, m_path);
    Handle attr(
        f.check(H5Acreate2(id(), name.c_str(), type.get(), space.get(), H5P_DEFAULT, H5P_DEFAULT), what, m_path));
    if (H5Sget_simple_extent_type(space.get()) != H5S_NULL) f.check(H5Awrite(attr.get(), memtype, data), what, m_path);
  });
}

AttributeValue Object::attribute(const std::string& name) const {
  if (!m_file) throw IoError("attribute '" + name + "': object is not open");
  const auto& f = *m_file;
  const std::string what = "cannot read attribute '" + name + "'";
  if (!has_attribute(name)) throw IoError(fmt::format("{} has no attribute '{}'", where(), name));
  Handle attr(f.check(H5Aopen(id(), name.c_str(), H5P_DEFAULT), what, m_path));
  Handle type(f.check(H5Aget_type(attr.get()), what, m_path));
  Handle space(f.check(H5Aget_space(attr.get()), what, m_path));
  const H5S_class_t space_class = H5Sget_simple_extent_type(space.get());
  const hssize_t n = space_class == H5S_NULL ? 0 : H5Sget_simple_extent_npoints(space.get());
  const bool scalar = space_class == H5S_SCALAR;
  switch (H5Tget_class(type.get())) {
    case H5T_INTEGER: {
      std::vector<int64_t> v(static_cast<std::size_t>(n));
      if (n) f.check(H5Aread(attr.get(), H5T_NATIVE_INT64, v.data()), what, m_path);
      if (scalar) return v.at(0);
      return v;
    }
    case H5T_FLOAT: {
      std::vector<double> v(static_cast<std::size_t>(n));
      if (n) f.check(H5Aread(attr.get(), H5T_NATIVE_DOUBLE, v.data()), what, m_path);
      if (scalar) return v.at(0);
      return v;
    }
    case H5T_STRING: {
      if (n != 1)
        throw IoError(fmt::format("attribute '{}' of {}: arrays of strings are not supported", name, where()));
      if (H5Tis_variable_str(type.get()) > 0) {
        char* s = nullptr;
        Handle mem(H5Tcopy(H5T_C_S1));
        H5Tset_size(mem.get(), H5T_VARIABLE);
        f.check(H5Aread(attr.get(), mem.get(), &s), what, m_path);
        std::string out = s ? s : "";
        H5free_memory(s);
        return out;
      }
      const std::size_t size = H5Tget_size(type.get());
      std::string out(size, '\0');
      f.check(H5Aread(attr.get(), type.get(), out.data()), what, m_path);
      out.resize(std::strlen(out.c_str()));
      return out;
    }
    default:
      throw IoError(fmt::format("attribute '{}' of {} has an unsupported type", name, where()));
  }
}

std::vector<std::string> Object::attribute_names() const {
  std::vector<std::string> names;
  hsize_t index = 0;
  m_file->check(H5Aiterate2(
                    id(), H5_INDEX_NAME, H5_ITER_INC, &index,
                    [](hid_t, const char* name, const H5A_info_t*, void* data) -> herr_t {
                      static_cast<std::vector<std::string>*>(data)->emplace_back(name);
                      return 0;
                    },
                    &names),
                "cannot list attributes", m_path);
  return names;
}

// ---- Dataset ---------------------------------------------------------------

DataType Dataset::type() const {
  Handle t(m_file->check(H5Dget_type(id()), "cannot read the type", m_path));
  return detail::data_type_of_hdf5(t.get(), where());
}

std::vector<int64_t> Dataset::shape() const {
  Handle space(m_file->check(H5Dget_space(id()), "cannot read the shape", m_path));
  return space_shape(space.get(), false, *m_file, m_path);
}

std::vector<int64_t> Dataset::max_shape() const {
  Handle space(m_file->check(H5Dget_space(id()), "cannot read the shape", m_path));
  return space_shape(space.get(), true, *m_file, m_path);
}

std::vector<int64_t> Dataset::chunk() const {
  Handle dcpl(m_file->check(H5Dget_create_plist(id()), "cannot read the layout", m_path));
  if (H5Pget_layout(dcpl.get()) != H5D_CHUNKED) return {};
  hsize_t dims[32];
  const int nd = m_file->check(H5Pget_chunk(dcpl.get(), 32, dims), "cannot read the chunks", m_path);
  return std::vector<int64_t>(dims, dims + nd);
}

namespace {

// Selections of `box` in a dataset's file space and in memory.
struct Selection {
  Handle file;
  Handle memory;
};

Selection select(const detail::FileState& f, hid_t dataset, const std::string& path, const Box& box) {
  Selection s;
  s.file = Handle(f.check(H5Dget_space(dataset), "cannot read the shape", path));
  if (box.empty()) {
    const hsize_t one = 1;
    s.memory = Handle(f.check(H5Screate_simple(1, &one, nullptr), "cannot make a selection", path));
    f.check(H5Sselect_none(s.file.get()), "cannot make a selection", path);
    f.check(H5Sselect_none(s.memory.get()), "cannot make a selection", path);
    return s;
  }
  hsize_t start[kMaxDims], count[kMaxDims];
  for (int d = 0; d < box.ndims; ++d) {
    start[d] = static_cast<hsize_t>(box.start[static_cast<std::size_t>(d)]);
    count[d] = static_cast<hsize_t>(box.count[static_cast<std::size_t>(d)]);
  }
  f.check(H5Sselect_hyperslab(s.file.get(), H5S_SELECT_SET, start, nullptr, count, nullptr),
          "cannot select " + box.to_string(), path);
  s.memory = Handle(f.check(H5Screate_simple(box.ndims, count, nullptr), "cannot make a selection", path));
  return s;
}

// Rank-local checks before a collective transfer.
void check_transfer(const Dataset& ds, DataType type, const Box& box, const char* verb) {
  const DataType stored = ds.type();
  if (stored != type)
    throw IoError(fmt::format("{} {}: the data is {} but the dataset holds {}", verb, ds.where(), to_string(type),
                              to_string(stored)));
  const auto shape = ds.shape();
  if (static_cast<int>(shape.size()) != box.ndims)
    throw IoError(fmt::format("{} {}: box {} is {}-d but the dataset is {}-d {}", verb, ds.where(), box.to_string(),
                              box.ndims, shape.size(), shape_to_string(shape)));
  if (!box.empty() && !Box::whole(shape).contains(box))
    throw IoError(fmt::format("{} {}: box {} lies outside the dataset's shape {}", verb, ds.where(), box.to_string(),
                              shape_to_string(shape)));
}

}  // namespace

void Dataset::write_raw(const void* data, DataType type, const Box& box) {
  transfer(const_cast<void*>(data), type, box, true, {});
}

void Dataset::read_raw(void* data, DataType type, const Box& box) const { transfer(data, type, box, false, {}); }

void Dataset::transfer(void* data, DataType type, const Box& box, bool write, const std::string& local_error) const {
  const auto& f = *m_file;
  detail::collectively(f, [&] {
    if (!local_error.empty()) throw IoError(local_error);
    check_transfer(*this, type, box, write ? "write to" : "read of");
  });
  detail::collectively(f, [&] {
    Selection s = select(f, id(), m_path, box);
    char dummy = 0;
    void* buffer = data ? data : &dummy;
    const hid_t dxpl = f.transfer ? f.transfer.get() : H5P_DEFAULT;
    if (write)
      f.check(H5Dwrite(id(), detail::memory_type(type), s.memory.get(), s.file.get(), dxpl, buffer),
              "cannot write " + box.to_string(), m_path);
    else
      f.check(H5Dread(id(), detail::memory_type(type), s.memory.get(), s.file.get(), dxpl, buffer),
              "cannot read " + box.to_string(), m_path);
  });
}

void Dataset::resize(const std::vector<int64_t>& shape) {
  const auto& f = *m_file;
  detail::collectively(f, [&] {
    const auto max = max_shape();
    if (shape.size() != max.size())
      throw IoError(fmt::format("resize of {}: {} has {} dimensions, the dataset {}", where(), shape_to_string(shape),
                                shape.size(), max.size()));
    for (std::size_t d = 0; d < shape.size(); ++d)
      if (shape[d] < 0 || (max[d] >= 0 && shape[d] > max[d]))
        throw IoError(fmt::format("resize of {} to {}: the largest shape is {} (-1: unlimited)", where(),
                                  shape_to_string(shape), shape_to_string(max)));
    const auto dims = to_hsize(shape);
    f.check(H5Dset_extent(id(), dims.data()), "cannot resize to " + shape_to_string(shape), m_path);
  });
}

// ---- Group -----------------------------------------------------------------

Group Group::create_group(const std::string& name) {
  const auto& f = *m_file;
  const std::string path = child_path(m_path, name);
  Handle g;
  detail::collectively(f, [&] {
    if (contains(name)) throw IoError(fmt::format("cannot create group {}: it exists", f.where(path)));
    Handle gcpl = make_plist(H5P_GROUP_CREATE, f, path);
    f.check(H5Pset_link_creation_order(gcpl.get(), H5P_CRT_ORDER_TRACKED | H5P_CRT_ORDER_INDEXED),
            "cannot set creation order", path);
    f.check(H5Pset_attr_creation_order(gcpl.get(), H5P_CRT_ORDER_TRACKED | H5P_CRT_ORDER_INDEXED),
            "cannot set creation order", path);
    g = Handle(
        f.check(H5Gcreate2(id(), name.c_str(), H5P_DEFAULT, gcpl.get(), H5P_DEFAULT), "cannot create group", path));
  });
  return Group(std::move(g), m_file, path);
}

bool Group::contains(const std::string& name) const {
  // Walk the path: H5Lexists needs every intermediate link to exist.
  std::string prefix;
  std::size_t begin = 0;
  while (begin <= name.size()) {
    const std::size_t end = std::min(name.find('/', begin), name.size());
    prefix += (prefix.empty() ? "" : "/") + name.substr(begin, end - begin);
    if (H5Lexists(id(), prefix.c_str(), H5P_DEFAULT) <= 0) {
      H5Eclear2(H5E_DEFAULT);
      return false;
    }
    begin = end + 1;
  }
  return true;
}

std::vector<std::string> Group::members() const {
  std::vector<std::string> names;
  auto collect = [](hid_t, const char* n, const H5L_info_t*, void* data) -> herr_t {
    static_cast<std::vector<std::string>*>(data)->emplace_back(n);
    return 0;
  };
  hsize_t index = 0;
  if (H5Literate(id(), H5_INDEX_CRT_ORDER, H5_ITER_INC, &index, collect, &names) < 0) {
    H5Eclear2(H5E_DEFAULT);  // creation order not tracked: by name
    names.clear();
    index = 0;
    m_file->check(H5Literate(id(), H5_INDEX_NAME, H5_ITER_INC, &index, collect, &names), "cannot list members", m_path);
  }
  return names;
}

Group Group::group(const std::string& name) const {
  const std::string path = child_path(m_path, name);
  if (!contains(name))
    throw IoError(fmt::format("{} has no group '{}' (members: {})", where(), name, fmt::join(members(), ", ")));
  return Group(Handle(m_file->check(H5Gopen2(id(), name.c_str(), H5P_DEFAULT), "cannot open group", path)), m_file,
               path);
}

Dataset Group::create_dataset(const std::string& name, DataType type, const std::vector<int64_t>& shape,
                              const DatasetOptions& options) {
  const auto& f = *m_file;
  const std::string path = child_path(m_path, name);
  Handle d;
  detail::collectively(f, [&] {
    if (shape.empty() || shape.size() > static_cast<std::size_t>(kMaxDims))
      throw IoError(fmt::format("cannot create {}: {}-d; datasets have 1 to {} dimensions", f.where(path), shape.size(),
                                kMaxDims));
    for (auto x : shape)
      if (x < 0)
        throw IoError(fmt::format("cannot create {}: negative extent in {}", f.where(path), shape_to_string(shape)));
    if (!options.max_shape.empty() && options.max_shape.size() != shape.size())
      throw IoError(fmt::format("cannot create {}: max_shape {} and shape {} differ in rank", f.where(path),
                                shape_to_string(options.max_shape), shape_to_string(shape)));
    if (!options.chunk.empty() && options.chunk.size() != shape.size())
      throw IoError(fmt::format("cannot create {}: chunk {} and shape {} differ in rank", f.where(path),
                                shape_to_string(options.chunk), shape_to_string(shape)));
    if (options.deflate < 0 || options.deflate > 9)
      throw IoError(fmt::format("cannot create {}: deflate level {} (0 to 9)", f.where(path), options.deflate));
    if (contains(name)) throw IoError(fmt::format("cannot create {}: it exists", f.where(path)));

    const auto dims = to_hsize(shape);
    const auto maxdims = options.max_shape.empty() ? dims : to_hsize(options.max_shape);
    Handle space(f.check(H5Screate_simple(static_cast<int>(dims.size()), dims.data(), maxdims.data()),
                         "cannot create the dataspace " + shape_to_string(shape), path));
    Handle dcpl = make_plist(H5P_DATASET_CREATE, f, path);
    f.check(H5Pset_attr_creation_order(dcpl.get(), H5P_CRT_ORDER_TRACKED | H5P_CRT_ORDER_INDEXED),
            "cannot set creation order", path);
    const bool chunked = !options.chunk.empty() || !options.max_shape.empty() || options.deflate > 0;
    if (chunked) {
      const auto chunk = options.chunk.empty() ? default_chunk(shape, size_of(type)) : options.chunk;
      for (auto c : chunk)
        if (c < 1)
          throw IoError(
              fmt::format("cannot create {}: chunk {} has an extent < 1", f.where(path), shape_to_string(chunk)));
      const auto cdims = to_hsize(chunk);
      f.check(H5Pset_chunk(dcpl.get(), static_cast<int>(cdims.size()), cdims.data()),
              "cannot set chunks " + shape_to_string(chunk), path);
      if (options.shuffle) f.check(H5Pset_shuffle(dcpl.get()), "cannot set shuffle", path);
      if (options.deflate > 0) {
        if (H5Zfilter_avail(H5Z_FILTER_DEFLATE) <= 0)
          throw IoError(fmt::format("cannot create {}: this HDF5 has no deflate filter", f.where(path)));
        f.check(H5Pset_deflate(dcpl.get(), static_cast<unsigned>(options.deflate)), "cannot set deflate", path);
      }
    }
    if (options.fill) {
      const double fill = *options.fill;
      f.check(H5Pset_fill_value(dcpl.get(), H5T_NATIVE_DOUBLE, &fill), "cannot set the fill value", path);
    }
    d = Handle(f.check(
        H5Dcreate2(id(), name.c_str(), detail::file_type(type), space.get(), H5P_DEFAULT, dcpl.get(), H5P_DEFAULT),
        "cannot create dataset", path));
  });
  return Dataset(std::move(d), m_file, path);
}

Dataset Group::dataset(const std::string& name) const {
  const std::string path = child_path(m_path, name);
  if (!contains(name))
    throw IoError(fmt::format("{} has no dataset '{}' (members: {})", where(), name, fmt::join(members(), ", ")));
  return Dataset(Handle(m_file->check(H5Dopen2(id(), name.c_str(), H5P_DEFAULT), "cannot open dataset", path)), m_file,
                 path);
}

Dataset Group::dataset(const std::string& name, DataType type, const std::vector<int64_t>& shape) const {
  Dataset d = dataset(name);
  const DataType stored = d.type();
  const auto stored_shape = d.shape();
  if (stored != type || stored_shape != shape)
    throw IoError(fmt::format("{}: expected {}{}, the file holds {}{}", d.where(), to_string(type),
                              shape_to_string(shape), to_string(stored), shape_to_string(stored_shape)));
  return d;
}

// ---- File ------------------------------------------------------------------

namespace {

File finish_open(std::shared_ptr<detail::FileState> f, Handle file) {
  f->file = std::move(file);
  if (f->parallel) {
    f->transfer = make_plist(H5P_DATASET_XFER, *f, "/");
    f->check(H5Pset_dxpl_mpio(f->transfer.get(), H5FD_MPIO_COLLECTIVE), "cannot set collective transfers", "/");
  }
  Handle root(f->check(H5Gopen2(f->file.get(), "/", H5P_DEFAULT), "cannot open the root group", "/"));
  return File(std::move(root), std::move(f));
}

}  // namespace

File::File(detail::Handle root, std::shared_ptr<detail::FileState> state)
    : Group(std::move(root), std::move(state), "/") {}

File File::create(const std::string& path, MPI_Comm comm) {
  auto f = new_state(path, comm, true);
  Handle file;
  detail::collectively(*f, [&] { file = create_file(path, f->comm, *f); });
  return finish_open(std::move(f), std::move(file));
}

File File::create(const std::string& path) {
  auto f = new_state(path, MPI_COMM_SELF, false);
  return finish_open(f, create_file(path, MPI_COMM_SELF, *f));
}

File File::open(const std::string& path, MPI_Comm comm, Mode mode) {
  auto f = new_state(path, comm, true);
  Handle file;
  // Rank 0 checks it and opens it alone first (one rank, not thousands, asks
  // the file system): a missing or damaged file fails there, not inside HDF5's
  // collective open, where one rank's failure can leave the others waiting.
  detail::collectively(*f, [&] {
    if (f->rank == 0) {
      check_exists(path, f->rank);
      auto probe = new_state(path, MPI_COMM_SELF, false);
      open_file(path, MPI_COMM_SELF, Mode::read_only, *probe);
    }
  });
  detail::collectively(*f, [&] { file = open_file(path, f->comm, mode, *f); });
  return finish_open(std::move(f), std::move(file));
}

File File::open(const std::string& path, Mode mode) {
  auto f = new_state(path, MPI_COMM_SELF, false);
  check_exists(path, f->rank);
  return finish_open(f, open_file(path, MPI_COMM_SELF, mode, *f));
}

const std::string& File::filename() const { return m_file->filename; }
bool File::parallel() const { return m_file->parallel; }
MPI_Comm File::comm() const { return m_file->comm; }

void File::flush() {
  const auto& f = *m_file;
  detail::collectively(f, [&] { f.check(H5Fflush(f.file.get(), H5F_SCOPE_GLOBAL), "cannot flush", "/"); });
}

void File::close() {
  if (!m_file || !m_file->file) return;
  auto& f = *m_file;
  m_handle.reset();  // the root group
  detail::collectively(f, [&] {
    const hid_t id = f.file.get();
    const herr_t status = H5Fclose(id);
    // A failed close may leave the file open in HDF5: keep the handle, so the
    // destructor tries again rather than leaving it to HDF5's exit handler.
    if (status >= 0 || H5Iis_valid(id) <= 0) f.file.release();
    f.check(status, "cannot close (data may not have reached the disk)", "/");
  });
}

bool is_hdf5(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0 || !S_ISREG(st.st_mode)) return false;
  detail::silence_hdf5();
  const htri_t r = H5Fis_hdf5(path.c_str());
  H5Eclear2(H5E_DEFAULT);
  return r > 0;
}

}  // namespace msa::io

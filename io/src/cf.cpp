// CF-1.8 / NetCDF-4 files: dimension scales, coordinate variables, an
// unlimited time, typed _FillValue.
#include "msa/io/cf.hpp"

#include <fmt/format.h>
#include <hdf5_hl.h>

#include <algorithm>

#include "h5.hpp"
#include "mpi_util.hpp"

namespace msa::io {

namespace {

int rank_of(MPI_Comm comm) {
  int r = 0;
  MPI_Comm_rank(comm, &r);
  return r;
}

void check(herr_t status, const std::string& what, const File& file, const std::string& object) {
  if (status < 0) detail::throw_hdf5(what, "'" + file.filename() + "':/" + object, rank_of(file.comm()));
}

// _FillValue in the variable's own type, as netCDF requires.
void set_fill_attribute(const Dataset& ds, DataType type, double fill, const File& file, const std::string& name) {
  const hsize_t one = 1;
  detail::Handle space(H5Screate_simple(1, &one, nullptr));
  detail::Handle attr(H5Acreate2(static_cast<hid_t>(ds.id()), "_FillValue", detail::file_type(type), space.get(),
                                 H5P_DEFAULT, H5P_DEFAULT));
  check(static_cast<herr_t>(attr.get() < 0 ? -1 : 0), "cannot create _FillValue", file, name);
  check(H5Awrite(attr.get(), H5T_NATIVE_DOUBLE, &fill), "cannot write _FillValue", file, name);
}

void set_info(Dataset& ds, const VariableInfo& info) {
  if (!info.long_name.empty()) ds.set_attribute("long_name", info.long_name);
  if (!info.units.empty()) ds.set_attribute("units", info.units);
  if (!info.standard_name.empty()) ds.set_attribute("standard_name", info.standard_name);
  for (const auto& [k, v] : info.attributes) ds.set_attribute(k, v);
}

}  // namespace

CfFile CfFile::create(const std::string& path, MPI_Comm comm,
                      const std::map<std::string, AttributeValue>& global_attributes) {
  CfFile f(File::create(path, comm));
  f.init(global_attributes);
  return f;
}

CfFile CfFile::create(const std::string& path, const std::map<std::string, AttributeValue>& global_attributes) {
  CfFile f(File::create(path));
  f.init(global_attributes);
  return f;
}

void CfFile::init(const std::map<std::string, AttributeValue>& global_attributes) {
  m_file.set_attribute("Conventions", std::string("CF-1.8"));
  for (const auto& [k, v] : global_attributes) m_file.set_attribute(k, v);
}

void CfFile::add_dimension(const std::string& name, const std::vector<double>& values, const VariableInfo& info,
                           const std::string& axis) {
  if (m_dimensions.count(name)) throw IoError(fmt::format("{}: dimension '{}' added twice", m_file.filename(), name));
  if (values.empty())
    throw IoError(fmt::format("{}: dimension '{}' has no values (only 'time' grows)", m_file.filename(), name));
  const auto n = static_cast<int64_t>(values.size());
  Dataset ds = m_file.create_dataset<double>(name, {n});
  const bool writer = rank_of(m_file.comm()) == 0;
  ds.write_raw(values.data(), DataType::float64, writer ? Box::whole({n}) : Box::of({0}, {0}));
  check(H5DSset_scale(static_cast<hid_t>(ds.id()), name.c_str()), "cannot make a dimension scale", m_file, name);
  set_info(ds, info);
  if (!axis.empty()) ds.set_attribute("axis", axis);
  m_dimensions[name] = n;
}

void CfFile::add_time(const std::string& units, const std::string& calendar) {
  if (m_dimensions.count("time")) throw IoError(fmt::format("{}: time added twice", m_file.filename()));
  DatasetOptions options;
  options.max_shape = {-1};
  options.chunk = {1024};
  Dataset ds = m_file.create_dataset<double>("time", {0}, options);
  check(H5DSset_scale(static_cast<hid_t>(ds.id()), "time"), "cannot make a dimension scale", m_file, "time");
  ds.set_attribute("standard_name", std::string("time"));
  ds.set_attribute("long_name", std::string("time"));
  ds.set_attribute("units", units);
  ds.set_attribute("calendar", calendar);
  ds.set_attribute("axis", std::string("T"));
  m_dimensions["time"] = -1;
}

void CfFile::add_variable(const std::string& name, DataType type, const std::vector<std::string>& dims,
                          const VariableInfo& info) {
  if (m_variables.count(name) || m_dimensions.count(name))
    throw IoError(fmt::format("{}: variable '{}' exists", m_file.filename(), name));
  if (dims.empty() || dims.size() > static_cast<std::size_t>(kMaxDims))
    throw IoError(fmt::format("{}: variable '{}' needs 1 to {} dimensions", m_file.filename(), name, kMaxDims));
  std::vector<int64_t> shape, max_shape;
  for (std::size_t i = 0; i < dims.size(); ++i) {
    const auto it = m_dimensions.find(dims[i]);
    if (it == m_dimensions.end())
      throw IoError(
          fmt::format("{}: variable '{}' uses dimension '{}', which was not added", m_file.filename(), name, dims[i]));
    if (it->second < 0 && i != 0)
      throw IoError(fmt::format("{}: variable '{}': 'time' must be the first dimension", m_file.filename(), name));
    shape.push_back(std::max<int64_t>(0, it->second));
    max_shape.push_back(it->second);
  }
  DatasetOptions options;
  options.deflate = info.deflate;
  options.fill = info.fill;
  if (max_shape.front() < 0) {
    options.max_shape = max_shape;
    // One time step per chunk, the rest whole up to about 4 MiB.
    options.chunk = shape;
    options.chunk.front() = 1;
    int64_t elements = 1;
    for (std::size_t i = options.chunk.size(); i-- > 1;) {
      options.chunk[i] = std::max<int64_t>(1, std::min(options.chunk[i], (int64_t{4} << 20) / 8 / elements));
      elements *= options.chunk[i];
    }
  }
  Dataset ds = m_file.create_dataset(name, type, shape, options);
  for (std::size_t i = 0; i < dims.size(); ++i) {
    Dataset scale = m_file.dataset(dims[i]);
    check(H5DSattach_scale(static_cast<hid_t>(ds.id()), static_cast<hid_t>(scale.id()), static_cast<unsigned>(i)),
          "cannot attach dimension '" + dims[i] + "'", m_file, name);
  }
  if (info.fill) set_fill_attribute(ds, type, *info.fill, m_file, name);
  set_info(ds, info);
  m_variables[name] = dims;
}

int64_t CfFile::append_time(double value) {
  if (!m_dimensions.count("time")) throw IoError(fmt::format("{}: append_time() before add_time()", m_file.filename()));
  Dataset ds = m_file.dataset("time");
  const int64_t index = m_time_steps;
  ds.resize({index + 1});
  const bool writer = rank_of(m_file.comm()) == 0;
  ds.write_raw(&value, DataType::float64, writer ? Box::of({index}, {1}) : Box::of({index}, {0}));
  ++m_time_steps;
  return index;
}

void CfFile::write_scalar(const std::string& name, int64_t time_index, double value) {
  std::string error;
  const auto it = m_variables.find(name);
  if (it == m_variables.end())
    error = fmt::format("{}: no variable '{}'", m_file.filename(), name);
  else if (it->second != std::vector<std::string>{"time"})
    error = fmt::format("{}: write_scalar() of '{}', which is not a time series", m_file.filename(), name);
  else if (time_index < 0 || time_index >= m_time_steps)
    error = fmt::format("{}: variable '{}' written at time index {}; append_time() first ({} time steps so far)",
                        m_file.filename(), name, time_index, m_time_steps);
  msa::detail::agree_on_error(m_file.comm(), error, 4);
  Dataset ds = m_file.dataset(name);
  if (ds.shape().front() < m_time_steps) ds.resize({m_time_steps});
  const bool writer = rank_of(m_file.comm()) == 0;
  ds.write_raw(&value, DataType::float64, Box::of({time_index}, {writer ? 1 : 0}));
}

void CfFile::write_raw(const std::string& name, int64_t time_index, const void* data, DataType type, const Box& box,
                       const std::string& local_error) {
  std::string error = local_error;
  const auto it = m_variables.find(name);
  if (error.empty() && it == m_variables.end()) error = fmt::format("{}: no variable '{}'", m_file.filename(), name);
  const bool timed = it != m_variables.end() && it->second.front() == "time";
  if (error.empty() && timed && (time_index < 0 || time_index >= m_time_steps))
    error = fmt::format("{}: variable '{}' written at time index {}; append_time() first ({} time steps so far)",
                        m_file.filename(), name, time_index, m_time_steps);
  if (error.empty() && !timed && time_index >= 0)
    error = fmt::format("{}: variable '{}' does not depend on time", m_file.filename(), name);
  msa::detail::agree_on_error(m_file.comm(), error, 4);
  Dataset ds = m_file.dataset(name);
  if (!timed) {
    ds.write_raw(data, type, box);
    return;
  }
  auto shape = ds.shape();
  if (shape.front() < m_time_steps) {
    shape.front() = m_time_steps;
    ds.resize(shape);
  }
  if (box.ndims + 1 > kMaxDims)
    throw IoError(fmt::format("{}: variable '{}' has too many dimensions", m_file.filename(), name));
  Box full;
  full.ndims = box.ndims + 1;
  full.start[0] = time_index;
  full.count[0] = box.empty() ? 0 : 1;
  for (int d = 0; d < box.ndims; ++d) {
    full.start[static_cast<std::size_t>(d + 1)] = box.start[static_cast<std::size_t>(d)];
    full.count[static_cast<std::size_t>(d + 1)] = box.count[static_cast<std::size_t>(d)];
  }
  ds.write_raw(data, type, full);
}

}  // namespace msa::io

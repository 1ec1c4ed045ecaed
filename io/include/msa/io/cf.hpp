#pragma once
/// NetCDF-4 files following the CF-1.8 conventions, written through the Store
/// (parallel or serial), for xarray, CDO, ncview and ParaView.
///
///   auto nc = msa::io::CfFile::create("diagnostics.nc", comm, {{"title", "shallow water"}});
///   nc.add_time("days since 2000-01-01 00:00:00");                  // unlimited
///   nc.add_dimension("y", y_metres, {"y", "m", "projection_y_coordinate"}, "Y");
///   nc.add_dimension("x", x_metres, {"x", "m", "projection_x_coordinate"}, "X");
///   nc.add_variable<double>("h", {"time", "y", "x"}, {"fluid depth", "m", "", -9999.0});
///   const auto t = nc.append_time(0.5);                               // collective
///   nc.write("h", t, h_view, my_box);                                 // my_box over (y, x)
///
/// Dimensions are HDF5 dimension scales with their coordinate variables;
/// variables carry units, long_name, standard_name and _FillValue (of the
/// variable's own type); the global attribute Conventions is "CF-1.8".
/// Collective (parallel files): every call but the accessors, with the same
/// arguments on every rank (write(): each rank its own box).

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "msa/io/store.hpp"

namespace msa::io {

/// CF metadata of a variable.
struct VariableInfo {
  VariableInfo() = default;
  VariableInfo(std::string long_name_, std::string units_, std::string standard_name_ = "",
               std::optional<double> fill_ = std::nullopt)
      : long_name(std::move(long_name_)),
        units(std::move(units_)),
        standard_name(std::move(standard_name_)),
        fill(fill_) {}
  std::string long_name;
  std::string units;                                 ///< UDUNITS string; "1" for dimensionless
  std::string standard_name;                         ///< from the CF standard name table, or empty
  std::optional<double> fill;                        ///< _FillValue (and HDF5's fill value), in the variable's type
  int deflate = 0;                                   ///< 0 (off) to 9
  std::map<std::string, AttributeValue> attributes;  ///< more (cell_methods, valid_range, ...)
};

class CfFile {
 public:
  /// Parallel, collective over `comm`: creates `path` (replacing it).
  static CfFile create(const std::string& path, MPI_Comm comm,
                       const std::map<std::string, AttributeValue>& global_attributes = {});
  /// Serial.
  static CfFile create(const std::string& path, const std::map<std::string, AttributeValue>& global_attributes = {});

  /// A fixed dimension of `values.size()` with its coordinate variable.
  /// `axis` is "X", "Y", "Z" or empty.
  void add_dimension(const std::string& name, const std::vector<double>& values, const VariableInfo& info,
                     const std::string& axis = "");
  /// The unlimited dimension "time", with units such as "days since 2000-01-01 00:00:00".
  void add_time(const std::string& units = "days since 2000-01-01 00:00:00", const std::string& calendar = "standard");
  /// A variable over dimensions `dims` (added before; "time" first if it varies in time).
  void add_variable(const std::string& name, DataType type, const std::vector<std::string>& dims,
                    const VariableInfo& info);
  template <class T>
  void add_variable(const std::string& name, const std::vector<std::string>& dims, const VariableInfo& info) {
    add_variable(name, data_type_of<T>(), dims, info);
  }
  /// Appends a value to "time" (in its units); returns its index.
  int64_t append_time(double value);
  /// Number of time values so far.
  int64_t time_steps() const { return m_time_steps; }

  /// Writes each rank's `box` of variable `name` from `view` (extents = the
  /// box's; any layout or memory space). For a time-dependent variable the
  /// box covers the other dimensions and `time_index` < time_steps() says when;
  /// otherwise pass no time index.
  template <class View>
  void write(const std::string& name, int64_t time_index, const View& view, const Box& box) {
    write_view(name, time_index, view, box);
  }
  template <class View>
  void write(const std::string& name, const View& view, const Box& box) {
    write_view(name, -1, view, box);
  }

  /// A value of a time series (a double variable over "time" only) at
  /// `time_index`: rank 0's value is written. Collective.
  void write_scalar(const std::string& name, int64_t time_index, double value);

  /// The underlying file (for groups or attributes CF does not cover).
  File& file() { return m_file; }
  /// Collective: closes the file (IoError on failure). Idempotent.
  void close() { m_file.close(); }

 private:
  template <class View>
  void write_view(const std::string& name, int64_t time_index, const View& view, const Box& box) {
    using T = typename View::non_const_value_type;
    std::string error;
    try {
      msa::detail::check_extents<IoError>(view, box, [&] { return "variable '" + name + "' of " + m_file.filename(); });
    } catch (const IoError& e) {
      error = e.what();
    }
    std::vector<T> packed(error.empty() ? static_cast<std::size_t>(box.volume()) : 0);
    if (error.empty()) msa::detail::pack_view(view, box, box, packed.data());
    write_raw(name, time_index, packed.data(), data_type_of<T>(), box, error);
  }
  void write_raw(const std::string& name, int64_t time_index, const void* data, DataType type, const Box& box,
                 const std::string& local_error);

  explicit CfFile(File file) : m_file(std::move(file)) {}
  void init(const std::map<std::string, AttributeValue>& global_attributes);

  File m_file;
  std::map<std::string, int64_t> m_dimensions;  // name -> size (-1: time)
  std::map<std::string, std::vector<std::string>> m_variables;
  int64_t m_time_steps = 0;
};

}  // namespace msa::io

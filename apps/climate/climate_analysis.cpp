// The analysis component (cluster): receives h, u, v from the model through
// the channel "fields" in its own decomposition, computes diagnostics per
// step and writes diagnostics.nc (time series) and climatology.nc (time mean
// and variance per grid point), CF-1.8, with the Store.
#include <CLI/CLI.hpp>
#include <cstdio>
#include <filesystem>
#include <msa/io/cf.hpp>
#include <msa/msa.hpp>
#include <optional>

#include "analysis.hpp"
#include "progress.hpp"

namespace {

double number(const msa::Attributes& a, const std::string& key) {
  const auto it = a.find(key);
  if (it == a.end()) throw msa::ChannelError("channel 'fields': the model sent no '" + key + "' attribute");
  if (std::holds_alternative<double>(it->second)) return std::get<double>(it->second);
  if (std::holds_alternative<int64_t>(it->second)) return static_cast<double>(std::get<int64_t>(it->second));
  throw msa::ChannelError("channel 'fields': attribute '" + key + "' is not a number");
}

std::vector<double> centres(int64_t n, double d) {
  std::vector<double> c;
  for (int64_t i = 0; i < n; ++i) c.push_back((static_cast<double>(i) + 0.5) * d);
  return c;
}

const char* kNames[] = {"h", "u", "v", "vorticity"};
const char* kLong[] = {"fluid depth", "eastward velocity", "northward velocity", "relative vorticity"};
const char* kUnits[] = {"m", "m s-1", "m s-1", "s-1"};

}  // namespace

int main(int argc, char** argv) {
  int64_t nx = 128, ny = 128;
  std::string out_dir = "climate-output", model = "model";
  double threshold_offset = 5.0, hist_half_range = 30.0;
  int bins = 40, extra_work = 0;
  CLI::App app("msa climate analysis: diagnostics of the model's fields (cluster component)");
  app.add_option("--nx", nx, "Grid cells in x (as the model)")->capture_default_str();
  app.add_option("--ny", ny, "Grid cells in y (as the model)")->capture_default_str();
  app.add_option("--out-dir", out_dir, "Where diagnostics.nc and climatology.nc go")->capture_default_str();
  app.add_option("--threshold", threshold_offset, "Area where h exceeds depth + this (m)")->capture_default_str();
  app.add_option("--bins", bins, "Histogram bins of h")->capture_default_str()->check(CLI::Range(1, 100000));
  app.add_option("--hist-range", hist_half_range, "Histogram covers depth -/+ this (m)")->capture_default_str();
  app.add_option("--model", model, "Component that sends the fields")->capture_default_str();
  app.add_option("--extra-work", extra_work, "Compute every diagnostic N more times (a heavier analysis)")
      ->capture_default_str();
  CLI11_PARSE(app, argc, argv);
  std::setvbuf(stdout, nullptr, _IOLBF, 0);  // lines appear as they are written, also through pipes

  // The Session outlives the error handler: an error is reported at once and
  // ends the whole job (MPI_Abort), instead of waiting in MPI_Finalize for a
  // peer component that is still running.
  std::optional<msa::Session> session_holder;
  try {
    auto& session = session_holder.emplace(argc, argv);
    const auto& comm = session.component();
    const bool root = comm.rank() == 0;
    const std::vector<int64_t> global{3, ny, nx};
    const msa::Box box = msa::block_along(global, 1, comm.size(), comm.rank());
    auto channel =
        session.channel("fields").from(model).decomposition(msa::Decomposition::of(global, box)).open<double>();
    if (root) std::filesystem::create_directories(out_dir);
    const std::string diagnostics_path = out_dir + "/diagnostics.nc", climatology_path = out_dir + "/climatology.nc";

    std::optional<climate::Analysis> analysis;
    std::optional<msa::io::CfFile> nc;
    const msa::Box rows_box = msa::Box::of({box.start[1]}, {box.count[1]});
    double busy = 0;
    int64_t frames = 0;
    while (auto frame = channel.get()) {
      const double t0 = climate::now();
      if (!analysis) {
        climate::Grid grid;
        grid.nx = nx;
        grid.ny = ny;
        grid.lx = number(frame->attributes(), "lx");
        grid.ly = number(frame->attributes(), "ly");
        grid.g = number(frame->attributes(), "g");
        grid.depth = number(frame->attributes(), "depth");
        climate::AnalysisConfig ac;
        ac.threshold = grid.depth + threshold_offset;
        ac.bins = bins;
        ac.hist_min = grid.depth - hist_half_range;
        ac.hist_max = grid.depth + hist_half_range;
        analysis.emplace(grid, ac, comm, box.start[1], box.count[1]);
        nc = msa::io::CfFile::create(
            diagnostics_path, comm,
            {{"title", std::string("shallow-water diagnostics (msa climate demo)")},
             {"source", std::string("msa apps/climate: rotating shallow water, Arakawa C grid, SSP-RK3")},
             {"history", std::string("written by climate_analysis from the model's channel 'fields'")}});
        nc->add_time("days since 2000-01-01 00:00:00");
        nc->add_dimension("y", centres(ny, grid.dy()), {"y coordinate of cell centres", "m", "projection_y_coordinate"},
                          "Y");
        nc->add_dimension("bin", analysis->bin_centres(), {"centre of the histogram bin of h", "m", ""});
        for (int k = 0; k < 4; ++k)
          for (const char* stat : {"mean", "min", "max"})
            nc->add_variable<double>(std::string(kNames[k]) + "_" + stat, {"time"},
                                     {std::string(stat) + " of " + kLong[k], kUnits[k], ""});
        nc->add_variable<double>("mass", {"time"}, {"total mass (volume) of fluid", "m3", ""});
        nc->add_variable<double>("energy", {"time"}, {"total energy per unit density", "m5 s-2", ""});
        nc->add_variable<double>("area_above_threshold", {"time"},
                                 {"area where h > " + std::to_string(ac.threshold) + " m", "m2", ""});
        nc->add_variable<double>("zonal_mean_h", {"time", "y"}, {"zonal mean of fluid depth", "m", ""});
        nc->add_variable<double>("zonal_mean_u", {"time", "y"}, {"zonal mean of eastward velocity", "m s-1", ""});
        nc->add_variable<int64_t>("h_histogram", {"time", "bin"}, {"cells per bin of fluid depth", "1", ""});
      }
      const double* data = frame->data().data();
      climate::Diagnostics d = analysis->compute(data);
      for (int w = 0; w < extra_work; ++w) d = analysis->compute(data);
      analysis->accumulate(data);
      const int64_t t = nc->append_time(frame->time() / 86400.0);
      for (int k = 0; k < 4; ++k) {
        const auto K = static_cast<std::size_t>(k);
        nc->write_scalar(std::string(kNames[k]) + "_mean", t, d.mean[K]);
        nc->write_scalar(std::string(kNames[k]) + "_min", t, d.min[K]);
        nc->write_scalar(std::string(kNames[k]) + "_max", t, d.max[K]);
      }
      nc->write_scalar("mass", t, d.mass);
      nc->write_scalar("energy", t, d.energy);
      nc->write_scalar("area_above_threshold", t, d.area_above);
      using Row = Kokkos::View<const double*, Kokkos::HostSpace, Kokkos::MemoryUnmanaged>;
      nc->write("zonal_mean_h", t, Row(d.zonal_h.data(), d.zonal_h.size()), rows_box);
      nc->write("zonal_mean_u", t, Row(d.zonal_u.data(), d.zonal_u.size()), rows_box);
      const msa::Box bins_box = root ? msa::Box::of({0}, {bins}) : msa::Box::of({0}, {0});
      nc->write("h_histogram", t,
                Kokkos::View<const int64_t*, Kokkos::HostSpace, Kokkos::MemoryUnmanaged>(
                    d.histogram.data(), static_cast<std::size_t>(bins_box.count[0])),
                bins_box);
      ++frames;
      busy += climate::now() - t0;
    }
    channel.close();
    if (!analysis) throw msa::ChannelError("channel 'fields': the model sent no step");
    nc->close();

    // The climatology: time mean and variance per grid point.
    const auto& grid = analysis->grid();
    auto clim = msa::io::CfFile::create(
        climatology_path, comm,
        {{"title", std::string("shallow-water climatology (msa climate demo)")},
         {"comment", std::string("u is on west cell faces and v on south faces (Arakawa C grid); the coordinates are "
                                 "those of cell centres")}});
    clim.add_dimension("y", centres(ny, grid.dy()), {"y coordinate of cell centres", "m", "projection_y_coordinate"},
                       "Y");
    clim.add_dimension("x", centres(nx, grid.dx()), {"x coordinate of cell centres", "m", "projection_x_coordinate"},
                       "X");
    clim.file().set_attribute("samples", analysis->samples());
    const msa::Box field_box = msa::Box::of({box.start[1], 0}, {box.count[1], nx});
    using Field = Kokkos::View<const double**, Kokkos::LayoutRight, Kokkos::HostSpace, Kokkos::MemoryUnmanaged>;
    for (int k = 0; k < 3; ++k) {
      const std::string name = kNames[k];
      msa::io::VariableInfo mean_info{std::string("time mean of ") + kLong[k], kUnits[k], ""};
      mean_info.attributes["cell_methods"] = std::string("time: mean");
      clim.add_variable<double>(name + "_mean", {"y", "x"}, mean_info);
      msa::io::VariableInfo var_info{std::string("time variance (population) of ") + kLong[k],
                                     std::string("(") + kUnits[k] + ")2", ""};
      var_info.attributes["cell_methods"] = std::string("time: variance");
      clim.add_variable<double>(name + "_variance", {"y", "x"}, var_info);
      const auto variance = analysis->variance(k);
      clim.write(name + "_mean", Field(analysis->mean(k).data(), box.count[1], nx), field_box);
      clim.write(name + "_variance", Field(variance.data(), box.count[1], nx), field_box);
    }
    clim.close();
    const auto stats = channel.stats();
    if (root) {
      std::printf("analysis: %lld steps analysed in %.2f s; %.3f s waiting for the model\n",
                  static_cast<long long>(frames), busy, stats.get_blocked_s);
      std::printf("analysis: outputs %s and %s\n", std::filesystem::absolute(diagnostics_path).c_str(),
                  std::filesystem::absolute(climatology_path).c_str());
    }
    return 0;
  } catch (const std::exception& e) {  // msa::Error, and whatever else a library throws
    std::fprintf(stderr, "climate_analysis: %s\n", e.what());
    std::fflush(stderr);
    if (session_holder) MPI_Abort(MPI_COMM_WORLD, 1);
    return 1;
  }
}

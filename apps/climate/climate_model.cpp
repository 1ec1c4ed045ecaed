// The model component (booster): rotating shallow water, fields streamed to
// the analysis component through the channel "fields" every --output-every
// steps, checkpoints through the Store every --checkpoint-every steps.
//   msa run apps/climate/laptop.toml
#include <CLI/CLI.hpp>
#include <cstdio>
#include <msa/io/checkpoint.hpp>
#include <msa/msa.hpp>
#include <optional>

#include "progress.hpp"
#include "shallow_water.hpp"

int main(int argc, char** argv) {
  climate::Config config;
  int64_t steps = 1000, output_every = 10, checkpoint_every = 0;
  int keep = 2;
  bool restart = false;
  std::string checkpoint_dir = "climate-restart", analysis = "analysis";
  CLI::App app("msa climate model: rotating shallow water on a doubly periodic f-plane (booster component)");
  app.add_option("--nx", config.nx, "Grid cells in x")->capture_default_str();
  app.add_option("--ny", config.ny, "Grid cells in y")->capture_default_str();
  app.add_option("--lx", config.lx, "Domain length in x (m)")->capture_default_str();
  app.add_option("--ly", config.ly, "Domain length in y (m)")->capture_default_str();
  app.add_option("--dt", config.dt, "Time step (s)")->capture_default_str();
  app.add_option("--depth", config.depth, "Mean depth H (m)")->capture_default_str();
  app.add_option("--f", config.f, "Coriolis parameter (1/s)")->capture_default_str();
  app.add_option("--initial", config.initial, "Initial state: jet, bump, wave")->capture_default_str();
  app.add_option("--amplitude", config.amplitude, "Bump or wave height (m)")->capture_default_str();
  app.add_option("--viscosity", config.viscosity, "Laplacian viscosity on u, v (m^2/s); < 0: 0.01 dx dy / dt")
      ->capture_default_str();
  app.add_option("--steps", steps, "Time steps to run (in total, counting a restart's)")->capture_default_str();
  app.add_option("--output-every", output_every, "Send the fields to the analysis every N steps")
      ->capture_default_str();
  app.add_option("--checkpoint-every", checkpoint_every, "Checkpoint every N steps (0: never)")->capture_default_str();
  app.add_option("--checkpoint-dir", checkpoint_dir, "Directory of the checkpoints")->capture_default_str();
  app.add_option("--keep", keep, "Checkpoints to keep")->capture_default_str();
  app.add_flag("--restart", restart, "Continue from the newest valid checkpoint");
  app.add_option("--analysis", analysis, "Component that receives the fields")->capture_default_str();
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
    climate::Model model(config, comm);
    msa::io::Checkpoints checkpoints(comm, checkpoint_dir, "model", keep);
    model.initialise();
    if (restart) {
      auto latest = checkpoints.latest();
      if (!latest) throw msa::IoError("--restart: no valid checkpoint in '" + checkpoint_dir + "'");
      Kokkos::View<double***, Kokkos::LayoutRight> owned("owned", 3, model.box().count[1], config.nx);
      latest->read("state", owned, msa::Decomposition::of(model.global_shape(), model.box()));
      model.restore(owned, latest->info().step);
      if (root)
        std::printf("model: restarted from %s (step %lld)\n", latest->info().path.c_str(),
                    static_cast<long long>(latest->info().step));
    }
    const double mass0 = model.mass();
    auto channel = session.channel("fields")
                       .to(analysis)
                       .decomposition(msa::Decomposition::of(model.global_shape(), model.box()))
                       .open<double>();
    const msa::Attributes grid = {{"nx", config.nx}, {"ny", config.ny}, {"lx", config.lx},
                                  {"ly", config.ly}, {"g", config.g},   {"depth", config.depth},
                                  {"dt", config.dt}, {"f", config.f},   {"initial", config.initial}};
    auto send = [&] { channel.put(model.steps(), model.time(), model.owned(), grid); };

    climate::Progress progress("model", root);
    const double t0 = climate::now();
    if (model.steps() % output_every == 0) send();
    while (model.steps() < steps) {
      model.step();
      if (model.steps() % output_every == 0) send();
      if (checkpoint_every > 0 && model.steps() % checkpoint_every == 0) {
        auto cp = checkpoints.begin(model.steps(), model.time());
        cp.write("state", model.owned(), msa::Decomposition::of(model.global_shape(), model.box()));
        cp.set_attribute("initial", config.initial);
        cp.commit();
      }
      progress.update(model.steps(), steps, model.time(), channel.stats().steps_dropped);
    }
    channel.close();
    const double wall = climate::now() - t0;
    const double drift = (model.mass() - mass0) / mass0;
    const auto stats = channel.stats();
    progress.finish();
    if (root) {
      std::printf("model: %lld steps (%.2f model days) in %.2f s, %.0f steps/s; relative mass drift %.1e\n",
                  static_cast<long long>(model.steps()), model.time() / 86400.0, wall,
                  static_cast<double>(steps) / std::max(wall, 1e-9), drift);
      std::printf("model: channel 'fields': %lld steps sent, %lld dropped, %.3f s blocked in put (%.1f%% of the run)\n",
                  static_cast<long long>(stats.steps_sent), static_cast<long long>(stats.steps_dropped),
                  stats.put_blocked_s, 100.0 * stats.put_blocked_s / std::max(wall, 1e-9));
    }
    return 0;
  } catch (const std::exception& e) {  // msa::Error, and whatever else a library throws
    std::fprintf(stderr, "climate_model: %s\n", e.what());
    std::fflush(stderr);
    if (session_holder) MPI_Abort(MPI_COMM_WORLD, 1);
    return 1;
  }
}

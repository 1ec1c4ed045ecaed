// The `msa` command. Subcommands: info.
#include <CLI/CLI.hpp>
#include <cstdio>
#include <iostream>

#include "info.hpp"
#include "msa/error.hpp"

int main(int argc, char** argv) {
  CLI::App app{"msa: run one job across the modules of a Modular Supercomputing Architecture machine"};
  app.require_subcommand(1);
  app.set_version_flag("--version", std::string("msa ") + msa::tools::version());

  msa::tools::InfoOptions info;
  CLI::App* info_cmd = app.add_subcommand(
      "info", "Show the node's topology, the libraries, the profile, and (under mpirun) where every rank runs");
  info_cmd->add_flag("--json", info.json, "Print JSON (keys documented in the README) instead of text");
  info_cmd->add_option("--profile", info.profile,
                       "Machine profile name or .toml path (default: $MSA_PROFILE or laptop)");

  CLI11_PARSE(app, argc, argv);

  try {
    if (*info_cmd) return msa::tools::run_info(argc, argv, info);
  } catch (const msa::Error& e) {
    std::fprintf(stderr, "msa: error: %s\n", e.what());
    return 1;
  }
  return 0;
}

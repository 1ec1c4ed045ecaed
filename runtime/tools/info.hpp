#pragma once
#include <string>

namespace msa::tools {

struct InfoOptions {
  bool json = false;
  std::string profile;
};

/// `msa info`: collective over MPI_COMM_WORLD; rank 0 prints. Returns the exit code.
int run_info(int& argc, char**& argv, const InfoOptions& options);

const char* version();

}  // namespace msa::tools

#pragma once
// Small string helpers shared by the runtime's parsers and messages.

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace msa::detail {

std::string join(const std::vector<std::string>& items, std::string_view separator);
std::vector<std::string> split(std::string_view text, char separator);
std::string trim(std::string_view text);
/// The candidate closest to `word` by edit distance, or "" when none is close
/// enough to be a plausible typo. Used for "did you mean" hints.
std::string closest_match(const std::string& word, const std::vector<std::string>& candidates);
/// Whether a profile argument names a file (has a '/' or ends in ".toml") rather than a profile by name.
bool looks_like_path(std::string_view name);
/// Reads an environment variable; empty values count as unset.
std::optional<std::string> getenv_nonempty(const char* name);

}  // namespace msa::detail

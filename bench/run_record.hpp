#pragma once
// The --json file: every figure of an invocation with what it needs to be compared later (the
// machine, the commit, the command line, when it ran).

#include "report.hpp"

#include <filesystem>
#include <string_view>

namespace cascade::bench {

/// The invocation `argv` of `scenario` and every figure `figures` recorded.
[[nodiscard]] nlohmann::ordered_json run_record(const report& figures, std::string_view scenario, int argc,
                                                const char* const* argv);

/// Writes run_record(...) to `path`; throws std::runtime_error when the file cannot be written.
void write_run_record(const std::filesystem::path& path, const report& figures, std::string_view scenario, int argc,
                      const char* const* argv);

}  // namespace cascade::bench

#include "run_record.hpp"

#include "build_info.hpp"
#include "machine.hpp"

#include <chrono>
#include <ctime>
#include <fstream>
#include <stdexcept>
#include <string>

namespace cascade::bench {

namespace {

/// An argument as a POSIX shell would need it, so that the command line can be run again.
[[nodiscard]] std::string shell_quoted(std::string_view arg) {
    constexpr std::string_view plain = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_=,./:+@%";
    if (!arg.empty() && arg.find_first_not_of(plain) == std::string_view::npos) {
        return std::string{arg};
    }
    std::string quoted = "'";
    for (const char c : arg) {
        quoted += c == '\'' ? std::string{R"('\'')"} : std::string(1, c);
    }
    return quoted + "'";
}

[[nodiscard]] std::string command_line(int argc, const char* const* argv) {
    std::string line;
    for (int i = 0; i < argc; ++i) {
        line += (i == 0 ? "" : " ") + shell_quoted(argv[i]);
    }
    return line;
}

/// Now, in UTC: "2024-05-01T12:34:56Z".
[[nodiscard]] std::string utc_timestamp() {
    const std::time_t now = std::chrono::system_clock::to_time_t(std::chrono::system_clock::now());
    std::tm utc{};
    gmtime_r(&now, &utc);
    char text[sizeof "2024-05-01T12:34:56Z"];
    std::strftime(text, sizeof text, "%Y-%m-%dT%H:%M:%SZ", &utc);
    return text;
}

}  // namespace

nlohmann::ordered_json run_record(const report& figures, std::string_view scenario, int argc, const char* const* argv) {
    const auto host = this_machine();
    nlohmann::ordered_json record = {
        {"scenario", scenario},
        {"commit", build_commit},
        {"command_line", command_line(argc, argv)},
        {"timestamp", utc_timestamp()},
        {"machine", {{"cores", host.cores}, {"cpu_model", host.cpu_model}}},
    };
    for (const auto& [key, value] : figures.annotations().items()) {
        record[key] = value;
    }
    record["figures"] = figures.figures();
    return record;
}

void write_run_record(const std::filesystem::path& path, const report& figures, std::string_view scenario, int argc,
                      const char* const* argv) {
    std::ofstream out{path};
    out << run_record(figures, scenario, argc, argv).dump(2) << '\n';
    if (!out.flush()) {
        throw std::runtime_error{"cannot write " + path.string()};
    }
}

}  // namespace cascade::bench

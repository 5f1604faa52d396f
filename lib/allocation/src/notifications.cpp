#include "allocation/notifications.hpp"

#include <spdlog/spdlog.h>

#include <chrono>
#include <ctime>
#include <fmt/format.h>
#include <stdexcept>
#include <string>

namespace allocation {
namespace {

/// "2024-05-01T12:34:56Z".
[[nodiscard]] std::string utc_now() {
    const std::time_t now = std::chrono::system_clock::to_time_t(std::chrono::system_clock::now());
    std::tm parts{};
    gmtime_r(&now, &parts);
    return fmt::format("{:04}-{:02}-{:02}T{:02}:{:02}:{:02}Z", parts.tm_year + 1900, parts.tm_mon + 1, parts.tm_mday,
                       parts.tm_hour, parts.tm_min, parts.tm_sec);
}

}  // namespace

void file_notifications::send(std::string_view destination, std::string_view message) {
    const std::string line = fmt::format("{}\t{}\t{}\n", utc_now(), destination, message);
    {
        const std::scoped_lock lock{mutex_};
        if (!out_.is_open()) {
            out_.open(path_, std::ios::app);
        }
        out_ << line << std::flush;
        if (!out_) {
            out_.close();  // reopen on the next try (the handler is retried)
            out_.clear();
            throw std::runtime_error{"cannot append a notification to " + path_.string()};
        }
    }
    spdlog::info("notification to {}: {}", destination, message);
}

}  // namespace allocation

#pragma once
// Notifications (chapter 13's AbstractNotifications): the out-of-stock message to the buyers.

#include <filesystem>
#include <fstream>
#include <mutex>
#include <string_view>

namespace allocation {

/// Where OutOfStock notifications go. Implementations must be thread-safe.
class notifications {
public:
    virtual ~notifications() = default;
    /// Sends `message` to `destination`; throws when it cannot (the bus retries the handler).
    virtual void send(std::string_view destination, std::string_view message) = 0;

protected:
    notifications() = default;
    notifications(const notifications&) = default;
    notifications& operator=(const notifications&) = default;
};

/// The default: appends "<UTC time>\t<destination>\t<message>" as a line to a file (opened on the
/// first notification) and logs it through spdlog.
class file_notifications final : public notifications {
public:
    explicit file_notifications(std::filesystem::path path) : path_{std::move(path)} {}
    void send(std::string_view destination, std::string_view message) override;
    [[nodiscard]] const std::filesystem::path& path() const noexcept { return path_; }

private:
    std::filesystem::path path_;
    std::mutex mutex_;
    std::ofstream out_;
};

}  // namespace allocation

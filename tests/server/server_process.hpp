#pragma once
// cascade-server as a real process, for the promises that only a process can keep: started with
// flags on a free port, its log collected, signalled, waited for, and killed if still alive.

#include <chrono>
#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

namespace server_test {

class server_process {
public:
    /// Starts the cascade-server this build made with `args` (plus --listen 127.0.0.1:0) in
    /// `workdir`, and waits for the line that names its port (logged at level info). Throws
    /// std::runtime_error when it does not start.
    server_process(const std::string& workdir, std::vector<std::string> args);
    /// Kills the process if it still runs.
    ~server_process();
    server_process(const server_process&) = delete;
    server_process& operator=(const server_process&) = delete;

    [[nodiscard]] std::uint16_t port() const noexcept { return port_; }
    void signal(int sig) const;
    /// The exit status once the process has exited, or nullopt after `timeout`.
    [[nodiscard]] std::optional<int> wait_exit(std::chrono::milliseconds timeout);
    /// Everything the process has written so far (stdout and stderr).
    [[nodiscard]] std::string log() const;

private:
    [[nodiscard]] bool wait_for_port();
    void collect_output();
    void stop_now() noexcept;

    int pid_ = -1;
    int output_ = -1;  ///< read end of the process's stdout and stderr
    std::uint16_t port_ = 0;
    std::optional<int> exit_status_;
    mutable std::mutex mutex_;
    std::string log_;
    std::thread reader_;
};

/// The whole text of a file (empty when it cannot be read).
[[nodiscard]] std::string read_text(const std::string& file);

/// Writes `text` to `file`, replacing it.
void write_text(const std::string& file, const std::string& text);

/// A fresh temporary folder, removed with everything in it at the end.
class temp_folder {
public:
    temp_folder();
    ~temp_folder();
    temp_folder(const temp_folder&) = delete;
    temp_folder& operator=(const temp_folder&) = delete;
    [[nodiscard]] const std::string& path() const noexcept { return path_; }

private:
    std::string path_;
};

}  // namespace server_test

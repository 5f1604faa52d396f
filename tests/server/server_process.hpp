#pragma once
// cascade-server as a real process, for the promises that only a process can keep: started with
// flags on a free port, its log collected, signalled, waited for, and killed if still alive.

#include "child_process.hpp"
#include "files.hpp"

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace server_test {

using test_support::read_text;
using test_support::temp_folder;
using test_support::write_text;

class server_process {
public:
    /// Starts the cascade-server this build made with `args` (plus --listen 127.0.0.1:0) in
    /// `workdir`, and waits for the line that names its port (logged at level info). Throws
    /// std::runtime_error when it does not start.
    server_process(const std::string& workdir, std::vector<std::string> args);

    [[nodiscard]] std::uint16_t port() const noexcept { return port_; }
    void signal(int sig) const { process_.signal(sig); }
    /// The exit status once the process has exited, or nullopt after `timeout`.
    [[nodiscard]] std::optional<int> wait_exit(std::chrono::milliseconds timeout) {
        return process_.wait_exit(timeout);
    }
    /// Everything the process has written so far (stdout and stderr).
    [[nodiscard]] std::string log() const { return process_.output(); }

private:
    test_support::child_process process_;
    std::uint16_t port_ = 0;
};

}  // namespace server_test

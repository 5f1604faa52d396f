#pragma once
// A real program as a child process, for the tests that need one (cascade-server, nats-server):
// started with its arguments in a folder, its output collected, waited on for a line, signalled,
// waited for, and killed if still alive when it goes out of scope.

#include <chrono>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

namespace test_support {

class child_process {
public:
    /// Starts `executable` with `args` in `workdir`, its stdout and stderr collected. Throws
    /// std::runtime_error when it cannot be started at all.
    child_process(const std::string& executable, std::vector<std::string> args, const std::string& workdir);
    /// Kills the process if it still runs.
    ~child_process();
    child_process(const child_process&) = delete;
    child_process& operator=(const child_process&) = delete;

    /// The rest of the first output line that contains `marker` (after it), once written; nullopt
    /// when the process exits first or `timeout` passes.
    [[nodiscard]] std::optional<std::string> wait_for_line(std::string_view marker, std::chrono::milliseconds timeout);
    void signal(int sig) const;
    /// The exit status (128 + the signal when killed) once the process has exited, or nullopt
    /// after `timeout`.
    [[nodiscard]] std::optional<int> wait_exit(std::chrono::milliseconds timeout);
    /// SIGKILL, then waits for the exit; harmless when it has already exited.
    void kill_now() noexcept;
    /// Everything the process has written so far (stdout and stderr).
    [[nodiscard]] std::string output() const;

private:
    void collect_output();

    int pid_ = -1;
    int output_fd_ = -1;  ///< read end of the process's stdout and stderr
    std::optional<int> exit_status_;
    mutable std::mutex mutex_;
    std::string output_;
    std::thread reader_;
};

}  // namespace test_support

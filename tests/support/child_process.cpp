#include "child_process.hpp"

#include <csignal>
#include <stdexcept>
#include <sys/wait.h>
#include <unistd.h>

namespace test_support {

child_process::child_process(const std::string& executable, std::vector<std::string> args, const std::string& workdir) {
    args.insert(args.begin(), executable);
    std::vector<char*> argv;
    for (auto& arg : args) {
        argv.push_back(arg.data());
    }
    argv.push_back(nullptr);

    int pipe_fds[2];
    if (::pipe(pipe_fds) != 0) {
        throw std::runtime_error{"pipe failed"};
    }
    pid_ = ::fork();
    if (pid_ < 0) {
        throw std::runtime_error{"fork failed"};
    }
    if (pid_ == 0) {
        ::dup2(pipe_fds[1], STDOUT_FILENO);
        ::dup2(pipe_fds[1], STDERR_FILENO);
        ::close(pipe_fds[0]);
        ::close(pipe_fds[1]);
        if (::chdir(workdir.c_str()) != 0) {
            ::_exit(126);
        }
        ::execv(executable.c_str(), argv.data());
        ::_exit(127);
    }
    ::close(pipe_fds[1]);
    output_fd_ = pipe_fds[0];
    reader_ = std::thread{[this] { collect_output(); }};
}

child_process::~child_process() {
    kill_now();
    if (reader_.joinable()) {
        reader_.join();  // the pipe closes with the process
    }
    if (output_fd_ >= 0) {
        ::close(output_fd_);
    }
}

std::optional<std::string> child_process::wait_for_line(std::string_view marker, std::chrono::milliseconds timeout) {
    const auto give_up = std::chrono::steady_clock::now() + timeout;
    while (std::chrono::steady_clock::now() < give_up) {
        const auto text = output();
        if (const auto at = text.find(marker); at != std::string::npos) {
            const auto rest = at + marker.size();
            const auto end = text.find('\n', rest);
            if (end != std::string::npos) {
                return text.substr(rest, end - rest);
            }
        }
        if (wait_exit(std::chrono::milliseconds{10})) {
            return std::nullopt;
        }
    }
    return std::nullopt;
}

void child_process::kill_now() noexcept {
    if (!exit_status_) {
        ::kill(pid_, SIGKILL);
        (void)wait_exit(std::chrono::seconds{60});
    }
}

void child_process::collect_output() {
    char chunk[4096];
    for (;;) {
        const auto n = ::read(output_fd_, chunk, sizeof chunk);
        if (n <= 0) {
            return;
        }
        const std::scoped_lock lock{mutex_};
        output_.append(chunk, static_cast<std::size_t>(n));
    }
}

void child_process::signal(int sig) const {
    ::kill(pid_, sig);
}

std::optional<int> child_process::wait_exit(std::chrono::milliseconds timeout) {
    const auto give_up = std::chrono::steady_clock::now() + timeout;
    while (!exit_status_) {
        int status = 0;
        const auto reaped = ::waitpid(pid_, &status, WNOHANG);
        if (reaped == pid_) {
            exit_status_ = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
            break;
        }
        if (std::chrono::steady_clock::now() >= give_up) {
            break;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds{5});
    }
    return exit_status_;
}

std::string child_process::output() const {
    const std::scoped_lock lock{mutex_};
    return output_;
}

}  // namespace test_support

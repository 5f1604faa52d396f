#include "server_process.hpp"

#include <csignal>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <sys/wait.h>
#include <unistd.h>

namespace server_test {

namespace {

// The build passes the path of the cascade-server it made.
constexpr const char* server_executable = CASCADE_SERVER_PATH;

}  // namespace

server_process::server_process(const std::string& workdir, std::vector<std::string> args) {
    args.insert(args.begin(), {server_executable, "--listen", "127.0.0.1:0"});
    std::vector<char*> argv;
    for (auto& a : args) {
        argv.push_back(a.data());
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
        ::execv(server_executable, argv.data());
        ::_exit(127);
    }
    ::close(pipe_fds[1]);
    output_ = pipe_fds[0];
    reader_ = std::thread{[this] { collect_output(); }};
    if (!wait_for_port()) {
        const auto text = log();
        stop_now();
        throw std::runtime_error{"cascade-server did not start:\n" + text};
    }
}

bool server_process::wait_for_port() {
    constexpr std::string_view listening = "listening on 127.0.0.1:";
    const auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds{60};
    while (std::chrono::steady_clock::now() < give_up) {
        const auto text = log();
        if (const auto at = text.find(listening); at != std::string::npos) {
            port_ = static_cast<std::uint16_t>(std::stoi(text.substr(at + listening.size())));
            return true;
        }
        if (wait_exit(std::chrono::milliseconds{10})) {
            return false;
        }
    }
    return false;
}

server_process::~server_process() {
    stop_now();
}

void server_process::stop_now() noexcept {
    if (!exit_status_) {
        ::kill(pid_, SIGKILL);
        (void)wait_exit(std::chrono::seconds{60});
    }
    if (reader_.joinable()) {
        reader_.join();  // the pipe closes with the process
    }
    if (output_ >= 0) {
        ::close(output_);
        output_ = -1;
    }
}

void server_process::collect_output() {
    char chunk[4096];
    for (;;) {
        const auto n = ::read(output_, chunk, sizeof chunk);
        if (n <= 0) {
            return;
        }
        const std::scoped_lock lock{mutex_};
        log_.append(chunk, static_cast<std::size_t>(n));
    }
}

void server_process::signal(int sig) const {
    ::kill(pid_, sig);
}

std::optional<int> server_process::wait_exit(std::chrono::milliseconds timeout) {
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

std::string server_process::log() const {
    const std::scoped_lock lock{mutex_};
    return log_;
}

temp_folder::temp_folder() {
    std::string pattern = (std::filesystem::temp_directory_path() / "cascade-test-XXXXXX").string();
    if (::mkdtemp(pattern.data()) == nullptr) {
        throw std::runtime_error{"mkdtemp failed"};
    }
    path_ = pattern;
}

temp_folder::~temp_folder() {
    std::error_code ignored;
    std::filesystem::remove_all(path_, ignored);
}

std::string read_text(const std::string& file) {
    std::ifstream in{file, std::ios::binary};
    std::stringstream text;
    text << in.rdbuf();
    return text.str();
}

void write_text(const std::string& file, const std::string& text) {
    std::ofstream out{file, std::ios::binary | std::ios::trunc};
    out << text;
}

}  // namespace server_test

#include "server_process.hpp"

#include <stdexcept>

namespace server_test {

namespace {

// The build passes the path of the cascade-server it made.
constexpr const char* server_executable = CASCADE_SERVER_PATH;

[[nodiscard]] std::vector<std::string> with_listen(std::vector<std::string> args) {
    args.insert(args.begin(), {"--listen", "127.0.0.1:0"});
    return args;
}

}  // namespace

server_process::server_process(const std::string& workdir, std::vector<std::string> args)
    : process_{server_executable, with_listen(std::move(args)), workdir} {
    const auto port = process_.wait_for_line("listening on 127.0.0.1:", std::chrono::seconds{60});
    if (!port) {
        const auto text = log();
        process_.kill_now();
        throw std::runtime_error{"cascade-server did not start:\n" + text};
    }
    port_ = static_cast<std::uint16_t>(std::stoi(*port));
}

}  // namespace server_test

#pragma once
// An io_context run by a thread of its own, as an application's would be: for tests of code that
// hands work to the application's executor.

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>

#include <thread>

namespace test_support {

struct running_context {
    boost::asio::io_context io;
    boost::asio::executor_work_guard<boost::asio::io_context::executor_type> work{io.get_executor()};
    std::thread runner{[this] { io.run(); }};

    running_context() = default;
    running_context(const running_context&) = delete;
    running_context& operator=(const running_context&) = delete;
    ~running_context() {
        work.reset();
        io.stop();
        runner.join();
    }
};

}  // namespace test_support

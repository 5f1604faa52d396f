#pragma once
// What an exception says, for error reports. Internal: include only from lib/cascade/src.

#include <exception>
#include <string>

namespace cascade::detail {

[[nodiscard]] inline std::string describe(const std::exception_ptr& thrown) {
    try {
        std::rethrow_exception(thrown);
    } catch (const std::exception& e) {
        return e.what();
    } catch (...) {
        return "unknown exception";
    }
}

}  // namespace cascade::detail

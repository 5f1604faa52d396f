#include "cluster/cascade_tally.hpp"

namespace cluster {

std::string raised_id(std::string_view parent, std::size_t n) {
    std::string id{parent};
    id += '.';
    id += std::to_string(n);
    return id;
}

cascade_tally::cascade_tally(std::string root) {
    pending_.insert(std::move(root));
}

bool cascade_tally::report(std::string_view handled, std::size_t raised) {
    auto [at, fresh] = handled_.emplace(handled);
    if (!fresh) {
        return false;
    }
    pending_.erase(*at);
    for (std::size_t n = 1; n <= raised; ++n) {
        auto event = raised_id(handled, n);
        if (!handled_.contains(event)) {  // not reported before its parent
            pending_.insert(std::move(event));
        }
    }
    return true;
}

}  // namespace cluster

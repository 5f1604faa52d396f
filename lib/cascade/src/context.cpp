#include "cascade/context.hpp"

#include <stdexcept>
#include <string>

namespace cascade {

void context::raise(any_message evt) {
    if (evt.kind() != message_kind::event) {
        throw std::invalid_argument{"a handler raises events, not commands: " + std::string{evt.name()}};
    }
    raised_.push_back(std::move(evt));
}

std::vector<any_message> context::take_raised() {
    for (auto& source : sources_) {
        for (auto& evt : source()) {
            raise(std::move(evt));
        }
    }
    sources_.clear();
    return std::exchange(raised_, {});
}

}  // namespace cascade

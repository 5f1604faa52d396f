#include "allocation/store.hpp"

namespace allocation {

const std::shared_ptr<cascade::journal>& store::journal() const noexcept {
    static const std::shared_ptr<cascade::journal> none;
    return none;
}

}  // namespace allocation

#include "allocation/repository.hpp"

#include "allocation/store.hpp"

#include <stdexcept>
#include <string>

namespace allocation {

product& repository::add(product p) {
    if (get(p.sku()) != nullptr) {
        throw std::invalid_argument{"product " + p.sku() + " already exists"};
    }
    std::string sku = p.sku();
    auto [it, inserted] = seen_.try_emplace(std::move(sku), tracked_product{std::move(p), std::nullopt});
    return it->second.current;
}

product* repository::get(std::string_view sku) {
    if (const auto it = seen_.find(sku); it != seen_.end()) {
        return &it->second.current;
    }
    if (session_ == nullptr) {
        throw std::logic_error{"the unit of work has ended; it cannot load product " + std::string{sku}};
    }
    auto loaded = session_->load(sku);
    if (!loaded) {
        return nullptr;
    }
    const std::int64_t version = loaded->version_number();
    auto [it, inserted] = seen_.try_emplace(std::string{sku}, tracked_product{std::move(*loaded), version});
    return &it->second.current;
}

std::vector<tracked_product*> repository::seen() {
    std::vector<tracked_product*> result;
    result.reserve(seen_.size());
    for (auto& [sku, tracked] : seen_) {
        result.push_back(&tracked);
    }
    return result;
}

}  // namespace allocation

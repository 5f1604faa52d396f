#pragma once
// The handlers' dependencies (unit of work, notifier, clock…), provided once at bootstrap
// and replaceable by fakes in tests: the book's dependency injection, typed.

#include <boost/core/demangle.hpp>

#include <memory>
#include <stdexcept>
#include <typeindex>
#include <unordered_map>

namespace cascade {

class services {
public:
    /// Provides (or replaces) the dependency of type T.
    template <class T>
    void provide(std::shared_ptr<T> service) {
        entries_[std::type_index{typeid(T)}] = std::move(service);
    }

    /// Constructs the dependency of type T in place and returns it.
    template <class T, class... Args>
    T& emplace(Args&&... args) {
        auto service = std::make_shared<T>(std::forward<Args>(args)...);
        T& ref = *service;
        provide<T>(std::move(service));
        return ref;
    }

    /// The dependency of type T, or nullptr when none was provided.
    template <class T>
    [[nodiscard]] T* find() const noexcept {
        const auto it = entries_.find(std::type_index{typeid(T)});
        return it == entries_.end() ? nullptr : static_cast<T*>(it->second.get());
    }

    /// The dependency of type T; std::out_of_range naming T when none was provided.
    template <class T>
    [[nodiscard]] T& get() const {
        if (T* service = find<T>()) {
            return *service;
        }
        throw std::out_of_range{"no dependency provided for " + boost::core::demangle(typeid(T).name())};
    }

private:
    std::unordered_map<std::type_index, std::shared_ptr<void>> entries_;
};

}  // namespace cascade

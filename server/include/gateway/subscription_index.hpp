#pragma once
// Where the live feed finds the subscriptions an event may concern, without looking at the ones it
// cannot. A subscription is filed under one kind of key:
//   - names and aggregates, few pairs of them: under each (name, aggregate) pair;
//   - names (and too many pairs to file): under each name;
//   - aggregates only: under each aggregate;
//   - neither: under "any".
// An event has one name and one aggregate, so a subscription is a candidate for it at most once.
// A candidate filed by name alone may still not want the event's aggregate: the caller checks the
// whole filter. Not thread-safe: the live feed owns it under its lock.

#include <cascade/string_map.hpp>

#include <cstddef>
#include <functional>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>

namespace gateway {

using cascade::string_map;

/// Indexes pointers to `Subscription`s, which stay where they are until they are erased.
template <class Subscription>
class subscription_index {
public:
    /// Past this many (name, aggregate) pairs a subscription is filed by name alone: a 64 KiB
    /// subscribe frame could otherwise list millions of pairs.
    static constexpr std::size_t max_pairs = 64;

    /// Files `s` under the keys of its filter. Strong guarantee: on a throw nothing of `s` is kept.
    void insert(Subscription* s, std::span<const std::string> names, std::span<const std::string> aggregates) {
        try {
            switch (filing_of(names, aggregates)) {
                case filing::pairs:
                    for (const auto& name : names) {
                        auto& by_aggregate = by_pair_[name];
                        for (const auto& aggregate : aggregates) {
                            by_aggregate[aggregate].insert(s);
                        }
                    }
                    return;
                case filing::names:
                    for (const auto& name : names) {
                        by_name_[name].insert(s);
                    }
                    return;
                case filing::aggregates:
                    for (const auto& aggregate : aggregates) {
                        by_aggregate_[aggregate].insert(s);
                    }
                    return;
                case filing::any:
                    any_.insert(s);
                    return;
            }
        } catch (...) {
            erase(s, names, aggregates);
            throw;
        }
    }

    /// Unfiles `s`; `names` and `aggregates` are those it was inserted with.
    void erase(Subscription* s, std::span<const std::string> names, std::span<const std::string> aggregates) noexcept {
        switch (filing_of(names, aggregates)) {
            case filing::pairs:
                for (const auto& name : names) {
                    if (const auto it = by_pair_.find(std::string_view{name}); it != by_pair_.end()) {
                        for (const auto& aggregate : aggregates) {
                            erase_from(it->second, aggregate, s);
                        }
                        if (it->second.empty()) {
                            by_pair_.erase(it);
                        }
                    }
                }
                return;
            case filing::names:
                for (const auto& name : names) {
                    erase_from(by_name_, name, s);
                }
                return;
            case filing::aggregates:
                for (const auto& aggregate : aggregates) {
                    erase_from(by_aggregate_, aggregate, s);
                }
                return;
            case filing::any:
                any_.erase(s);
                return;
        }
    }

    /// Calls `visit(Subscription&)` once for each subscription filed under the event's name, its
    /// aggregate, the pair of them, or "any": those that want the event, and no others but ones
    /// filed by name alone.
    template <class Visit>
    void for_each_candidate(std::string_view name, std::string_view aggregate, Visit&& visit) const {
        const auto visit_all = [&](const bucket& b) {
            for (auto* s : b) {
                visit(*s);
            }
        };
        const auto visit_key = [&](const auto& map, std::string_view key) {
            if (const auto it = map.find(key); it != map.end()) {
                visit_all(it->second);
            }
        };
        visit_key(by_name_, name);
        visit_key(by_aggregate_, aggregate);
        if (const auto it = by_pair_.find(name); it != by_pair_.end()) {
            visit_key(it->second, aggregate);
        }
        visit_all(any_);
    }

    /// Keys in use: names, aggregates and pairs (a count for tests: it walks the pairs' names).
    [[nodiscard]] std::size_t keys() const noexcept {
        std::size_t n = by_name_.size() + by_aggregate_.size();
        for (const auto& [name, by_aggregate] : by_pair_) {
            n += by_aggregate.size();
        }
        return n;
    }

private:
    // A set, not a vector: erasing one of many subscriptions under a popular key is O(1), and a
    // key listed twice files the subscription once.
    using bucket = std::unordered_set<Subscription*>;

    enum class filing : unsigned char { pairs, names, aggregates, any };

    [[nodiscard]] static filing filing_of(std::span<const std::string> names,
                                          std::span<const std::string> aggregates) noexcept {
        if (!names.empty() && !aggregates.empty() && names.size() <= max_pairs / aggregates.size()) {
            return filing::pairs;
        }
        if (!names.empty()) {
            return filing::names;
        }
        return aggregates.empty() ? filing::any : filing::aggregates;
    }

    /// Takes `s` out of the bucket under `key`, and the bucket out of `map` once it is empty:
    /// keys come from clients, so none is kept for nobody.
    static void erase_from(string_map<bucket>& map, std::string_view key, Subscription* s) noexcept {
        if (const auto it = map.find(key); it != map.end()) {
            it->second.erase(s);
            if (it->second.empty()) {
                map.erase(it);
            }
        }
    }

    string_map<bucket> by_name_;
    string_map<bucket> by_aggregate_;
    string_map<string_map<bucket>> by_pair_;  ///< by name, then by aggregate
    bucket any_;
};

}  // namespace gateway

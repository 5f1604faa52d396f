#pragma once
// The allocation messages, under the book's names (chapter 9) on the wire.
//
// Commands (exactly one handler, the caller gets a result or the failure): BatchCreated,
// AllocationRequired, BatchQuantityChanged — they come from outside and someone waits for the
// answer. Events (zero or more handlers, failures isolated): Allocated, Deallocated, OutOfStock —
// facts the product records. Every message is keyed by its SKU, so everything that touches one
// product runs on that product's lane, in order.

#include <cascade/fields.hpp>
#include <cascade/message.hpp>

#include <nlohmann/json.hpp>

#include <chrono>
#include <optional>
#include <string>
#include <string_view>
#include <tuple>

/// Dates on the wire: "YYYY-MM-DD" strings.
template <>
struct cascade::field_codec<std::chrono::year_month_day> {
    [[nodiscard]] static std::chrono::year_month_day read(const nlohmann::json& value, const field_rules& rules);
    [[nodiscard]] static nlohmann::json write(std::chrono::year_month_day value);
    [[nodiscard]] static nlohmann::json schema(const field_rules& rules);
};

namespace allocation {

using cascade::aggregate_key;
using cascade::at_least;
using cascade::field;
using cascade::message_kind;
using cascade::non_empty;

/// Command: a new batch of stock. Wire: {ref, sku, qty > 0, eta: "YYYY-MM-DD" | null | absent}.
struct batch_created {
    static constexpr std::string_view name = "BatchCreated";
    static constexpr message_kind kind = message_kind::command;
    std::string ref;
    std::string sku;
    int qty{};
    std::optional<std::chrono::year_month_day> eta;  ///< none: in stock now
    [[nodiscard]] std::string_view aggregate() const noexcept { return sku; }
    friend bool operator==(const batch_created&, const batch_created&) = default;
    static constexpr auto fields() {
        return std::tuple{field{"ref", &batch_created::ref, non_empty},
                          field{"sku", &batch_created::sku, aggregate_key},
                          field{"qty", &batch_created::qty, at_least(1)}, field{"eta", &batch_created::eta}};
    }
};

/// Command: allocate an order line; the result is the batch reference, or null when out of stock.
/// Wire: {orderid, sku, qty > 0}.
struct allocation_required {
    static constexpr std::string_view name = "AllocationRequired";
    static constexpr message_kind kind = message_kind::command;
    std::string orderid;
    std::string sku;
    int qty{};
    [[nodiscard]] std::string_view aggregate() const noexcept { return sku; }
    friend bool operator==(const allocation_required&, const allocation_required&) = default;
    static constexpr auto fields() {
        return std::tuple{field{"orderid", &allocation_required::orderid, non_empty},
                          field{"sku", &allocation_required::sku, aggregate_key},
                          field{"qty", &allocation_required::qty, at_least(1)}};
    }
};

/// Command: a batch's purchased quantity changed. Wire: {ref, sku, qty >= 0}.
/// `sku` is our addition to the book's {ref, qty}: the lane key has to be known from the message
/// itself, and it must be the product's SKU so that the change is ordered with its allocations.
struct batch_quantity_changed {
    static constexpr std::string_view name = "BatchQuantityChanged";
    static constexpr message_kind kind = message_kind::command;
    std::string ref;
    std::string sku;
    int qty{};
    [[nodiscard]] std::string_view aggregate() const noexcept { return sku; }
    friend bool operator==(const batch_quantity_changed&, const batch_quantity_changed&) = default;
    static constexpr auto fields() {
        return std::tuple{field{"ref", &batch_quantity_changed::ref, non_empty},
                          field{"sku", &batch_quantity_changed::sku, aggregate_key},
                          field{"qty", &batch_quantity_changed::qty, at_least(0)}};
    }
};

/// Event: a line was allocated to a batch. Wire: {orderid, sku, qty, batchref}.
struct allocated {
    static constexpr std::string_view name = "Allocated";
    static constexpr message_kind kind = message_kind::event;
    std::string orderid;
    std::string sku;
    int qty{};
    std::string batchref;
    [[nodiscard]] std::string_view aggregate() const noexcept { return sku; }
    friend bool operator==(const allocated&, const allocated&) = default;
    static constexpr auto fields() {
        return std::tuple{field{"orderid", &allocated::orderid, non_empty},
                          field{"sku", &allocated::sku, aggregate_key}, field{"qty", &allocated::qty, at_least(1)},
                          field{"batchref", &allocated::batchref, non_empty}};
    }
};

/// Event: a line lost its batch (the batch shrank) and waits to be allocated again.
/// Wire: {orderid, sku, qty}.
struct deallocated {
    static constexpr std::string_view name = "Deallocated";
    static constexpr message_kind kind = message_kind::event;
    std::string orderid;
    std::string sku;
    int qty{};
    [[nodiscard]] std::string_view aggregate() const noexcept { return sku; }
    friend bool operator==(const deallocated&, const deallocated&) = default;
    static constexpr auto fields() {
        return std::tuple{field{"orderid", &deallocated::orderid, non_empty},
                          field{"sku", &deallocated::sku, aggregate_key}, field{"qty", &deallocated::qty, at_least(1)}};
    }
};

/// Event: no batch could take a line of this SKU. Wire: {sku}.
struct out_of_stock {
    static constexpr std::string_view name = "OutOfStock";
    static constexpr message_kind kind = message_kind::event;
    std::string sku;
    [[nodiscard]] std::string_view aggregate() const noexcept { return sku; }
    friend bool operator==(const out_of_stock&, const out_of_stock&) = default;
    static constexpr auto fields() { return std::tuple{field{"sku", &out_of_stock::sku, aggregate_key}}; }
};

// JSON both ways comes from fields(). Reading throws nlohmann::json exceptions that name the
// field: a missing key ("key 'qty' not found"), a wrong type ("(/qty) type must be integer, but is
// string") or a bad value ("(/qty) must be an integer from 1 to …", "(/eta) must be a date …").

static_assert(cascade::command<batch_created> && cascade::command<allocation_required> &&
              cascade::command<batch_quantity_changed>);
static_assert(cascade::event<allocated> && cascade::event<deallocated> && cascade::event<out_of_stock>);

}  // namespace allocation

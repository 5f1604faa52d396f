#include "allocation/messages.hpp"

#include "allocation/date.hpp"

#include <cstdint>
#include <limits>
#include <string>

namespace allocation {
namespace {

using nlohmann::json;

// The exceptions carry `field` as their context, so with JSON_DIAGNOSTICS their message starts
// with the field's path: "(/qty) must be greater than 0, but is -1".
constexpr int invalid_value_id = 501;

[[noreturn]] void throw_invalid(const json& field, const std::string& why) {
    throw json::other_error::create(invalid_value_id, why, &field);
}

[[nodiscard]] std::string read_identifier(const json& j, const char* key) {
    const json& field = j.at(key);
    auto value = field.get<std::string>();
    if (value.empty()) {
        throw_invalid(field, "must not be empty");
    }
    return value;
}

/// An integer in [minimum, INT_MAX] (minimum >= 0); a fraction like 2.5 is a type error, not a silent 2.
[[nodiscard]] int read_quantity(const json& j, const char* key, int minimum) {
    const json& field = j.at(key);
    if (!field.is_number_integer()) {
        throw json::type_error::create(302, std::string{"type must be integer, but is "} + field.type_name(), &field);
    }
    constexpr auto maximum = std::numeric_limits<int>::max();
    // Non-negative integers are stored unsigned, negative ones signed: compare in the stored type.
    const bool in_range = field.is_number_unsigned()
                              ? field.get<std::uint64_t>() >= static_cast<std::uint64_t>(minimum) &&
                                    field.get<std::uint64_t>() <= static_cast<std::uint64_t>(maximum)
                              : field.get<std::int64_t>() >= minimum && field.get<std::int64_t>() <= maximum;
    if (!in_range) {
        throw_invalid(field, "must be an integer from " + std::to_string(minimum) + " to " + std::to_string(maximum) +
                                 ", but is " + field.dump());
    }
    return field.get<int>();
}

/// Absent or null: no ETA; else a "YYYY-MM-DD" string.
[[nodiscard]] std::optional<std::chrono::year_month_day> read_eta(const json& j) {
    const auto it = j.find("eta");
    if (it == j.end() || it->is_null()) {
        return std::nullopt;
    }
    auto date = parse_date(it->get<std::string>());
    if (!date) {
        throw_invalid(*it, "must be a date YYYY-MM-DD, but is " + it->dump());
    }
    return date;
}

}  // namespace

void to_json(json& j, const batch_created& m) {
    j = json{{"ref", m.ref}, {"sku", m.sku}, {"qty", m.qty}, {"eta", nullptr}};
    if (m.eta) {
        j["eta"] = format_date(*m.eta);
    }
}

void from_json(const json& j, batch_created& m) {
    m.ref = read_identifier(j, "ref");
    m.sku = read_identifier(j, "sku");
    m.qty = read_quantity(j, "qty", 1);
    m.eta = read_eta(j);
}

void to_json(json& j, const allocation_required& m) {
    j = json{{"orderid", m.orderid}, {"sku", m.sku}, {"qty", m.qty}};
}

void from_json(const json& j, allocation_required& m) {
    m.orderid = read_identifier(j, "orderid");
    m.sku = read_identifier(j, "sku");
    m.qty = read_quantity(j, "qty", 1);
}

void to_json(json& j, const batch_quantity_changed& m) {
    j = json{{"ref", m.ref}, {"sku", m.sku}, {"qty", m.qty}};
}

void from_json(const json& j, batch_quantity_changed& m) {
    m.ref = read_identifier(j, "ref");
    m.sku = read_identifier(j, "sku");
    m.qty = read_quantity(j, "qty", 0);  // a batch may shrink to nothing
}

void to_json(json& j, const allocated& m) {
    j = json{{"orderid", m.orderid}, {"sku", m.sku}, {"qty", m.qty}, {"batchref", m.batchref}};
}

void from_json(const json& j, allocated& m) {
    m.orderid = read_identifier(j, "orderid");
    m.sku = read_identifier(j, "sku");
    m.qty = read_quantity(j, "qty", 1);
    m.batchref = read_identifier(j, "batchref");
}

void to_json(json& j, const deallocated& m) {
    j = json{{"orderid", m.orderid}, {"sku", m.sku}, {"qty", m.qty}};
}

void from_json(const json& j, deallocated& m) {
    m.orderid = read_identifier(j, "orderid");
    m.sku = read_identifier(j, "sku");
    m.qty = read_quantity(j, "qty", 1);
}

void to_json(json& j, const out_of_stock& m) {
    j = json{{"sku", m.sku}};
}

void from_json(const json& j, out_of_stock& m) {
    m.sku = read_identifier(j, "sku");
}

}  // namespace allocation

#include "allocation/product_json.hpp"

#include "allocation/date.hpp"

#include <nlohmann/json.hpp>

#include <stdexcept>

namespace allocation {

namespace {

using nlohmann::json;

[[nodiscard]] json batch_to_json(const batch& b) {
    auto lines = json::array();
    for (const auto& line : b.allocations().lines()) {
        lines.push_back({line.orderid, line.qty});
    }
    return {{"reference", b.reference()},
            {"purchased", b.purchased_quantity()},
            {"eta", b.eta() ? json(format_date(*b.eta())) : json(nullptr)},
            {"lines", std::move(lines)}};
}

[[nodiscard]] batch batch_from_json(const json& stored, const std::string& sku) {
    std::optional<batch::date> eta;
    if (!stored.at("eta").is_null()) {
        eta = parse_date(stored.at("eta").get<std::string>());
        if (!eta) {
            throw std::invalid_argument{"a stored batch has an invalid eta"};
        }
    }
    std::vector<order_line> lines;
    for (const auto& line : stored.at("lines")) {
        lines.push_back({.orderid = line.at(0).get<std::string>(), .sku = sku, .qty = line.at(1).get<int>()});
    }
    return batch{stored.at("reference").get<std::string>(), sku, stored.at("purchased").get<int>(), eta,
                 std::move(lines)};
}

}  // namespace

std::string encode_product(const product& p) {
    auto batches = json::array();
    for (const auto& b : p.batches()) {
        batches.push_back(batch_to_json(b));
    }
    return json{{"sku", p.sku()}, {"version", p.version_number()}, {"batches", std::move(batches)}}.dump();
}

product decode_product(std::string_view document) {
    try {
        const auto stored = json::parse(document);
        auto sku = stored.at("sku").get<std::string>();
        std::vector<batch> batches;
        for (const auto& b : stored.at("batches")) {
            batches.push_back(batch_from_json(b, sku));
        }
        return product{std::move(sku), std::move(batches), stored.at("version").get<std::int64_t>()};
    } catch (const json::exception& e) {
        throw std::invalid_argument{std::string{"not a stored product: "} + e.what()};
    }
}

}  // namespace allocation

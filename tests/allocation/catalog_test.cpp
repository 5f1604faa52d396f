// The catalog's JSON Schemas against the decoder: for every message the allocation bus knows, data
// built from its schema is accepted, and each way of breaking one of the schema's rules is refused.
// The cases are derived from the schema alone, so a schema that drifts from the decoder fails here.
#include "support.hpp"

#include <cascade/catalog.hpp>
#include <cascade/registry.hpp>

#include <catch2/catch.hpp>

#include <limits>
#include <map>
#include <string>
#include <utility>
#include <vector>

using nlohmann::json;

namespace {

/// The JSON type a property's schema names first ("string" of ["string", "null"]).
[[nodiscard]] std::string type_of(const json& property) {
    return property["type"].is_array() ? property["type"][0].get<std::string>() : property["type"].get<std::string>();
}

[[nodiscard]] bool nullable(const json& property) {
    return property["type"].is_array() && property["type"].size() == 2 && property["type"][1] == "null";
}

/// A value the schema of `property` accepts; strings are made unique by `salt`.
[[nodiscard]] json valid_value(const json& property, const std::string& salt) {
    const auto type = type_of(property);
    if (type == "integer") {
        return property["minimum"].get<std::int64_t>() + 1;
    }
    if (property.contains("format") && property["format"] == "date") {
        return "2026-12-01";
    }
    REQUIRE(type == "string");
    return "v-" + salt;
}

/// A value of another JSON type than the schema's.
[[nodiscard]] json mistyped_value(const json& property) {
    return type_of(property) == "string" ? json(7) : json("7");
}

/// What the schema accepts and what it refuses, each with why.
struct decoder_cases {
    json valid;
    std::vector<std::pair<std::string, json>> accepted;
    std::vector<std::pair<std::string, json>> refused;
};

[[nodiscard]] decoder_cases cases_from(const json& schema) {
    REQUIRE(schema["type"] == "object");
    decoder_cases cases;
    cases.valid = json::object();
    for (const auto& [name, property] : schema["properties"].items()) {
        cases.valid[name] = valid_value(property, name);
    }
    cases.refused.emplace_back("not an object", json::array());
    cases.accepted.emplace_back("with a key the schema does not name", [&] {
        auto data = cases.valid;
        data["unnamed-extra"] = true;
        return data;
    }());
    for (const auto& name : schema["required"]) {
        auto data = cases.valid;
        data.erase(name.get<std::string>());
        cases.refused.emplace_back("without required " + name.get<std::string>(), data);
    }
    for (const auto& [name, property] : schema["properties"].items()) {
        const auto with = [&](json value) {
            auto data = cases.valid;
            data[name] = std::move(value);
            return data;
        };
        cases.refused.emplace_back(name + " of another type", with(mistyped_value(property)));
        if (nullable(property)) {
            cases.accepted.emplace_back(name + " null", with(nullptr));
            auto absent = cases.valid;
            absent.erase(name);
            cases.accepted.emplace_back(name + " absent", absent);
        } else {
            cases.refused.emplace_back(name + " null", with(nullptr));
        }
        if (property.contains("minimum")) {
            // An int64 field's bounds are the type's: one past them is not an int64, so it is
            // written as the unsigned number it is, or left out below INT64_MIN (JSON numbers
            // here are 64-bit).
            const auto minimum = property["minimum"].get<std::int64_t>();
            cases.accepted.emplace_back(name + " at its minimum", with(minimum));
            if (minimum > std::numeric_limits<std::int64_t>::min()) {
                cases.refused.emplace_back(name + " below its minimum", with(minimum - 1));
            }
            cases.accepted.emplace_back(name + " at its maximum", with(property["maximum"]));
            const auto maximum = property["maximum"].get<std::int64_t>();
            cases.refused.emplace_back(name + " above its maximum", with(static_cast<std::uint64_t>(maximum) + 1U));
            cases.refused.emplace_back(name + " a fraction", with(minimum + 0.5));
        }
        if (property.contains("minLength")) {
            const auto shortest = property["minLength"].get<std::size_t>();
            cases.accepted.emplace_back(name + " at its minLength", with(std::string(shortest, 'x')));
            cases.refused.emplace_back(name + " below its minLength", with(std::string(shortest - 1, 'x')));
        }
        if (property.contains("pattern")) {
            cases.refused.emplace_back(name + " against its pattern", with("12/01/2026"));
        }
    }
    return cases;
}

[[nodiscard]] bool decodes(const cascade::message_registry& registry, std::string_view name, const json& data) {
    try {
        static_cast<void>(registry.decode(name, data));
        return true;
    } catch (const cascade::decode_error& e) {
        CHECK(e.code() == cascade::decode_errc::invalid_data);
        return false;
    }
}

}  // namespace

TEST_CASE("every catalog schema accepts what the decoder accepts and refuses what it refuses",
          "[allocation][catalog]") {
    alloc_test::service<alloc_test::memory_factory> svc;
    const auto catalog = svc.bus.catalog();
    REQUIRE(catalog.size() == 6);
    for (const auto& entry : catalog) {
        const auto& type = *entry.type;
        INFO(type.name);
        const auto schema = type.schema();
        const auto cases = cases_from(schema);
        const auto message = svc.bus.registry().decode(type.name, cases.valid);
        // The field the catalog names as the aggregate is the one the message's lane is keyed by.
        REQUIRE_FALSE(type.aggregate_field.empty());
        CHECK(message.aggregate() == cases.valid[std::string{type.aggregate_field}].get<std::string>());
        // What the message writes is what its schema describes, and reads back the same.
        CHECK(message.data() == cases.valid);
        for (const auto& [why, data] : cases.accepted) {
            INFO(why);
            CHECK(decodes(svc.bus.registry(), type.name, data));
        }
        for (const auto& [why, data] : cases.refused) {
            INFO(why);
            CHECK_FALSE(decodes(svc.bus.registry(), type.name, data));
        }
    }
}

TEST_CASE("the catalog names each message's handlers", "[allocation][catalog]") {
    alloc_test::service<alloc_test::memory_factory> svc;
    std::map<std::string_view, std::vector<std::string>> handlers;
    for (auto& entry : svc.bus.catalog()) {
        handlers[entry.type->name] = entry.handlers;
    }
    CHECK(handlers["BatchCreated"] == std::vector<std::string>{"add_batch"});
    CHECK(handlers["AllocationRequired"] == std::vector<std::string>{"allocate"});
    CHECK(handlers["BatchQuantityChanged"] == std::vector<std::string>{"change_batch_quantity"});
    CHECK(handlers["Deallocated"] == std::vector<std::string>{"reallocate"});
    CHECK(handlers["OutOfStock"] == std::vector<std::string>{"send_out_of_stock_notification"});
    CHECK(handlers["Allocated"].empty());  // declared, handled by no one
}

// What a token's patterns allow, and how a subscription is narrowed to them (never widened).
#include "gateway/permissions.hpp"

#include <catch2/catch.hpp>

using gateway::narrowed_names;
using gateway::permissions;
using verdict = narrowed_names::verdict;

namespace {

const std::vector<std::string_view> known{"Touch", "Touched", "Broken", "Refuse"};

}  // namespace

TEST_CASE("names are matched with shell patterns, and no pattern allows nothing", "[auth]") {
    const permissions grants{{"Touch", "Ref*"}, {"Touch?d", "[BX]roken"}};
    CHECK(grants.may_submit("Touch"));
    CHECK(grants.may_submit("Refuse"));
    CHECK_FALSE(grants.may_submit("Touched"));
    CHECK_FALSE(grants.may_submit("touch"));
    CHECK_FALSE(grants.may_submit(""));
    CHECK(grants.may_subscribe("Touched"));
    CHECK(grants.may_subscribe("Broken"));
    CHECK_FALSE(grants.may_subscribe("Touch"));

    const permissions none;
    CHECK_FALSE(none.may_submit("Touch"));
    CHECK_FALSE(none.may_subscribe("Touched"));

    const auto all = permissions::everything();
    CHECK(all.may_submit("Anything"));
    CHECK(all.may_subscribe("Anything"));
}

TEST_CASE("a subscription keeps, narrows to, or is refused the names the patterns allow", "[auth]") {
    const permissions touches{{}, {"Touch*"}};

    SECTION("asked names all allowed: kept") {
        const auto result = touches.narrow({"Touched"}, known);
        CHECK(result.answer == verdict::kept);
    }
    SECTION("some asked names allowed: narrowed to them") {
        const auto result = touches.narrow({"Broken", "Touched", "Unknown"}, known);
        CHECK(result.answer == verdict::narrowed);
        CHECK(result.names == std::vector<std::string>{"Touched"});
    }
    SECTION("no asked name allowed: refused") {
        CHECK(touches.narrow({"Broken"}, known).answer == verdict::refused);
    }
    SECTION("every name asked: narrowed to the known names allowed") {
        const auto result = touches.narrow({}, known);
        CHECK(result.answer == verdict::narrowed);
        CHECK(result.names == std::vector<std::string>{"Touch", "Touched"});
    }
    SECTION("every name asked, none allowed: refused") {
        CHECK(permissions{}.narrow({}, known).answer == verdict::refused);
    }
    SECTION("every name asked, every known one allowed by name: spelled out, so no unknown name comes in") {
        const permissions each{{}, {"Touch", "Touched", "Broken", "Refuse"}};
        const auto result = each.narrow({}, known);
        CHECK(result.answer == verdict::narrowed);
        CHECK(result.names == std::vector<std::string>{"Touch", "Touched", "Broken", "Refuse"});
    }
    SECTION("a * pattern keeps any subscription, unknown names too") {
        const auto all = permissions::everything();
        CHECK(all.narrow({}, known).answer == verdict::kept);
        CHECK(all.narrow({"Unknown"}, known).answer == verdict::kept);
    }
}

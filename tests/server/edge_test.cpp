// What may come from outside: a client submits commands; the events the domain raises are facts
// only its aggregates record, so a forged one is refused before it reaches a lane.
#include "support.hpp"

#include <catch2/catch.hpp>

#include <map>

using namespace server_test;

namespace {

cascade_server::app_domain load_book(cascade::bus& bus) {
    return cascade_server::load_allocation_domain(
        bus, {.store = cascade_server::store_choice::memory, .db_path = {}, .notifications_path = "/dev/null"});
}

json post_body(std::string_view name, const json& data) {
    return {{"name", name}, {"data", data}};
}

}  // namespace

TEST_CASE("the domain's events are refused from outside, over WebSocket and HTTP, and change nothing",
          "[server][edge]") {
    fixture f{test_options(), load_book};
    const auto port = f.port();
    REQUIRE(http_request(port, "POST", "/add_batch", R"({"ref":"b1","sku":"LAMP","qty":100,"eta":null})").status ==
            201);
    REQUIRE(http_request(port, "POST", "/allocate", R"({"orderid":"o1","sku":"LAMP","qty":10})").status == 202);

    ws_client client{port};
    const json forged{{"orderid", "F2"}, {"sku", "LAMP"}, {"qty", 1}, {"batchref", "zz"}};
    const auto frames = submit_and_collect(client, "f1", "Allocated", forged);
    REQUIRE(frames.size() == 1);
    CHECK(frames[0]["type"] == "error");
    CHECK(frames[0]["re"] == "f1");
    CHECK(frames[0]["code"] == "forbidden");
    CHECK(frames[0]["retryable"] == false);
    CHECK_THAT(frames[0]["message"].get<std::string>(), Catch::Contains("Allocated"));

    for (const auto& [name, data] : {std::pair{"Allocated", forged},
                                     std::pair{"Deallocated", json{{"orderid", "o1"}, {"sku", "LAMP"}, {"qty", 10}}},
                                     std::pair{"OutOfStock", json{{"sku", "LAMP"}}}}) {
        INFO(name);
        const auto reply = http_request(port, "POST", "/messages", post_body(name, data).dump());
        CHECK(reply.status == 403);
        CHECK(reply.body_json()["code"] == "forbidden");
    }

    // Nothing reached the domain: no forged row, the real one kept, no notification sent.
    CHECK(http_request(port, "GET", "/allocations/F2").status == 404);
    const auto view = http_request(port, "GET", "/allocations/o1");
    CHECK(view.status == 200);
    CHECK(view.body_json() == json::array({{{"sku", "LAMP"}, {"batchref", "b1"}}}));
    CHECK(f.server.metrics().refusals(gateway::protocol::refusal::forbidden) == 4);
    CHECK(f.bus.metrics().submitted == 2);  // the batch and the allocation

    // The connection lives on, and its commands still go through.
    const auto allowed =
        submit_and_collect(client, "c1", "AllocationRequired", {{"orderid", "o2"}, {"sku", "LAMP"}, {"qty", 1}});
    CHECK(allowed.back()["status"] == "ok");
}

TEST_CASE("an unknown name from outside is still unknown_message, not forbidden", "[server][edge]") {
    fixture f;
    ws_client client{f.port()};
    const auto frames = submit_and_collect(client, "u1", "NoSuchThing", json::object());
    REQUIRE(frames.size() == 1);
    CHECK(frames[0]["code"] == "unknown_message");
    // The test domain's own event is refused like the book's.
    const auto touched = submit_and_collect(client, "t1", "Touched", {{"key", "k"}, {"seq", 1}});
    REQUIRE(touched.size() == 1);
    CHECK(touched[0]["code"] == "forbidden");
}

TEST_CASE("GET /catalog lists every message with its kind, aggregate, handlers and schema", "[server][edge]") {
    fixture f{test_options(), load_book};
    const auto reply = http_request(f.port(), "GET", "/catalog");
    REQUIRE(reply.status == 200);
    const auto catalog = reply.body_json();
    std::map<std::string, json> by_name;
    for (const auto& entry : catalog["messages"]) {
        by_name[entry["name"].get<std::string>()] = entry;
    }
    for (const auto* command : {"AllocationRequired", "BatchCreated", "BatchQuantityChanged", "Touch"}) {
        INFO(command);
        REQUIRE(by_name.contains(command));
        CHECK(by_name[command]["kind"] == "command");
        CHECK(by_name[command]["from_edge"] == true);
    }
    for (const auto* event : {"Allocated", "Deallocated", "OutOfStock", "Touched"}) {
        INFO(event);
        REQUIRE(by_name.contains(event));
        CHECK(by_name[event]["kind"] == "event");
        CHECK(by_name[event]["from_edge"] == false);
    }
    CHECK(by_name.size() == f.bus.registry().names().size());
    // The domain's messages describe their fields; the test's own (Touch) does not.
    const auto& allocate = by_name["AllocationRequired"];
    CHECK(allocate["aggregate"] == "sku");
    CHECK(allocate["handlers"] == json::array({"allocate"}));
    CHECK(allocate["schema"]["required"] == json::array({"orderid", "sku", "qty"}));
    CHECK(allocate["schema"]["properties"]["qty"]["minimum"] == 1);
    CHECK(by_name["BatchCreated"]["schema"]["properties"]["eta"]["type"] == json::array({"string", "null"}));
    CHECK(by_name["Allocated"]["handlers"] == json::array());
    CHECK(by_name["Touch"]["aggregate"].is_null());
    CHECK(by_name["Touch"]["schema"] == json{{"type", "object"}});
    CHECK(http_request(f.port(), "POST", "/catalog").status == 404);

    // The same catalog over WebSocket.
    ws_client client{f.port()};
    client.send({{"type", "catalog"}, {"id", "k1"}});
    const auto frame = client.read();
    CHECK(frame["type"] == "catalog");
    CHECK(frame["re"] == "k1");
    CHECK(frame["messages"] == catalog["messages"]);
}

TEST_CASE("GET / serves the console embedded in the binary, and its scripts beside it", "[server][edge][console]") {
    fixture f{test_options(), load_book};
    const auto page = http_request(f.port(), "GET", "/");
    REQUIRE(page.status == 200);
    CHECK(page.content_type == "text/html; charset=utf-8");
    CHECK_THAT(page.body, Catch::Contains(R"(<script type="module" src="/console/js/main.js">)"));
    CHECK(http_request(f.port(), "GET", "/console/index.html").body == page.body);
    const auto script = http_request(f.port(), "GET", "/console/js/main.js");
    CHECK(script.status == 200);
    CHECK(script.content_type == "text/javascript; charset=utf-8");
    CHECK_THAT(script.body, Catch::Contains("new Connection()"));
    CHECK(http_request(f.port(), "GET", "/console/console.css").content_type == "text/css; charset=utf-8");
    CHECK(http_request(f.port(), "GET", "/console/nothing.js").status == 404);
    CHECK(http_request(f.port(), "GET", "/console/").status == 404);
    CHECK(http_request(f.port(), "POST", "/").status == 404);
}

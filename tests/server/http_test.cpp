// The HTTP face of the gateway: /messages, /dead-letters, /health, /metrics, and what it does with bad requests.
#include "support.hpp"

#include <catch2/catch.hpp>

using namespace server_test;

TEST_CASE("POST /messages runs a cascade and answers with its outcome", "[server][http]") {
    fixture f;
    const auto response =
        http_request(f.port(), "POST", "/messages", R"({"name":"Touch","data":{"key":"k","events":2}})");
    CHECK(response.status == 200);
    CHECK(response.content_type == "application/json");
    const auto body = response.body_json();
    CHECK(body["status"] == "ok");
    CHECK(body["result"] == "k");
    REQUIRE(body["events"].size() == 2);
    CHECK(body["events"][1]["name"] == "Touched");
    CHECK(body["events"][1]["data"]["seq"] == 2);
    // Each event with its number in the server's event log (the first events of this server).
    CHECK(body["events"][0]["seq"] == 1);
    CHECK(body["events"][1]["seq"] == 2);
    CHECK(body["errors"] == json::array());

    const auto failed =
        http_request(f.port(), "POST", "/messages", R"({"name":"Refuse","data":{"key":"k","reason":"no"}})");
    CHECK(failed.status == 200);
    CHECK(failed.body_json()["status"] == "failed");
    CHECK(failed.body_json()["errors"][0]["message"] == "no");
}

TEST_CASE("POST /messages refuses bad requests with 400 and undecodable messages with 422", "[server][http]") {
    fixture f;
    const auto not_json = http_request(f.port(), "POST", "/messages", "{oops");
    CHECK(not_json.status == 400);
    CHECK(not_json.body_json()["code"] == "bad_request");
    CHECK(http_request(f.port(), "POST", "/messages", R"({"data":{}})").status == 400);
    CHECK(http_request(f.port(), "POST", "/messages", R"({"name":"Touch","data":5})").status == 400);

    const auto unknown = http_request(f.port(), "POST", "/messages", R"({"name":"Nope","data":{}})");
    CHECK(unknown.status == 422);
    CHECK(unknown.body_json()["code"] == "unknown_message");
    const auto invalid = http_request(f.port(), "POST", "/messages", R"({"name":"Touch","data":{"key":1}})");
    CHECK(invalid.status == 422);
    CHECK(invalid.body_json()["code"] == "invalid_data");
    CHECK_FALSE(invalid.body_json()["message"].get<std::string>().empty());

    CHECK(http_request(f.port(), "GET", "/messages").status == 405);
    CHECK(http_request(f.port(), "GET", "/nowhere").status == 404);
}

TEST_CASE("GET /health is 200 while serving", "[server][http]") {
    fixture f;
    const auto health = http_request(f.port(), "GET", "/health");
    CHECK(health.status == 200);
    CHECK(health.body_json()["status"] == "ok");
}

TEST_CASE("GET /metrics exposes the bus and gateway counters in the Prometheus format", "[server][http]") {
    fixture f;
    {
        ws_client client{f.port()};
        (void)submit_and_collect(client, "c1", "Touch", {{"key", "k"}, {"events", 1}});
        client.send_text("not json");
        (void)client.read();
        client.close();
    }
    const auto metrics = http_request(f.port(), "GET", "/metrics");
    CHECK(metrics.status == 200);
    CHECK(metrics.content_type.starts_with("text/plain; version=0.0.4"));
    const auto& text = metrics.body;
    const auto has = [&](std::string_view line) {
        INFO(line);
        CHECK(text.find(line) != std::string::npos);
    };
    has("# TYPE cascade_bus_submitted_total counter");
    has("cascade_bus_submitted_total 1\n");
    has("# TYPE cascade_bus_handler_latency_seconds histogram");
    has("cascade_bus_handler_latency_seconds_bucket{le=\"+Inf\"} ");
    has("cascade_bus_handler_latency_seconds_sum ");
    has("cascade_bus_handler_latency_seconds_count ");
    has("cascade_gateway_connections_opened_total 1\n");
    has("cascade_gateway_frames_in_total 2\n");
    has("cascade_gateway_frames_out_total ");
    has("cascade_gateway_bytes_in_total ");
    has("cascade_gateway_bytes_out_total ");
    has("cascade_gateway_errors_total{code=\"bad_request\"} 1\n");
    has("cascade_gateway_errors_total{code=\"overloaded\"} 0\n");
    has("cascade_process_peak_resident_memory_bytes ");
}

TEST_CASE("GET /dead-letters lists what handlers gave up, POST /dead-letters/{id}/retry delivers one again",
          "[server][http][dead_letter]") {
    fixture f;
    CHECK(http_request(f.port(), "GET", "/dead-letters").body_json() == json::array());
    const auto stumbled = http_request(f.port(), "POST", "/messages", R"({"name":"Stumble","data":{"key":"k"}})");
    REQUIRE(stumbled.body_json()["status"] == "partial");

    const auto listed = http_request(f.port(), "GET", "/dead-letters");
    CHECK(listed.status == 200);
    const auto letters = listed.body_json();
    REQUIRE(letters.size() == 1);
    const auto& letter = letters[0];
    CHECK(letter["handler"] == "always_fails");
    CHECK(letter["attempts"] == 1);
    CHECK(letter["message"]["name"] == "Broken");
    CHECK(letter["message"]["aggregate"] == "k");
    const auto id = letter["id"].get<std::string>();

    // The handler still fails: the retry reports it, and its letter is replaced by a new one.
    const auto retried = http_request(f.port(), "POST", "/dead-letters/" + id + "/retry");
    CHECK(retried.status == 200);
    CHECK(retried.body_json()["status"] == "partial");
    CHECK(retried.body_json()["errors"][0]["handler"] == "always_fails");
    const auto after = http_request(f.port(), "GET", "/dead-letters").body_json();
    REQUIRE(after.size() == 1);
    CHECK(after[0]["id"] != id);
    CHECK(after[0]["message"]["causation_id"] == letter["message"]["id"]);

    const auto gone = http_request(f.port(), "POST", "/dead-letters/" + id + "/retry");
    CHECK(gone.status == 404);
    CHECK(gone.body_json()["code"] == "not_found");
    CHECK(http_request(f.port(), "GET", "/dead-letters/" + id + "/retry").status == 405);
    CHECK(http_request(f.port(), "POST", "/dead-letters/x1/retry").status == 404);
    CHECK(http_request(f.port(), "POST", "/dead-letters").status == 405);
}

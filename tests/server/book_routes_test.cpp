// The book's HTTP API (chapter 4's Flask app and chapter 12's view) served by the gateway over the
// allocation domain, in memory; and the book's scenario over WebSocket.
#include "support.hpp"

#include <catch2/catch.hpp>

using namespace server_test;

namespace {

cascade_server::app_domain load_book(cascade::bus& bus) {
    return cascade_server::load_allocation_domain(
        bus, {.store = cascade_server::store_choice::memory, .db_path = {}, .notifications_path = "/dev/null"});
}

}  // namespace

TEST_CASE("POST /add_batch, POST /allocate and GET /allocations/{orderid}", "[server][http][book]") {
    fixture f{test_options(), load_book};
    const auto port = f.port();

    CHECK(http_request(port, "POST", "/add_batch", R"({"ref":"b1","sku":"LAMP","qty":100,"eta":null})").status == 201);
    CHECK(
        http_request(port, "POST", "/add_batch", R"({"ref":"b2","sku":"LAMP","qty":100,"eta":"2011-01-02"})").status ==
        201);

    const auto allocated = http_request(port, "POST", "/allocate", R"({"orderid":"o1","sku":"LAMP","qty":10})");
    CHECK(allocated.status == 202);
    CHECK(allocated.body_json() == json{{"batchref", "b1"}});  // the batch in stock goes first

    const auto view = http_request(port, "GET", "/allocations/o1");
    CHECK(view.status == 200);
    CHECK(view.body_json() == json::array({{{"sku", "LAMP"}, {"batchref", "b1"}}}));

    const auto invalid = http_request(port, "POST", "/allocate", R"({"orderid":"o2","sku":"NOPE","qty":10})");
    CHECK(invalid.status == 400);
    CHECK(invalid.body_json() == json{{"message", "Invalid sku NOPE"}});

    CHECK(http_request(port, "GET", "/allocations/unknown-order").status == 404);
    CHECK(http_request(port, "POST", "/allocate", R"({"orderid":"o3","sku":"LAMP"})").status == 400);
    CHECK(http_request(port, "POST", "/add_batch", "not json").status == 400);
}

TEST_CASE("the book's scenario over WebSocket streams Allocated as it happens", "[server][book]") {
    fixture f{test_options(), load_book};
    ws_client client{f.port()};
    client.send(json{{"type", "subscribe"}, {"id", "s1"}, {"names", {"Allocated", "OutOfStock"}}});
    CHECK(client.read()["type"] == "subscribed");

    auto frames = submit_and_collect(client, "b1", "BatchCreated",
                                     {{"ref", "b1"}, {"sku", "LAMP"}, {"qty", 10}, {"eta", nullptr}});
    CHECK(frames.back()["status"] == "ok");

    // Frames about c1 and feed frames may interleave: sort them by kind.
    client.send(json{{"type", "submit"},
                     {"id", "c1"},
                     {"name", "AllocationRequired"},
                     {"data", {{"orderid", "o1"}, {"sku", "LAMP"}, {"qty", 10}}}});
    json done;
    std::vector<json> streamed;
    std::vector<json> fed;
    while (done.is_null() || fed.empty()) {
        auto frame = client.read();
        if (frame["type"] == "done") {
            done = frame;
        } else if (frame["type"] == "event") {
            (frame.contains("sub") ? fed : streamed).push_back(frame);
        }
    }
    CHECK(done["status"] == "ok");
    CHECK(done["result"] == "b1");
    CHECK(done["events"] == 1);
    REQUIRE(streamed.size() == 1);
    CHECK(streamed[0]["event"]["name"] == "Allocated");
    CHECK(streamed[0]["event"]["data"]["batchref"] == "b1");
    CHECK(fed[0]["event"] == streamed[0]["event"]);

    // Out of stock: the command succeeds with a null result, and OutOfStock is raised.
    frames = submit_and_collect(client, "c2", "AllocationRequired", {{"orderid", "o2"}, {"sku", "LAMP"}, {"qty", 1}});
    CHECK(frames.back()["status"] == "ok");
    CHECK(frames.back()["result"].is_null());

    frames = submit_and_collect(client, "c3", "AllocationRequired", {{"orderid", "o3"}, {"sku", "NOPE"}, {"qty", 1}});
    CHECK(frames.back()["status"] == "failed");
    CHECK(frames.back()["errors"][0]["message"] == "Invalid sku NOPE");
}

// Tokens at the gateway: who may upgrade and call routes, what a token lets its holder submit and
// subscribe to, the end of a session whose token expires, and the Origin check for browsers.
#include "server_process.hpp"
#include "support.hpp"
#include "tokens.hpp"

#include <catch2/catch.hpp>

#include <csignal>
#include <cstdlib>

using namespace server_test;
using namespace std::chrono_literals;
using gateway::protocol::refusal;

namespace {

gateway::server_options auth_options() {
    auto options = test_options();
    options.auth.tokens = gateway::token_verifier::with_secret(test_secret);
    return options;
}

header_fields bearer(const std::string& token) {
    return {{"Authorization", "Bearer " + token}};
}

ws_client connect_as(std::uint16_t port, const std::string& token) {
    return ws_client{port, upgrade_options{.target = "/ws", .fields = bearer(token)}};
}

cascade_server::app_domain load_book(cascade::bus& bus) {
    return cascade_server::load_allocation_domain(
        bus, {.store = cascade_server::store_choice::memory, .db_path = {}, .notifications_path = "/dev/null"});
}

}  // namespace

TEST_CASE("with tokens on, an upgrade without a valid one is answered 401 and one with it is welcomed by name",
          "[server][auth]") {
    fixture f{auth_options()};
    const auto port = f.port();

    const auto none = upgrade_request(port, "/ws", {});
    CHECK(none.status == 401);
    CHECK(none.www_authenticate == R"(Bearer realm="cascade")");
    CHECK(none.body_json()["code"] == "unauthorized");

    const auto forged = upgrade_request(port, "/ws", bearer(mint(claims_for("alice", 1h), "HS256", test_secret + "x")));
    CHECK(forged.status == 401);
    const auto expired = upgrade_request(port, "/ws", bearer(mint(claims_for("alice", -5s))));
    CHECK(expired.status == 401);
    CHECK_THAT(expired.body_json()["message"].get<std::string>(), Catch::Contains("expired"));
    CHECK(f.server.metrics().refusals(refusal::unauthorized) == 3);

    const auto claims = claims_for("alice", 1h);
    const auto by_header = connect_as(port, mint(claims));
    CHECK(by_header.welcome()["principal"] == "alice");
    CHECK(by_header.welcome()["expires_at"] == claims["exp"]);

    // Browsers cannot set headers on an upgrade: the token may come in the query instead.
    ws_client by_query{port, upgrade_options{.target = "/ws?token=" + mint(claims_for("bob", 1h)), .fields = {}}};
    CHECK(by_query.welcome()["principal"] == "bob");
}

TEST_CASE("without tokens on, nothing is asked and the welcome names nobody", "[server][auth]") {
    fixture f;
    ws_client client{f.port()};
    CHECK_FALSE(client.welcome().contains("principal"));
    CHECK_FALSE(client.welcome().contains("expires_at"));
    CHECK(http_request(f.port(), "GET", "/dead-letters").status == 200);
}

TEST_CASE("a submit outside the token's cascade.submit is forbidden, and one within it runs", "[server][auth]") {
    fixture f{auth_options()};
    auto client = connect_as(f.port(), mint(claims_for("alice", 1h, {"Touch"}, {"*"})));

    const auto allowed = submit_and_collect(client, "t1", "Touch", {{"key", "k"}, {"events", 1}});
    REQUIRE_FALSE(allowed.empty());
    CHECK(allowed.back()["type"] == "done");
    CHECK(allowed.back()["status"] == "ok");

    const auto refused = submit_and_collect(client, "r1", "Refuse", {{"key", "k"}, {"reason", "no"}});
    REQUIRE(refused.size() == 1);
    CHECK(refused[0]["type"] == "error");
    CHECK(refused[0]["code"] == "forbidden");
    CHECK_THAT(refused[0]["message"].get<std::string>(), Catch::Contains("cascade.submit"));

    // A token that grants no submit at all still connects (it may read), and submits nothing.
    auto reader = connect_as(f.port(), mint(claims_for("reader", 1h, {}, {"*"})));
    const auto nothing = submit_and_collect(reader, "t2", "Touch", {{"key", "k"}, {"events", 0}});
    REQUIRE(nothing.size() == 1);
    CHECK(nothing[0]["code"] == "forbidden");
}

TEST_CASE("a subscription is narrowed to the token's cascade.subscribe or refused, never widened", "[server][auth]") {
    fixture f{auth_options()};
    auto client = connect_as(f.port(), mint(claims_for("alice", 1h, {"*"}, {"Touched"})));

    client.send({{"type", "subscribe"}, {"id", "s1"}, {"names", {"Touched", "Broken"}}});
    const auto narrowed = client.read();
    CHECK(narrowed["type"] == "subscribed");
    CHECK(narrowed["names"] == json::array({"Touched"}));

    client.send({{"type", "subscribe"}, {"id", "s2"}});
    const auto every = client.read();
    CHECK(every["type"] == "subscribed");
    CHECK(every["names"] == json::array({"Touched"}));

    client.send({{"type", "subscribe"}, {"id", "s3"}, {"names", {"Broken"}}});
    const auto refused = client.read();
    CHECK(refused["type"] == "error");
    CHECK(refused["re"] == "s3");
    CHECK(refused["code"] == "forbidden");

    // Broken (raised by Stumble) is neither subscription's: only the Touched events arrive.
    auto submitter = connect_as(f.port(), mint(claims_for("bob", 1h)));
    REQUIRE(submit_and_collect(submitter, "x1", "Stumble", {{"key", "k"}}).back()["type"] == "done");
    REQUIRE(submit_and_collect(submitter, "x2", "Touch", {{"key", "k"}, {"events", 1}}).back()["type"] == "done");
    std::vector<std::string> seen;
    for (int i = 0; i < 2; ++i) {
        const auto frame = client.read();
        REQUIRE(frame["type"] == "event");
        seen.push_back(frame["sub"].get<std::string>() + ":" + frame["event"]["name"].get<std::string>());
    }
    std::sort(seen.begin(), seen.end());
    CHECK(seen == std::vector<std::string>{"s1:Touched", "s2:Touched"});
}

TEST_CASE("a session whose token expires gets a disconnect frame, then close 4001", "[server][auth]") {
    fixture f{auth_options()};
    auto client = connect_as(f.port(), mint(claims_for("alice", 2s)));
    std::vector<json> frames;
    const auto closed = client.read_until_closed(&frames);
    CHECK(closed.code == 4001);
    REQUIRE_FALSE(frames.empty());
    CHECK(frames.back()["type"] == "disconnect");
    CHECK(frames.back()["code"] == 4001);
    CHECK(frames.back()["reason"] == "token expired");
}

TEST_CASE("HTTP routes need a Bearer token, but /health and /metrics, and the claims hold there too",
          "[server][auth]") {
    fixture f{auth_options(), load_book};
    const auto port = f.port();
    CHECK(http_request(port, "GET", "/health").status == 200);
    CHECK(http_request(port, "GET", "/metrics").status == 200);

    const auto anonymous = http_request(port, "GET", "/dead-letters");
    CHECK(anonymous.status == 401);
    CHECK(anonymous.www_authenticate == R"(Bearer realm="cascade")");
    CHECK(anonymous.body_json()["code"] == "unauthorized");
    // The query is the WebSocket's way only: an HTTP client can send the header.
    CHECK(http_request(port, "GET", "/dead-letters?token=" + mint(claims_for("alice", 1h))).status == 401);

    const auto touch_only = bearer(mint(claims_for("alice", 1h, {"Touch"})));
    CHECK(http_request(port, "GET", "/dead-letters", {}, touch_only).status == 200);
    CHECK(http_request(port, "POST", "/messages", R"({"name":"Touch","data":{"key":"k","events":1}})", touch_only)
              .status == 200);
    const auto refused =
        http_request(port, "POST", "/messages", R"({"name":"Refuse","data":{"key":"k","reason":"x"}})", touch_only);
    CHECK(refused.status == 403);
    CHECK(refused.body_json()["code"] == "forbidden");
    // The book's routes submit through the same check.
    CHECK(http_request(port, "POST", "/add_batch", R"({"ref":"b1","sku":"LAMP","qty":10,"eta":null})", touch_only)
              .status == 403);
    const auto batches = bearer(mint(claims_for("ops", 1h, {"BatchCreated"})));
    CHECK(
        http_request(port, "POST", "/add_batch", R"({"ref":"b1","sku":"LAMP","qty":10,"eta":null})", batches).status ==
        201);
}

TEST_CASE("an upgrade from an Origin not allowed is answered 403, allowed and absent ones are let in",
          "[server][auth]") {
    auto options = test_options();
    options.auth.allowed_origins = {"https://app.example", "http://localhost:3000"};
    fixture f{options};
    const auto port = f.port();

    const auto foreign = upgrade_request(port, "/ws", {{"Origin", "https://evil.example"}});
    CHECK(foreign.status == 403);
    CHECK(foreign.body_json()["code"] == "forbidden");
    CHECK_THAT(foreign.body_json()["message"].get<std::string>(), Catch::Contains("evil.example"));

    ws_client listed{port, upgrade_options{.target = "/ws", .fields = {{"Origin", "https://APP.example"}}}};
    CHECK(listed.welcome()["type"] == "welcome");
    ws_client not_a_browser{port};
    CHECK(not_a_browser.welcome()["type"] == "welcome");
}

TEST_CASE("cascade-server takes --auth-jwt-secret and a token minted with Debian's jwt tool", "[server][auth]") {
    const temp_folder folder;
    const auto secret = folder.path() + "/jwt.secret";
    // README's commands, as a user runs them.
    REQUIRE(std::system(("openssl rand -out " + secret + " 32").c_str()) == 0);
    const auto token_file = folder.path() + "/token";
    const auto mint_command =
        "echo '{\"sub\":\"alice\",\"exp\":'$(($(date +%s) + 3600))',\"cascade.submit\":[\"*\"],"
        "\"cascade.subscribe\":[\"*\"]}' | jwt -key " +
        secret + " -alg HS256 -sign - > " + token_file;
    REQUIRE(std::system(mint_command.c_str()) == 0);
    auto token = read_text(token_file);
    while (!token.empty() && (token.back() == '\n' || token.back() == '\r')) {
        token.pop_back();
    }

    server_process server{folder.path(), {"--store", "memory", "--auth-jwt-secret", secret}};
    CHECK(upgrade_request(server.port(), "/ws", {}).status == 401);
    auto client = connect_as(server.port(), token);
    CHECK(client.welcome()["principal"] == "alice");
    const auto frames =
        submit_and_collect(client, "a1", "AllocationRequired", {{"orderid", "o1"}, {"sku", "NOPE"}, {"qty", 1}});
    REQUIRE_FALSE(frames.empty());
    CHECK(frames.back()["type"] == "done");
}

TEST_CASE("cascade-server refuses to start with a secret it cannot use", "[server][auth]") {
    const temp_folder folder;
    const auto secret = folder.path() + "/short.secret";
    write_text(secret, "too short");
    const auto status =
        std::system((std::string{CASCADE_SERVER_PATH} + " --listen 127.0.0.1:0 --store memory --auth-jwt-secret " +
                     secret + " > " + folder.path() + "/log 2>&1")
                        .c_str());
    CHECK(status != 0);
    CHECK_THAT(read_text(folder.path() + "/log"), Catch::Contains("--auth-jwt-secret") && Catch::Contains("32 bytes"));
}

TEST_CASE("the events of a client's cascades carry its principal, over WebSocket, HTTP and the live feed",
          "[server][auth]") {
    fixture f{auth_options()};
    auto watcher = connect_as(f.port(), mint(claims_for("watcher", 1h, {}, {"Touched"})));
    watcher.send({{"type", "subscribe"}, {"id", "s1"}});
    REQUIRE(watcher.read()["type"] == "subscribed");

    auto alice = connect_as(f.port(), mint(claims_for("alice", 1h)));
    const auto frames = submit_and_collect(alice, "t1", "Touch", {{"key", "k"}, {"events", 2}});
    REQUIRE(frames.size() == 4);  // ack, two events, done
    CHECK(frames[1]["event"]["principal"] == "alice");
    CHECK(frames[2]["event"]["principal"] == "alice");
    for (int i = 0; i < 2; ++i) {
        CHECK(watcher.read()["event"]["principal"] == "alice");
    }

    const auto posted = http_request(f.port(), "POST", "/messages", R"({"name":"Touch","data":{"key":"k","events":1}})",
                                     bearer(mint(claims_for("bob", 1h))));
    REQUIRE(posted.status == 200);
    CHECK(posted.body_json()["events"][0]["principal"] == "bob");
}

TEST_CASE("under tokens an id is an idempotency key of its principal only, also after a restart",
          "[server][process][durable][auth]") {
    const temp_folder work;
    const auto secret = work.path() + "/jwt.secret";
    write_text(secret, test_secret);
    const std::vector<std::string> args{"--store",           "sqlite", "--db", "orders.db", "--notifications", "n.log",
                                        "--auth-jwt-secret", secret};
    const auto alice = mint(claims_for("alice", 1h));
    const auto bob = mint(claims_for("bob", 1h));
    const json batch{{"ref", "b1"}, {"sku", "LAMP"}, {"qty", 10}, {"eta", nullptr}};
    const json order{{"orderid", "o1"}, {"sku", "LAMP"}, {"qty", 2}};
    std::string alices_id;
    {
        server_process server{work.path(), args};
        auto as_alice = connect_as(server.port(), alice);
        (void)submit_and_collect(as_alice, "batch-1", "BatchCreated", batch);
        const auto first = submit_and_collect(as_alice, "order-1", "AllocationRequired", order);
        REQUIRE(first.size() == 3);
        alices_id = first[0]["message_id"].get<std::string>();

        // Bob's "order-1" is his own submit: it runs, and is neither a replay of Alice's nor, with
        // another order, a duplicate_id.
        auto as_bob = connect_as(server.port(), bob);
        const auto bobs = submit_and_collect(as_bob, "order-1", "AllocationRequired",
                                             {{"orderid", "o2"}, {"sku", "LAMP"}, {"qty", 1}});
        REQUIRE(bobs.size() == 3);
        CHECK_FALSE(bobs[0].contains("replay"));
        CHECK(bobs[0]["message_id"] != alices_id);
        CHECK(bobs[1]["event"]["principal"] == "bob");

        const auto read_by_bob = http_request(server.port(), "GET", "/messages/order-1", {}, bearer(bob));
        REQUIRE(read_by_bob.status == 200);
        CHECK(read_by_bob.body_json()["message_id"] == bobs[0]["message_id"]);
        CHECK(http_request(server.port(), "GET", "/messages/batch-1", {}, bearer(bob)).status == 404);
        server.signal(SIGTERM);
        REQUIRE(server.wait_exit(generous).has_value());
    }
    server_process restarted{work.path(), args};
    auto as_alice = connect_as(restarted.port(), alice);
    const auto replayed = submit_and_collect(as_alice, "order-1", "AllocationRequired", order);
    REQUIRE(replayed.size() == 3);
    CHECK(replayed[0]["replay"] == true);
    CHECK(replayed[0]["message_id"] == alices_id);
    CHECK(replayed[1]["event"]["principal"] == "alice");
    const auto read_by_alice = http_request(restarted.port(), "GET", "/messages/order-1", {}, bearer(alice));
    REQUIRE(read_by_alice.status == 200);
    CHECK(read_by_alice.body_json()["message_id"] == alices_id);
}

TEST_CASE("dead letters are listed to whoever may subscribe to their message, and retried by whoever may submit it",
          "[server][auth][dead_letter]") {
    fixture f{auth_options()};
    const auto port = f.port();
    const auto stumbled = http_request(port, "POST", "/messages", R"({"name":"Stumble","data":{"key":"k"}})",
                                       bearer(mint(claims_for("alice", 1h, {"Stumble"}))));
    REQUIRE(stumbled.body_json()["status"] == "partial");  // Broken's handler gave up: one letter

    const auto blind = bearer(mint(claims_for("blind", 1h, {"*"}, {"Touched"})));
    CHECK(http_request(port, "GET", "/dead-letters", {}, blind).body_json() == json::array());
    const auto operator_token = bearer(mint(claims_for("ops", 1h, {"Touch"}, {"Broken"})));
    const auto letters = http_request(port, "GET", "/dead-letters", {}, operator_token).body_json();
    REQUIRE(letters.size() == 1);
    CHECK(letters[0]["message"]["principal"] == "alice");
    const auto retry = "/dead-letters/" + letters[0]["id"].get<std::string>() + "/retry";

    // ops may see Broken but not submit it: the retry is refused and the letter stays.
    const auto refused = http_request(port, "POST", retry, {}, operator_token);
    CHECK(refused.status == 403);
    CHECK(refused.body_json()["code"] == "forbidden");
    CHECK(http_request(port, "GET", "/dead-letters", {}, operator_token).body_json().size() == 1);

    const auto retried = http_request(port, "POST", retry, {}, bearer(mint(claims_for("admin", 1h, {"Broken"}))));
    CHECK(retried.status == 200);
    CHECK(retried.body_json()["status"] == "partial");  // the handler still fails
}

TEST_CASE("with tokens on, the console's files load without one, and what it reads still asks for one",
          "[server][auth][console]") {
    fixture f{auth_options(), load_book};
    CHECK(http_request(f.port(), "GET", "/").status == 200);
    CHECK(http_request(f.port(), "GET", "/console/js/connection.js").status == 200);
    CHECK(http_request(f.port(), "GET", "/catalog").status == 401);
    CHECK(http_request(f.port(), "GET", "/dead-letters").status == 401);
    CHECK(http_request(f.port(), "GET", "/console/nothing.js").status == 404);
    // Only a GET of them is open: anything else there still asks for a token.
    CHECK(http_request(f.port(), "POST", "/").status == 401);
    CHECK(http_request(f.port(), "POST", "/console/js/main.js").status == 401);
}

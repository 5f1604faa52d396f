// cascade-server on SQLite as a process: acks are durable and ids are idempotency keys. Killed with
// SIGKILL under load five times over one file and restarted each time: every acknowledged submit
// reaches its done (recorded, and served by GET /messages/{id} and by a resubmit of its id), a
// done the client saw is the one recorded, and no order is allocated twice.
#include "order_load.hpp"
#include "server_process.hpp"

#include <SQLiteCpp/SQLiteCpp.h>
#include <catch2/catch.hpp>

#include <algorithm>
#include <atomic>
#include <csignal>
#include <map>
#include <string>
#include <thread>

using namespace server_test;

namespace {

constexpr std::size_t skus = 8;

[[nodiscard]] std::vector<std::string> sqlite_server_args() {
    return {"--store", "sqlite", "--db", "orders.db", "--notifications", "notifications.log"};
}

/// The cascades the server's start-up log says it resumed.
[[nodiscard]] std::size_t resumed_in(const std::string& log) {
    // Not std::regex: GCC 12 under AddressSanitizer warns inside it (maybe-uninitialized).
    constexpr std::string_view prefix = "recovery: ";
    const auto at = log.find(prefix);
    return at == std::string::npos ? 0 : std::stoul(log.substr(at + prefix.size()));
}

/// GET /messages/{id} once it says done (a resumed cascade may still be running).
[[nodiscard]] json recorded_done(std::uint16_t port, const std::string& id) {
    json body;
    const bool done = eventually_true([&] {
        const auto reply = http_request(port, "GET", "/messages/" + id);
        if (reply.status != 200) {
            return false;
        }
        body = reply.body_json();
        return true;
    });
    if (!done) {
        throw std::runtime_error{"GET /messages/" + id + " never said done"};
    }
    return body;
}

[[nodiscard]] std::int64_t count(SQLite::Database& db, const char* sql) {
    return db.execAndGet(sql).getInt64();
}

}  // namespace

TEST_CASE("a durable server answers a known id with its recorded cascade, on any connection and after a restart",
          "[server][process][durable]") {
    temp_folder work;
    const json batch{{"ref", "b1"}, {"sku", "LAMP"}, {"qty", 10}, {"eta", nullptr}};
    const json order{{"orderid", "o1"}, {"sku", "LAMP"}, {"qty", 2}};
    std::string message_id;
    {
        server_process server{work.path(), sqlite_server_args()};
        ws_client first{server.port()};
        CHECK(first.welcome().at("durable") == true);
        (void)submit_and_collect(first, "batch-1", "BatchCreated", batch);
        const auto frames = submit_and_collect(first, "order-1", "AllocationRequired", order);
        REQUIRE(frames.size() == 3);  // ack, Allocated, done
        CHECK_FALSE(frames[0].contains("replay"));
        message_id = frames[0].at("message_id").get<std::string>();
        CHECK(frames.back().at("result") == "b1");

        // Another connection, the same id and message: nothing runs, the same frames come back.
        ws_client second{server.port()};
        const auto replayed = submit_and_collect(second, "order-1", "AllocationRequired", order);
        REQUIRE(replayed.size() == 3);
        CHECK(replayed[0].at("replay") == true);
        CHECK(replayed[0].at("message_id") == message_id);
        CHECK(replayed[1].at("event").at("name") == "Allocated");
        CHECK(replayed[2].at("result") == "b1");

        // The same id with another message is refused; nothing runs.
        const auto refused = submit_and_collect(second, "order-1", "AllocationRequired",
                                                {{"orderid", "o2"}, {"sku", "LAMP"}, {"qty", 1}});
        REQUIRE(refused.size() == 1);
        CHECK(refused[0].at("type") == "error");
        CHECK(refused[0].at("code") == "duplicate_id");
        CHECK(http_request(server.port(), "GET", "/allocations/o2").status == 404);

        const auto recorded = http_request(server.port(), "GET", "/messages/order-1");
        REQUIRE(recorded.status == 200);
        CHECK(recorded.body_json().at("state") == "done");
        CHECK(recorded.body_json().at("result") == "b1");
        CHECK(http_request(server.port(), "GET", "/messages/nobody").status == 404);
        server.signal(SIGTERM);
        REQUIRE(server.wait_exit(generous).has_value());
    }
    server_process restarted{work.path(), sqlite_server_args()};
    ws_client client{restarted.port()};
    const auto replayed = submit_and_collect(client, "order-1", "AllocationRequired", order);
    REQUIRE(replayed.size() == 3);
    CHECK(replayed[0].at("replay") == true);
    CHECK(replayed[0].at("message_id") == message_id);
    CHECK(replayed[2].at("result") == "b1");
    // Ids given after a restart never reuse one the journal holds.
    const auto fresh =
        submit_and_collect(client, "order-2", "AllocationRequired", {{"orderid", "o3"}, {"sku", "LAMP"}, {"qty", 1}});
    CHECK(std::stoull(fresh[0].at("message_id").get<std::string>()) > std::stoull(message_id));
    const auto lines = http_request(restarted.port(), "GET", "/allocations/o1");
    CHECK(lines.status == 200);
}

TEST_CASE("kill -9 and restart, five times: every acknowledged submit is done once, as recorded",
          "[server][process][durable][crash]") {
    constexpr std::size_t connections = 16;
    constexpr std::size_t window = 16;
    constexpr int kills = 5;
    temp_folder work;
    const auto db = work.path() + "/orders.db";
    std::map<std::string, json> acked;  // id -> the done the client saw (null: none)
    std::size_t resumed = 0;
    for (int kill = 0; kill < kills; ++kill) {
        INFO("kill " << kill);
        server_process server{work.path(), sqlite_server_args()};
        resumed += resumed_in(server.log());
        if (kill == 0) {
            create_batches(server.port(), skus);
        }
        const auto load = load_and_kill(
            server.port(), "k" + std::to_string(kill) + "-", connections, window, skus,
            [](std::size_t dones) { return dones >= 300; },  // mid-flight, windows full
            [&] { server.signal(SIGKILL); });
        CHECK(load.came_mid_flight);
        REQUIRE(server.wait_exit(generous).has_value());
        for (const auto& report : load.reports) {
            for (const auto& id : report.acked) {
                const auto done = report.done_frames.find(id);
                acked.emplace(id, done == report.done_frames.end() ? json{} : done->second);
            }
        }
    }
    server_process last{work.path(), sqlite_server_args()};
    resumed += resumed_in(last.log());
    CHECK(resumed > 0);  // the kills left acknowledged cascades unfinished, and restarts resumed them

    std::size_t seen_done = 0;
    std::size_t done_after_restart = 0;
    for (const auto& [id, done] : acked) {
        INFO("id " << id);
        const auto recorded = recorded_done(last.port(), id);
        CHECK(recorded.at("status") == "ok");
        CHECK(recorded.at("result").is_string());
        if (done.is_null()) {
            ++done_after_restart;
        } else {
            ++seen_done;
            CHECK(recorded.at("status") == done.at("status"));
            CHECK(recorded.at("result") == done.at("result"));
        }
    }
    CHECK(seen_done > 0);
    CHECK(done_after_restart > 0);

    // Resubmitting an id the client never saw done answers with its record: ack (replay), its
    // event, the recorded done. (load_orders sent order n of a connection to SKU-(n % skus).)
    const auto unseen =
        std::find_if(acked.begin(), acked.end(), [](const auto& entry) { return entry.second.is_null(); });
    REQUIRE(unseen != acked.end());
    const auto& id = unseen->first;
    const auto n = std::stoul(id.substr(id.rfind('-') + 1));
    ws_client client{last.port()};
    const auto replayed = submit_and_collect(client, id, "AllocationRequired",
                                             {{"orderid", id}, {"sku", "SKU-" + std::to_string(n % skus)}, {"qty", 1}});
    REQUIRE(replayed.size() == 3);
    CHECK(replayed[0].at("replay") == true);
    CHECK(replayed[1].at("event").at("name") == "Allocated");
    CHECK(replayed[2].at("result") == recorded_done(last.port(), id).at("result"));
    last.signal(SIGTERM);
    REQUIRE(last.wait_exit(generous).has_value());

    // Every allocation has one finished AllocationRequired behind it, and none has two.
    SQLite::Database file{db, SQLite::OPEN_READONLY};
    const auto allocations = count(file, "SELECT COUNT(*) FROM allocations");
    const auto allocated = count(file,
                                 "SELECT COUNT(*) FROM journal_submits WHERE name = 'AllocationRequired' "
                                 "AND json_extract(outcome, '$.result') IS NOT NULL");
    CHECK(allocations == allocated);
    CHECK(count(file, "SELECT COUNT(*) FROM journal_submits WHERE outcome IS NULL") == 0);
    CHECK(count(file,
                "SELECT COUNT(*) FROM batches b WHERE allocated_quantity != (SELECT COALESCE(SUM(qty), 0) "
                "FROM allocations a WHERE a.sku = b.sku AND a.batchref = b.reference)") == 0);
    const auto committed = committed_orders(db);
    for (const auto& [id, done] : acked) {
        (void)done;
        INFO("id " << id);
        CHECK(committed.contains(id));
    }
}

#pragma once
// Shared by the allocation tests: temporary database files, a recording notifier, store
// factories for the suite that runs against both stores, and a bus wired by bootstrap.

#include "eventually.hpp"

#include <allocation/bootstrap.hpp>
#include <allocation/memory_store.hpp>
#include <allocation/messages.hpp>
#include <allocation/sqlite_store.hpp>
#include <allocation/unit_of_work.hpp>
#include <cascade/bus.hpp>

#include <SQLiteCpp/SQLiteCpp.h>
#include <boost/asio/use_future.hpp>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <exception>
#include <filesystem>
#include <functional>
#include <memory>
#include <mutex>
#include <random>
#include <stdexcept>
#include <string>
#include <thread>
#include <unistd.h>
#include <utility>
#include <vector>

namespace alloc_test {

using test_support::eventually;
using test_support::generous;

/// Throws what failed, if anything did.
inline void rethrow_failure(const std::exception_ptr& failed) {
    if (failed) {
        std::rethrow_exception(failed);
    }
}

/// The single integer `sql` selects from the database file at `db`.
[[nodiscard]] inline std::int64_t count(const std::filesystem::path& db, const std::string& sql) {
    SQLite::Database file{db.string(), SQLite::OPEN_READONLY};
    return file.execAndGet(sql).getInt64();
}

/// A unique path in the temp directory; the file and SQLite's -wal/-shm companions go with it.
class temp_file {
public:
    explicit temp_file(std::string_view stem = "cascade-allocation") : path_{unique_path(stem)} {}
    ~temp_file() {
        std::error_code ignored;
        for (const char* suffix : {"", "-wal", "-shm"}) {
            std::filesystem::remove(path_.string() + suffix, ignored);
        }
    }
    temp_file(const temp_file&) = delete;
    temp_file& operator=(const temp_file&) = delete;
    [[nodiscard]] const std::filesystem::path& path() const noexcept { return path_; }

private:
    static std::filesystem::path unique_path(std::string_view stem) {
        static std::atomic<unsigned> counter{0};
        const auto salt = std::random_device{}();
        return std::filesystem::temp_directory_path() /
               (std::string{stem} + "-" + std::to_string(::getpid()) + "-" + std::to_string(counter++) + "-" +
                std::to_string(salt) + ".db");
    }
    std::filesystem::path path_;
};

/// The fake notifier of the book's tests: records, sends nothing.
class recording_notifications final : public allocation::notifications {
public:
    void send(std::string_view destination, std::string_view message) override {
        const std::scoped_lock lock{mutex_};
        sent_.emplace_back(destination, message);
    }
    [[nodiscard]] std::vector<std::pair<std::string, std::string>> sent() const {
        const std::scoped_lock lock{mutex_};
        return sent_;
    }

private:
    mutable std::mutex mutex_;
    std::vector<std::pair<std::string, std::string>> sent_;
};

/// Store factories: TEMPLATE_TEST_CASE runs one suite against each.
struct memory_factory {
    static constexpr allocation::store_kind kind = allocation::store_kind::memory;
    [[nodiscard]] std::shared_ptr<allocation::store> make() const {
        return std::make_shared<allocation::memory_store>();
    }
};

struct sqlite_factory {
    static constexpr allocation::store_kind kind = allocation::store_kind::sqlite;
    temp_file file;
    [[nodiscard]] std::shared_ptr<allocation::store> make() const {
        return std::make_shared<allocation::sqlite_store>(file.path());
    }
};

/// A bus with the allocation service on the store of `Factory`'s kind and a recording notifier.
template <class Factory>
struct service {
    explicit service(std::size_t threads = 2) : bus{cascade::bus_options{.threads = threads}} {}

    temp_file db;
    std::shared_ptr<recording_notifications> notifier = std::make_shared<recording_notifications>();
    cascade::bus bus;
    std::shared_ptr<allocation::application> app =
        allocation::bootstrap(bus, {.store = Factory::kind, .db_path = db.path(), .notifier = notifier});

    /// Submits and blocks this (test) thread until the cascade's outcome arrives.
    template <cascade::message M>
    [[nodiscard]] cascade::outcome run(M msg) {
        return bus.async_submit(cascade::any_message{std::move(msg)}, boost::asio::use_future).get();
    }
};

/// The typed events of an outcome, in collection order.
template <class E>
[[nodiscard]] std::vector<E> events_of(const cascade::outcome& result) {
    std::vector<E> found;
    for (const auto& env : result.events) {
        if (const E* typed = env.message.get_if<E>()) {
            found.push_back(*typed);
        }
    }
    return found;
}

/// The stored product, read through a fresh unit of work (which is then rolled back).
[[nodiscard]] inline std::optional<allocation::product> stored_product(allocation::store& storage,
                                                                       std::string_view sku) {
    allocation::unit_of_work uow{storage};
    const allocation::product* p = uow.products().get(sku);
    if (p == nullptr) {
        return std::nullopt;
    }
    // Every line read now: a stored product's lines are readable only while its unit is open.
    std::vector<allocation::batch> batches;
    for (const auto& b : p->batches()) {
        auto lines = b.allocations().lines();
        int quantity = 0;
        for (const auto& line : lines) {
            quantity += line.qty;
        }
        // The totals a store keeps beside the lines must agree with them.
        if (lines.size() != b.allocations().size() || quantity != b.allocated_quantity()) {
            throw std::logic_error{"batch " + b.reference() + ": the stored totals disagree with its lines"};
        }
        batches.emplace_back(b.reference(), b.sku(), b.purchased_quantity(), b.eta(), std::move(lines));
    }
    return allocation::product{p->sku(), std::move(batches), p->version_number()};
}

}  // namespace alloc_test

#include "allocation/sqlite_store.hpp"

#include "allocation/date.hpp"
#include "allocation/errors.hpp"
#include "sqlite_database.hpp"
#include "sqlite_journal.hpp"

#include <SQLiteCpp/SQLiteCpp.h>

#include <map>
#include <mutex>
#include <optional>
#include <sqlite3.h>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

namespace allocation {
namespace {

using detail::connection;
using detail::run;
using detail::statement_scope;

void bind_eta(SQLite::Statement& statement, int index, const std::optional<batch::date>& eta) {
    if (eta) {
        statement.bind(index, format_date(*eta));
    } else {
        statement.bind(index);  // NULL
    }
}

}  // namespace

namespace {

/// The connection of an open session, for the stored lines it loaded; null once it has ended.
struct session_link {
    connection* open = nullptr;
};

/// One batch's lines in the session's transaction, read one query at a time.
class sqlite_lines final : public stored_lines {
public:
    sqlite_lines(std::shared_ptr<const session_link> link, std::string sku, std::string batchref, std::size_t count)
        : link_{std::move(link)}, sku_{std::move(sku)}, batchref_{std::move(batchref)}, count_{count} {}

    [[nodiscard]] std::size_t size() const override { return count_; }

    [[nodiscard]] std::optional<std::pair<std::size_t, order_line>> find(std::string_view orderid) const override {
        const statement_scope scope{session().select_line_of_order};
        scope->bind(1, std::string{orderid});
        scope->bind(2, sku_);
        scope->bind(3, batchref_);
        if (!scope->executeStep()) {
            return std::nullopt;
        }
        return std::pair{static_cast<std::size_t>(scope->getColumn(0).getInt64()),
                         order_line{std::string{orderid}, sku_, scope->getColumn(1).getInt()}};
    }

    [[nodiscard]] std::vector<order_line> range(std::size_t first, std::size_t last) const override {
        const statement_scope scope{session().select_lines};
        scope->bind(1, sku_);
        scope->bind(2, batchref_);
        scope->bind(3, static_cast<std::int64_t>(first));
        scope->bind(4, static_cast<std::int64_t>(last));
        std::vector<order_line> lines;
        while (scope->executeStep()) {
            lines.push_back({scope->getColumn(0).getString(), sku_, scope->getColumn(1).getInt()});
        }
        return lines;
    }

private:
    [[nodiscard]] connection& session() const {
        if (link_->open == nullptr) {
            throw std::logic_error{"stored lines read after their unit of work ended"};
        }
        return *link_->open;
    }

    std::shared_ptr<const session_link> link_;
    std::string sku_;
    std::string batchref_;
    std::size_t count_;
};

/// One unit of work: a savepoint in the writing connection's open transaction (its batch),
/// holding the gate. A unit that records a journaled run leaves the batch open for the journal's
/// writer to commit with others; any other unit commits it at once.
class sqlite_session final : public store_session {
public:
    explicit sqlite_session(std::shared_ptr<sqlite_store::impl> owner)
        : owner_{std::move(owner)}, permit_{std::in_place, *owner_}, conn_{&permit_->connection()} {
        batch_ = owner_->join_batch(*conn_);
        run(conn_->savepoint);
        link_->open = conn_;
    }

    ~sqlite_session() override { rollback(); }
    sqlite_session(const sqlite_session&) = delete;
    sqlite_session& operator=(const sqlite_session&) = delete;

    std::optional<product> load(std::string_view sku) override {
        connection& c = open_connection();
        const std::string key{sku};
        auto version = load_version(c, key);
        if (!version) {
            return std::nullopt;
        }
        product loaded{key, load_batches(c, key, link_), *version};
        snapshots_.insert_or_assign(key, loaded);
        return loaded;
    }

    std::uint64_t commit(std::span<tracked_product* const> products, std::span<const view_change> view_changes,
                         const cascade::handler_run* run) override {
        connection& c = open_connection();
        std::vector<batch_change> changes;
        for (const tracked_product* tracked : products) {
            write_header(c, *tracked);
            add_changes(tracked->current, changes);
        }
        // Released lines first: a line moving between batches must leave before it arrives.
        for (const batch_change& change : changes) {
            write_batch_and_released_lines(c, change);
        }
        for (const batch_change& change : changes) {
            write_new_lines(c, change);
        }
        for (const view_change& change : view_changes) {
            write_view_change(c, change);
        }
        if (run != nullptr) {
            detail::record_run(c, *run);
        }
        (void)open_connection();  // still inside the batch it joined
        detail::run(c.release_savepoint);
        if (run != nullptr) {
            const auto batch = batch_;  // committed by the journal's writer, with other units
            finish();
            return batch;
        }
        detail::run(c.commit);  // this unit, and whatever joined the batch before it
        owner_->batches().end(true);
        finish();
        return 0;
    }

    void rollback() noexcept override {
        if (conn_ == nullptr) {
            return;
        }
        try {
            run(conn_->rollback_to_savepoint);
            run(conn_->release_savepoint);
            if (sqlite3_get_autocommit(conn_->db.getHandle()) != 0) {
                owner_->batches().end(false);  // SQLite rolled back the whole batch
            }
        } catch (...) {
            // The connection's state is unknown: the batch is lost, and the permit closes it.
            try {
                owner_->batches().end(false);
                run(conn_->rollback);
            } catch (...) {  // NOLINT(bugprone-empty-catch): closing the connection rolls back
            }
        }
        finish();
    }

private:
    [[nodiscard]] connection& open_connection() {
        if (conn_ == nullptr) {
            throw std::logic_error{"the SQLite session has ended"};
        }
        // After an error SQLite may roll back the whole transaction by itself: nothing of this
        // unit may then run on, each statement committing alone.
        if (sqlite3_get_autocommit(conn_->db.getHandle()) != 0 || owner_->batches().open() != batch_) {
            throw SQLite::Exception{"the unit of work's transaction was rolled back", SQLITE_ABORT};
        }
        return *conn_;
    }

    /// Lets the next writer in.
    void finish() noexcept {
        link_->open = nullptr;
        conn_ = nullptr;
        permit_.reset();
    }

    [[nodiscard]] static std::optional<std::int64_t> load_version(connection& c, const std::string& sku) {
        const statement_scope scope{c.select_product};
        scope->bind(1, sku);
        if (!scope->executeStep()) {
            return std::nullopt;
        }
        return scope->getColumn(0).getInt64();
    }

    [[nodiscard]] static std::vector<batch> load_batches(connection& c, const std::string& sku,
                                                         const std::shared_ptr<session_link>& link) {
        std::vector<batch> batches;
        const statement_scope scope{c.select_batches};
        scope->bind(1, sku);
        while (scope->executeStep()) {
            std::string reference = scope->getColumn(0).getString();
            const SQLite::Column eta = scope->getColumn(2);
            std::optional<batch::date> date = eta.isNull() ? std::nullopt : parse_date(eta.getString());
            const auto line_count = static_cast<std::size_t>(scope->getColumn(4).getInt64());
            allocation_list lines{std::make_shared<const sqlite_lines>(link, sku, reference, line_count)};
            batches.emplace_back(std::move(reference), sku, scope->getColumn(1).getInt(), date, std::move(lines),
                                 scope->getColumn(3).getInt());
        }
        return batches;
    }

    /// Inserts a new product, or checks and bumps the stored version (optimistic concurrency).
    static void write_header(connection& c, const tracked_product& tracked) {
        const product& p = tracked.current;
        const statement_scope scope{tracked.stored_version ? c.update_version : c.insert_product};
        scope->bind(1, p.sku());
        scope->bind(2, p.version_number());
        if (tracked.stored_version) {
            scope->bind(3, *tracked.stored_version);
        }
        if (scope->exec() == 0) {
            throw concurrency_error{p.sku()};  // changed, or added by someone else, since we looked
        }
    }

    /// One batch against its loaded state. Lines are appended and released from the back, so
    /// what changed is a tail: the lines from `kept` on are rewritten.
    struct batch_change {
        const std::string* sku;
        const batch* now;
        const batch* loaded;  ///< nullptr for a new batch
        std::size_t kept;     ///< lines [0, kept) are stored already
    };

    void add_changes(const product& p, std::vector<batch_change>& changes) const {
        const product* before = snapshot_of(p.sku());
        for (const batch& b : p.batches()) {
            const batch* loaded = before != nullptr ? before->find_batch(b.reference()) : nullptr;
            std::size_t kept = 0;
            if (loaded != nullptr) {
                kept = loaded->allocations().common_prefix(b.allocations());
            }
            changes.push_back({&p.sku(), &b, loaded, kept});
        }
    }

    static void write_batch_and_released_lines(connection& c, const batch_change& change) {
        const batch& b = *change.now;
        if (change.loaded == nullptr || change.loaded->purchased_quantity() != b.purchased_quantity() ||
            change.loaded->eta() != b.eta() || change.loaded->allocations().size() != b.allocations().size() ||
            change.loaded->allocated_quantity() != b.allocated_quantity()) {
            const statement_scope scope{change.loaded == nullptr ? c.insert_batch : c.update_batch};
            scope->bind(1, *change.sku);
            scope->bind(2, b.reference());
            scope->bind(3, b.purchased_quantity());
            bind_eta(*scope, 4, b.eta());
            scope->bind(5, b.allocated_quantity());
            scope->bind(6, static_cast<std::int64_t>(b.allocations().size()));
            scope->exec();
        }
        if (change.loaded != nullptr && change.kept < change.loaded->allocations().size()) {
            const statement_scope scope{c.delete_allocations_from};
            scope->bind(1, *change.sku);
            scope->bind(2, b.reference());
            scope->bind(3, static_cast<std::int64_t>(change.kept));
            scope->exec();
        }
    }

    static void write_new_lines(connection& c, const batch_change& change) {
        auto position = change.kept;
        for (const auto& line : change.now->allocations().lines(change.kept)) {
            const statement_scope scope{c.insert_allocation};
            scope->bind(1, *change.sku);
            scope->bind(2, change.now->reference());
            scope->bind(3, static_cast<std::int64_t>(position++));
            scope->bind(4, line.orderid);
            scope->bind(5, line.qty);
            scope->exec();
        }
    }

    static void write_view_change(connection& c, const view_change& change) {
        const statement_scope scope{change.batchref ? c.upsert_view : c.delete_view};
        scope->bind(1, change.orderid);
        scope->bind(2, change.sku);
        if (change.batchref) {
            scope->bind(3, *change.batchref);
        }
        scope->exec();
    }

    [[nodiscard]] const product* snapshot_of(std::string_view sku) const noexcept {
        const auto it = snapshots_.find(sku);
        return it == snapshots_.end() ? nullptr : &it->second;
    }

    std::shared_ptr<sqlite_store::impl> owner_;
    std::optional<sqlite_store::impl::write_permit> permit_;
    connection* conn_;  ///< the permit's; null once the session has ended
    std::uint64_t batch_ = 0;
    std::shared_ptr<session_link> link_ = std::make_shared<session_link>();
    std::map<std::string, product, std::less<>> snapshots_;  ///< as loaded, to write only the difference
};

}  // namespace

sqlite_store::sqlite_store(sqlite_options options)
    : impl_{std::make_shared<impl>(std::move(options))}, journal_{std::make_shared<detail::sqlite_journal>(impl_)} {}

sqlite_store::~sqlite_store() = default;

std::unique_ptr<store_session> sqlite_store::open_session() {
    return std::make_unique<sqlite_session>(impl_);
}

const std::shared_ptr<cascade::journal>& sqlite_store::journal() const noexcept {
    return journal_;
}

const allocations_view& sqlite_store::view() const noexcept {
    return impl_->view();
}

const std::filesystem::path& sqlite_store::path() const noexcept {
    return impl_->options().path;
}

sqlite_sync sqlite_store::sync() const {
    const auto conn = impl_->acquire();
    // 1 is NORMAL, 2 FULL (and 3 EXTRA, which this store never sets).
    return conn->db.execAndGet("PRAGMA synchronous").getInt() >= 2 ? sqlite_sync::full : sqlite_sync::normal;
}

}  // namespace allocation

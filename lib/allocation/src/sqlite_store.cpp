#include "allocation/sqlite_store.hpp"

#include "allocation/date.hpp"
#include "allocation/errors.hpp"
#include "sqlite_database.hpp"
#include "sqlite_journal.hpp"
#include "unit_writes.hpp"

#include <SQLiteCpp/SQLiteCpp.h>

#include <map>
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

/// One unit of work. Alone, it holds the write gate from its first read to its commit, in a
/// transaction of its own on the writing connection. Journaled, it reads a snapshot on a pooled
/// connection and never waits for the gate: its commit hands what it writes, with its handler's
/// run, to the journal's writer, which applies many units in one transaction. The bus waits for
/// that transaction before the run's events are routed, and the lane runs nothing else
/// meanwhile, so the next unit of its products reads what this one wrote.
class sqlite_session final : public store_session {
public:
    /// A unit alone, on the writing connection.
    explicit sqlite_session(std::shared_ptr<sqlite_store::impl> owner)
        : owner_{std::move(owner)}, permit_{std::in_place, *owner_}, conn_{&permit_->connection()} {
        run(conn_->begin);
        link_->open = conn_;
    }

    /// A journaled unit, reading on a pooled connection.
    sqlite_session(std::shared_ptr<sqlite_store::impl> owner, std::shared_ptr<detail::sqlite_journal> journal)
        : owner_{std::move(owner)}, journal_{std::move(journal)}, reader_{owner_->acquire()}, conn_{&**reader_} {
        run(conn_->begin_read);
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
        // Built here, while the lines this unit loaded can still be read.
        auto writes = writes_of(products, view_changes);
        if (run != nullptr) {
            writes.run = detail::row_of(*run);
        }
        if (journal_) {
            detail::run(c.commit);  // ends the read snapshot
            finish();
            return journal_->write_unit(std::move(writes));
        }
        detail::apply(c, writes);
        detail::run(c.commit);
        finish();
        return 0;
    }

    void rollback() noexcept override {
        if (conn_ == nullptr) {
            return;
        }
        try {
            if (!conn_->reusable()) {
                run(conn_->rollback);
            }
        } catch (...) {  // NOLINT(bugprone-empty-catch): the permit or the lease closes a connection left in it
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
        if (conn_->reusable()) {
            throw SQLite::Exception{"the unit of work's transaction was rolled back", SQLITE_ABORT};
        }
        return *conn_;
    }

    /// Lets the next writer in, or gives the reading connection back.
    void finish() noexcept {
        link_->open = nullptr;
        conn_ = nullptr;
        permit_.reset();
        reader_.reset();
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

    /// The rows that differ from what was loaded. Lines are appended and released from the
    /// back, so what changed in a batch is a tail: the lines from the common prefix on.
    [[nodiscard]] detail::unit_writes writes_of(std::span<tracked_product* const> products,
                                                std::span<const view_change> view_changes) const {
        detail::unit_writes writes;
        for (const tracked_product* tracked : products) {
            const product& p = tracked->current;
            writes.products.push_back({p.sku(), p.version_number(), tracked->stored_version});
            const product* before = snapshot_of(p.sku());
            for (const batch& b : p.batches()) {
                add_batch_writes(p.sku(), b, before != nullptr ? before->find_batch(b.reference()) : nullptr, writes);
            }
        }
        writes.views.assign(view_changes.begin(), view_changes.end());
        return writes;
    }

    [[nodiscard]] static detail::batch_state state_of(const batch& b) {
        return {.purchased_quantity = b.purchased_quantity(),
                .eta = b.eta() ? std::optional{format_date(*b.eta())} : std::nullopt,
                .allocated_quantity = b.allocated_quantity(),
                .line_count = static_cast<std::int64_t>(b.allocations().size())};
    }

    static void add_batch_writes(const std::string& sku, const batch& now, const batch* loaded,
                                 detail::unit_writes& writes) {
        const std::size_t kept = loaded != nullptr ? loaded->allocations().common_prefix(now.allocations()) : 0;
        if (loaded == nullptr || loaded->purchased_quantity() != now.purchased_quantity() ||
            loaded->eta() != now.eta() || loaded->allocations().size() != now.allocations().size() ||
            loaded->allocated_quantity() != now.allocated_quantity()) {
            writes.batches.push_back({.sku = sku,
                                      .reference = now.reference(),
                                      .now = state_of(now),
                                      .loaded = loaded != nullptr ? std::optional{state_of(*loaded)} : std::nullopt});
        }
        if (loaded != nullptr && kept < loaded->allocations().size()) {
            writes.released.push_back({sku, now.reference(), static_cast<std::int64_t>(kept)});
        }
        auto position = static_cast<std::int64_t>(kept);
        for (auto& line : now.allocations().lines(kept)) {
            writes.lines.push_back({sku, now.reference(), position++, std::move(line.orderid), line.qty});
        }
    }

    [[nodiscard]] const product* snapshot_of(std::string_view sku) const noexcept {
        const auto it = snapshots_.find(sku);
        return it == snapshots_.end() ? nullptr : &it->second;
    }

    std::shared_ptr<sqlite_store::impl> owner_;
    std::shared_ptr<detail::sqlite_journal> journal_;  ///< null for a unit alone
    std::optional<sqlite_store::impl::write_permit> permit_;
    std::optional<sqlite_store::impl::lease> reader_;
    connection* conn_;  ///< the permit's or the reader's; null once the session has ended
    std::shared_ptr<session_link> link_ = std::make_shared<session_link>();
    std::map<std::string, product, std::less<>> snapshots_;  ///< as loaded, to write only the difference
};

}  // namespace

sqlite_store::sqlite_store(sqlite_options options)
    : impl_{std::make_shared<impl>(std::move(options))}, journal_{std::make_shared<detail::sqlite_journal>(impl_)} {}

sqlite_store::~sqlite_store() = default;

std::unique_ptr<store_session> sqlite_store::open_session(unit_kind kind) {
    if (kind == unit_kind::journaled) {
        return std::make_unique<sqlite_session>(impl_, std::static_pointer_cast<detail::sqlite_journal>(journal_));
    }
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

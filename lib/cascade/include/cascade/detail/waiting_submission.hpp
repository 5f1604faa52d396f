#pragma once
// The asynchronous operations behind bus::async_submit, async_publish and async_wait_for_room.
// They keep the caller's handler in its own type, so that its completion can be posted to its
// associated executor (Asio 1.81 can only dispatch to a type-erased handler's executor).

#include "cascade/submission.hpp"

#include <boost/asio/any_completion_handler.hpp>
#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/associated_cancellation_slot.hpp>
#include <boost/asio/associated_executor.hpp>
#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/execution/outstanding_work.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/prefer.hpp>
#include <boost/system/error_code.hpp>
#include <boost/system/system_error.hpp>

#include <exception>
#include <functional>
#include <memory>
#include <optional>
#include <stdexcept>
#include <type_traits>

namespace cascade::detail {

class bus_core;

/// Called inline by whichever thread wakes it; its cancellation slot, while it waits, takes it
/// out (it is then called with operation_aborted). It must move to its own executor itself and
/// clear its slot there.
using room_waiter = boost::asio::any_completion_handler<void(boost::system::error_code)>;

// Defined in bus.cpp.
[[nodiscard]] submit_result try_submit_to(bus_core& core, const any_message& msg, cascade_observer observer);
void wait_for_room_on(bus_core& core, room_waiter waiter);
[[nodiscard]] std::weak_ptr<bus_core> weak_core(bus_core& core) noexcept;
[[nodiscard]] const boost::asio::any_io_executor& executor_of(const bus_core& core) noexcept;

/// Outstanding work on a handler's executor until reset(), as Asio's operations keep it, so that an
/// io_context::run() does not return while the operation is pending. None is needed on the bus's
/// own executor, which runs until the bus stops: skipping it saves two atomic operations on a
/// counter every thread of the pool shares.
template <class Handler>
class handler_work {
public:
    handler_work(const Handler& handler, const boost::asio::any_io_executor& bus_executor)
        : work_{track(handler, bus_executor)} {}

    /// Releases the work (a moved-from executor holds none).
    void reset() noexcept { [[maybe_unused]] const auto released = std::move(work_); }

private:
    using executor_type = decltype(boost::asio::get_associated_executor(std::declval<const Handler&>()));
    // Decayed: prefer() hands an executor without the property back as a reference.
    using work_type = std::decay_t<decltype(boost::asio::prefer(std::declval<executor_type>(),
                                                                boost::asio::execution::outstanding_work.tracked))>;

    [[nodiscard]] static work_type track(const Handler& handler, const boost::asio::any_io_executor& bus_executor) {
        auto ex = boost::asio::get_associated_executor(handler);
        if constexpr (std::is_same_v<executor_type, boost::asio::any_io_executor>) {
            if (ex == bus_executor) {
                return boost::asio::any_io_executor{};  // empty: no work to keep
            }
        }
        return boost::asio::prefer(std::move(ex), boost::asio::execution::outstanding_work.tracked);
    }

    work_type work_;
};

/// Whether an operation installed a handler in the caller's cancellation slot.
enum class slot_use : bool { untouched, installed };

/// Calls `handler` with `args` on its associated executor, never inline; first clears its
/// cancellation slot there if the operation installed something in it.
template <class Handler, class... Args>
void post_completion(Handler handler, slot_use slot, Args&&... args) {
    auto ex = boost::asio::get_associated_executor(handler);
    boost::asio::post(ex, [handler = std::move(handler), slot, ... args = std::forward<Args>(args)]() mutable {
        if (slot == slot_use::installed) {
            boost::asio::get_associated_cancellation_slot(handler).clear();
        }
        std::move(handler)(std::move(args)...);
    });
}

/// A room waiter that completes `handler` on its own executor, keeping work there meanwhile.
template <class Handler>
[[nodiscard]] room_waiter posting_waiter(Handler handler, const boost::asio::any_io_executor& bus_executor) {
    auto slot = boost::asio::get_associated_cancellation_slot(handler);
    handler_work<Handler> work{handler, bus_executor};
    return boost::asio::bind_cancellation_slot(
        slot, [handler = std::move(handler), work = std::move(work)](boost::system::error_code ec) mutable {
            post_completion(std::move(handler), slot_use::installed, ec);
            work.reset();
        });
}

/// One waiting submission: try; when refused for room, wait for room on the caller's executor
/// (cancellable through the caller's slot) and try again; complete once with the outcome (or the
/// id, for publish). Work is kept on the handler's executor until then, as Asio's operations do.
template <class Handler, class Result>
class waiting_submission : public std::enable_shared_from_this<waiting_submission<Handler, Result>> {
public:
    static constexpr bool tracks_outcome = std::is_same_v<Result, outcome>;

    waiting_submission(const bus_core& core, any_message msg, std::function<void(const envelope&)> on_event,
                       Handler handler)
        : msg_{std::move(msg)},
          on_event_{std::move(on_event)},
          handler_{std::move(handler)},
          work_{handler_, executor_of(core)} {}

    /// One try at `core`, which is alive during the call.
    void attempt(bus_core& core) {
        submit_result admitted;
        if constexpr (tracks_outcome) {
            auto self = this->shared_from_this();
            admitted = try_submit_to(core, msg_, {.on_event = on_event_, .on_done = [self](outcome&& done) {
                                                      self->finish(nullptr, std::move(done));
                                                  }});
        } else {
            admitted = try_submit_to(core, msg_, {});
        }
        switch (admitted.status) {
            case admission::accepted:
                if constexpr (!tracks_outcome) {
                    finish(nullptr, message_id{admitted.id});
                }
                return;  // a tracked one completes from on_done
            case admission::shutting_down:
                finish(std::make_exception_ptr(bus_closed{}), Result{});
                return;
            case admission::overloaded:
                wait_for_room(core);
                return;
            case admission::duplicate_key:  // only a keyed submission is refused so; this one has none
                finish(std::make_exception_ptr(std::logic_error{"duplicate key without a key"}), Result{});
                return;
        }
    }

private:
    void finish(std::exception_ptr thrown, Result&& result) {
        post_completion(std::move(handler_), slot_, std::move(thrown), std::move(result));
        work_.reset();  // after the completion is queued, so the executor never looks idle between
    }
    void wait_for_room(bus_core& core) {
        slot_ = slot_use::installed;
        // Woken on any thread: the next attempt runs on the caller's executor, where the caller's
        // cancellation slot may also be cleared. The core is held weakly meanwhile: a wake-up
        // queued on the bus's own executor must not keep the bus alive.
        auto slot = boost::asio::get_associated_cancellation_slot(handler_);
        wait_for_room_on(
            core, boost::asio::bind_cancellation_slot(slot, [self = this->shared_from_this(), weak = weak_core(core)](
                                                                boost::system::error_code ec) mutable {
                auto ex = boost::asio::get_associated_executor(self->handler_);
                boost::asio::post(ex, [self, weak = std::move(weak), ec] { self->resume(weak, ec); });
            }));
    }
    void resume(const std::weak_ptr<bus_core>& weak, boost::system::error_code ec) {
        boost::asio::get_associated_cancellation_slot(handler_).clear();
        const auto core = weak.lock();
        if (ec) {
            finish(std::make_exception_ptr(boost::system::system_error{ec}), Result{});
        } else if (!core) {
            finish(std::make_exception_ptr(bus_closed{}), Result{});
        } else {
            attempt(*core);
        }
    }

    any_message msg_;
    std::function<void(const envelope&)> on_event_;
    Handler handler_;
    handler_work<Handler> work_;
    slot_use slot_ = slot_use::untouched;  ///< whether waiting for room used the caller's slot
};

}  // namespace cascade::detail

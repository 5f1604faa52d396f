#include "cascade/bus.hpp"

#include "bus_core.hpp"

namespace cascade {

namespace detail {

submit_result try_submit_to(bus_core& core, const any_message& msg, cascade_observer observer) {
    return core.try_submit(msg, std::move(observer));
}

void wait_for_room_on(bus_core& core, room_waiter waiter) {
    core.async_wait_for_room(std::move(waiter));
}

std::weak_ptr<bus_core> weak_core(bus_core& core) noexcept {
    return core.weak_from_this();
}

const boost::asio::any_io_executor& executor_of(const bus_core& core) noexcept {
    return core.executor();
}

}  // namespace detail

bus::bus(bus_options options) : core_{std::make_shared<detail::bus_core>(std::move(options))} {
    core_->start();
}

bus::~bus() {
    core_->close();
}

void bus::declare(const message_type& type) {
    core_->handlers.declare(type);
}

const message_registry& bus::registry() const noexcept {
    return core_->handlers.registry();
}

std::vector<catalog_entry> bus::catalog() const {
    std::vector<catalog_entry> entries;
    const auto& table = core_->handlers;
    for (const auto name : table.registry().names()) {
        auto& entry = entries.emplace_back(catalog_entry{.type = table.registry().find(name)});
        if (const auto* set = table.find(*entry.type)) {
            if (set->command) {
                entry.handlers.push_back(set->command->name);
            }
            for (const auto& handler : set->events) {
                entry.handlers.push_back(handler.name);
            }
        }
    }
    return entries;
}

services& bus::dependencies() noexcept {
    return core_->dependencies;
}

void bus::add_command_handler(const message_type& type, std::string name, detail::command_invoker invoke) {
    core_->handlers.add_command_handler(type, std::move(name), std::move(invoke));
}

void bus::add_event_handler(const message_type& type, std::string name, detail::event_invoker invoke,
                            retry_policy policy) {
    core_->handlers.add_event_handler(type, std::move(name), std::move(invoke), policy);
}

submit_result bus::try_submit(any_message msg, cascade_observer observer) {
    return core_->try_submit(std::move(msg), std::move(observer));
}

submit_result bus::try_submit(any_message msg, cascade_observer observer, submit_options options) {
    return core_->try_submit(std::move(msg), std::move(observer), std::move(options));
}

void bus::use_journal(std::shared_ptr<journal> log) {
    core_->use_journal(std::move(log));
}

std::size_t bus::recover() {
    return core_->recover();
}

std::optional<keyed_submit> bus::find_submit(std::string_view key) const {
    if (!core_->journaled()) {
        return std::nullopt;
    }
    return core_->find_submit(key);
}

bool bus::journaled() const noexcept {
    return core_->journaled();
}

bool bus::durable() const noexcept {
    return core_->journaled() && core_->journal_log().durable();
}

bool bus::wait_idle(std::chrono::nanoseconds timeout) {
    return core_->wait_idle(timeout);
}

void bus::stop_accepting() noexcept {
    core_->stop_accepting();
}

bool bus::shutdown(std::chrono::nanoseconds deadline) {
    return core_->shutdown(deadline);
}

metrics_snapshot bus::metrics() const {
    return core_->metrics();
}

std::optional<submit_result> bus::retry_dead_letter(std::uint64_t letter, cascade_observer observer) {
    return core_->retry_dead_letter(letter, std::move(observer));
}

std::vector<dead_letter> bus::dead_letters() const {
    return core_->dead_letters();
}

std::size_t bus::active_lanes() const noexcept {
    return core_->active_lanes();
}

bool bus::accepting() const noexcept {
    return core_->accepting();
}

bus::executor_type bus::executor() const noexcept {
    return core_->executor();
}

}  // namespace cascade

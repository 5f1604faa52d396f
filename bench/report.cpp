#include "report.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <stdexcept>
#include <string>
#include <sys/resource.h>

namespace cascade::bench {

void latency_recorder::merge(const latency_recorder& other) {
    samples_.insert(samples_.end(), other.samples_.begin(), other.samples_.end());
    sorted_ = false;
}

std::chrono::nanoseconds latency_recorder::percentile(double q) {
    if (samples_.empty()) {
        return {};
    }
    if (!sorted_) {
        std::sort(samples_.begin(), samples_.end());
        sorted_ = true;
    }
    const auto rank = static_cast<std::size_t>(std::ceil(q * static_cast<double>(samples_.size())));
    return samples_[std::clamp<std::size_t>(rank, 1, samples_.size()) - 1];
}

double peak_rss_mib() noexcept {
    rusage usage{};
    getrusage(RUSAGE_SELF, &usage);
    return static_cast<double>(usage.ru_maxrss) / 1024.0;  // ru_maxrss is in KiB on Linux
}

double process_cpu_seconds() noexcept {
    rusage usage{};
    getrusage(RUSAGE_SELF, &usage);
    const auto seconds = [](const timeval& t) {
        return static_cast<double>(t.tv_sec) + static_cast<double>(t.tv_usec) / 1e6;
    };
    return seconds(usage.ru_utime) + seconds(usage.ru_stime);
}

std::string format_duration(std::chrono::nanoseconds d) {
    const auto ns = static_cast<double>(d.count());
    if (ns >= 1e9) {
        return std::to_string(ns / 1e9).substr(0, 5) + " s";
    }
    if (ns >= 1e6) {
        return std::to_string(ns / 1e6).substr(0, 5) + " ms";
    }
    if (ns >= 1e3) {
        return std::to_string(ns / 1e3).substr(0, 5) + " us";
    }
    return std::to_string(d.count()) + " ns";
}

std::string format_rate(double per_second) {
    if (per_second >= 1e6) {
        return std::to_string(per_second / 1e6).substr(0, 5) + " M/s";
    }
    if (per_second >= 1e3) {
        return std::to_string(per_second / 1e3).substr(0, 5) + " k/s";
    }
    return std::to_string(per_second).substr(0, 6) + " /s";
}

namespace {

/// Whole numbers (nanoseconds, counts) are written as integers, so the file reads as the table does.
[[nodiscard]] nlohmann::ordered_json json_number(double value) {
    if (std::isfinite(value) && value == std::trunc(value) && std::abs(value) < 9e15) {
        return static_cast<std::int64_t>(value);
    }
    return value;  // NaN and infinity become null
}

void print_row(std::string_view label, std::string_view value) {
    std::printf("  %-34.*s %.*s\n", static_cast<int>(label.size()), label.data(), static_cast<int>(value.size()),
                value.data());
}

}  // namespace

report::scope::~scope() {
    owner_.attributes_.pop_back();
}

report::scope report::with(nlohmann::ordered_json attributes) {
    if (!attributes.is_object() || attributes.contains("name") || attributes.contains("value") ||
        attributes.contains("unit")) {
        throw std::logic_error{"report attributes are an object without name, value or unit"};
    }
    attributes_.push_back(std::move(attributes));
    return scope{*this};
}

void report::row(std::string_view label, std::string_view text, const std::vector<figure>& shown) {
    print_row(label, text);
    for (const auto& f : shown) {
        record(f);
    }
}

void report::rate(std::string_view label, std::string name, double per_second, std::string_view suffix) {
    auto text = format_rate(per_second);
    if (!suffix.empty()) {
        text += ' ';
        text += suffix;
    }
    row(label, text, {{.name = std::move(name), .value = per_second, .unit = "1/s"}});
}

void report::duration(std::string_view label, std::string name, std::chrono::nanoseconds d) {
    row(label, format_duration(d), {{.name = std::move(name), .value = static_cast<double>(d.count()), .unit = "ns"}});
}

void report::mebibytes(std::string_view label, std::string name, double mib) {
    row(label, std::to_string(static_cast<int>(mib)) + " MiB",
        {{.name = std::move(name), .value = mib, .unit = "MiB"}});
}

void report::annotate(const std::string& key, nlohmann::ordered_json value) {
    annotations_[key] = std::move(value);
}

void report::record(const figure& f) {
    nlohmann::ordered_json entry = {{"name", f.name}, {"value", json_number(f.value)}, {"unit", f.unit}};
    for (const auto& layer : attributes_) {
        for (const auto& [key, value] : layer.items()) {
            entry[key] = value;
        }
    }
    figures_.push_back(std::move(entry));
}

}  // namespace cascade::bench

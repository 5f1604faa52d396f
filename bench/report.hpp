#pragma once
// What every scenario prints: rates, latency percentiles, peak memory.

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace cascade::bench {

/// Collects latency samples and reports percentiles.
class latency_recorder {
public:
    void reserve(std::size_t n) { samples_.reserve(n); }
    void add(std::chrono::nanoseconds sample) { samples_.push_back(sample); }
    void merge(const latency_recorder& other);
    [[nodiscard]] std::size_t size() const noexcept { return samples_.size(); }
    /// The q-quantile (0..1) of the samples; sorts them on first use after an add.
    [[nodiscard]] std::chrono::nanoseconds percentile(double q);

private:
    std::vector<std::chrono::nanoseconds> samples_;
    bool sorted_ = false;
};

/// Peak resident set size of this process so far, in MiB (getrusage).
[[nodiscard]] double peak_rss_mib() noexcept;

/// CPU time of every thread of this process so far (user and system), in seconds (getrusage).
[[nodiscard]] double process_cpu_seconds() noexcept;

/// "1.23 ms", "456 µs" — a duration in the unit that reads best.
[[nodiscard]] std::string format_duration(std::chrono::nanoseconds d);

/// "3.41 M/s" — a rate in the unit that reads best.
[[nodiscard]] std::string format_rate(double per_second);

/// Prints one aligned "  label  value" line.
void print_row(std::string_view label, std::string_view value);

}  // namespace cascade::bench

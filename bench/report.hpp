#pragma once
// What every scenario prints: rates, latency percentiles, peak memory. Every figure goes through
// one `report`, which prints it as a table row and records it for --json, so that the table and
// the file cannot disagree.

#include <nlohmann/json.hpp>

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

/// One measured figure as the JSON file records it.
struct figure {
    std::string name;  ///< stable snake_case, what scripts select on: "submits_per_second"
    double value = 0;
    std::string unit;  ///< "1/s", "ns", "MiB", "x" (a ratio), "cores", "count"
};

/// The figures of one invocation: each row is printed to stdout and recorded with the attributes
/// in force (series, store, swept parameter...), in the order printed.
class report {
public:
    /// Attributes added to every figure recorded while it lives; an inner scope adds to (and may
    /// override) the outer ones. Made by report::with.
    class scope {
    public:
        ~scope();
        scope(const scope&) = delete;
        scope& operator=(const scope&) = delete;

    private:
        friend class report;
        explicit scope(report& owner) : owner_{owner} {}
        report& owner_;
    };

    /// E.g. with({{"series", "baseline"}}): the figures recorded until the scope ends are the baseline's.
    [[nodiscard]] scope with(nlohmann::ordered_json attributes);

    /// Prints "  label  text" and records `shown`, the figures that `text` shows.
    void row(std::string_view label, std::string_view text, const std::vector<figure>& shown);
    /// A rate, printed as format_rate does, with `suffix` after it ("3.41 M/s commands").
    void rate(std::string_view label, std::string name, double per_second, std::string_view suffix = {});
    /// A duration, printed as format_duration does, recorded in nanoseconds.
    void duration(std::string_view label, std::string name, std::chrono::nanoseconds d);
    /// Peak memory, printed in whole MiB.
    void mebibytes(std::string_view label, std::string name, double mib);

    /// A fact about the whole invocation, written beside the figures (the sweep, say).
    void annotate(const std::string& key, nlohmann::ordered_json value);

    /// Every figure recorded so far, each an object of its name, value, unit and attributes.
    [[nodiscard]] const nlohmann::ordered_json& figures() const noexcept { return figures_; }
    [[nodiscard]] const nlohmann::ordered_json& annotations() const noexcept { return annotations_; }

private:
    void record(const figure& f);

    std::vector<nlohmann::ordered_json> attributes_;  ///< one object per live scope, outermost first
    nlohmann::ordered_json figures_ = nlohmann::ordered_json::array();
    nlohmann::ordered_json annotations_ = nlohmann::ordered_json::object();
};

}  // namespace cascade::bench

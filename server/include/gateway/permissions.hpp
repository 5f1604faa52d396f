#pragma once
// What a client may do: the message names it may submit and the event names it may subscribe to,
// as a token's claims grant them. Names are matched with shell patterns (fnmatch(3): `*`, `?`,
// `[...]`), so "Allocat*" or "*" grant families of names.

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace gateway {

/// A subscription's names as permissions leave them.
struct narrowed_names {
    enum class verdict : std::uint8_t {
        kept,      ///< the subscription may have every name it asked for
        narrowed,  ///< only `names` (a subset of what it asked for)
        refused,   ///< none of the names it asked for
    };
    verdict answer = verdict::kept;
    std::vector<std::string> names;  ///< when narrowed
};

class permissions {
public:
    /// Allows nothing.
    permissions() = default;
    /// Allows submitting names that match a pattern of `submit` and subscribing to names that
    /// match a pattern of `subscribe`.
    permissions(std::vector<std::string> submit, std::vector<std::string> subscribe) noexcept
        : submit_{std::move(submit)}, subscribe_{std::move(subscribe)} {}

    /// Allows everything: a server without authentication.
    [[nodiscard]] static permissions everything();

    [[nodiscard]] bool may_submit(std::string_view name) const;
    [[nodiscard]] bool may_subscribe(std::string_view name) const;

    /// A subscription to `asked` (empty: every name) narrowed to what these permissions allow;
    /// `known` lists the names there are, to spell out "every name" when not every name is
    /// allowed (a name raised later, unknown now, is then not among them). Never wider than asked.
    [[nodiscard]] narrowed_names narrow(const std::vector<std::string>& asked,
                                        const std::vector<std::string_view>& known) const;

    [[nodiscard]] const std::vector<std::string>& submit_patterns() const noexcept { return submit_; }
    [[nodiscard]] const std::vector<std::string>& subscribe_patterns() const noexcept { return subscribe_; }

private:
    std::vector<std::string> submit_;
    std::vector<std::string> subscribe_;
};

}  // namespace gateway

#pragma once
// The gateway scenario's runs, apart from its command line (gateway_cli.cpp).

#include "gateway_settings.hpp"
#include "gateway_sweep.hpp"

namespace cascade::bench {

class report;

/// Runs the scenario as configured and prints its figures; throws on a failed run.
[[nodiscard]] int run_gateway(gateway_settings s, report& out);

/// run_gateway once per value of the sweep, each figure recorded with the value it ran at.
[[nodiscard]] int run_gateway_sweep(const gateway_settings& s, const gateway_sweep& sweep, report& out);

}  // namespace cascade::bench

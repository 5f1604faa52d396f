#pragma once
// The gateway scenario's runs, apart from its command line (gateway_cli.cpp).

#include "gateway_settings.hpp"

namespace cascade::bench {

class report;

/// Runs the scenario as configured and prints its figures; throws on a failed run.
[[nodiscard]] int run_gateway(gateway_settings s, report& out);

}  // namespace cascade::bench

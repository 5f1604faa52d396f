// Built instead of allocation_domain.cpp when lib/allocation is absent.
#include "gateway/app_domain.hpp"

#include <stdexcept>

namespace gateway {

app_domain load_allocation_domain(cascade::bus& /*bus*/, const domain_options& /*options*/) {
    throw std::runtime_error{"this build of cascade-server has no allocation domain (lib/allocation)"};
}

}  // namespace gateway

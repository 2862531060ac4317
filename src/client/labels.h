// The label map shared by every noun of the client library (namespaces, containers, leases).
#pragma once

#include <map>
#include <string>

namespace berth::client {

// Ordered so that listings print labels in a stable order.
using Labels = std::map<std::string, std::string>;

}  // namespace berth::client

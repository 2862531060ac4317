// The OCI spec `ctr run IMAGE ID ARGS...` stores for a container (containerd 1.6's defaults:
// namespaces, mounts, capabilities, rlimits, the default device rules, masked and read-only
// paths; cgroupsPath /NS/ID), compact JSON as ctr marshals it. Shared by the scenarios that
// create containers, so both daemons store and run the same thing.
#pragma once

#include <string>
#include <vector>

namespace berth::bench {

std::string CtrSpec(const std::string& ns, const std::string& id,
                    const std::vector<std::string>& args, const std::vector<std::string>& env);

}  // namespace berth::bench

// containerd-shim-berth-v2: berth's shim, speaking containerd's shim v2 protocol (ttrpc), for
// berthd and for containerd (`ctr run --runtime io.containerd.berth.v2`). See docs/shim.md.
#include <cstdio>
#include <string>
#include <vector>

#include "base/version.h"
#include "shim/actions.h"
#include "shim/flags.h"

int main(int argc, char** argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  auto flags = berth::shim::ParseFlags(args);
  if (!flags.ok()) {
    std::fprintf(stderr,
                 "%s\nusage: %s -namespace NS -address SOCK -id ID [-bundle DIR] [-debug] "
                 "[start|delete]\n",
                 std::string(flags.status().message()).c_str(), argv[0]);
    return 2;
  }
  if (flags->version) {
    std::printf("%s:\n  Version:  %s\n  Revision: %s\n\n", argv[0], berth::kVersion,
                berth::kRevision);
    return 0;
  }
  if (flags->action == "start") return berth::shim::RunStart(*flags);
  if (flags->action == "delete") return berth::shim::RunDelete(*flags);
  if (!flags->action.empty()) {
    std::fprintf(stderr, "%s: unknown action \"%s\" (start, delete, or none to serve)\n", argv[0],
                 flags->action.c_str());
    return 2;
  }
  return berth::shim::RunServe(*flags);
}

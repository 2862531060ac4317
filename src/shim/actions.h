// The shim binary's three modes (main.cc picks one from the command line):
//
//   start   (run by the daemon, cwd = bundle): picks the socket, starts the serving shim as a
//           daemonized child on it, prints the address ("unix:///...") and exits. If a shim
//           already serves that socket (containers grouped into one shim), prints its address.
//   delete  (run by the daemon after the shim died): force-deletes the container with the
//           runtime, unmounts the rootfs, and prints a marshalled containerd.task.v2.
//           DeleteResponse (exit status 137).
//   serve   (no action; started by `start` with the listening socket as fd 3): the shim proper,
//           one thread and one event loop until Shutdown or SIGTERM.
//
// Each returns the process's exit code and reports errors on stderr.
//
// Thread-safety: each runs once, on the main thread.
#pragma once

#include "shim/flags.h"

namespace berth::shim {

int RunStart(const Flags& flags);
int RunDelete(const Flags& flags);
int RunServe(const Flags& flags);

}  // namespace berth::shim

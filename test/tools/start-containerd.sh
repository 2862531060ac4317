#!/usr/bin/env bash
# Starts a real containerd (the Debian package's /usr/bin/containerd) on paths isolated under DIR,
# so that tests and benchmarks can compare berth with containerd side by side without touching
# the host's /run/containerd or /var/lib/containerd.
#
# Usage: test/tools/start-containerd.sh DIR
#   DIR is created if missing. Afterwards it holds:
#     config.toml           the generated config (version 2, CRI disabled)
#     root/ state/ tmp/ opt/  containerd's root, state, temp and opt directories
#     containerd.sock       gRPC API          containerd.sock.ttrpc  ttrpc API
#     debug.sock            debug API         containerd.log         stdout+stderr of the daemon
#     containerd.pid        its PID (stop it with test/tools/stop-containerd.sh DIR)
#   Exits 0 once `ctr version` answers on the socket; non-zero (with the log tail) otherwise.
#
# Environment: CONTAINERD (binary, default containerd), CTR (default ctr),
#   CONTAINERD_LOG_LEVEL (default info), CONTAINERD_START_TIMEOUT (seconds, default 10).
#
# Note: containerd 1.6 still uses a few compiled-in paths under /run/containerd that the config
# cannot move (the ctr client's fifo dir, shim sockets in /run/containerd/s). Those are left alone.
set -euo pipefail

if [ $# -ne 1 ] || [ -z "$1" ]; then
  echo "usage: $0 DIR" >&2
  exit 2
fi

containerd_bin=${CONTAINERD:-containerd}
ctr_bin=${CTR:-ctr}
timeout_s=${CONTAINERD_START_TIMEOUT:-10}
level=${CONTAINERD_LOG_LEVEL:-info}

mkdir -p "$1"
dir=$(cd "$1" && pwd -P)
case "$dir" in
  / | /run/containerd* | /var/lib/containerd*)
    echo "start-containerd: refusing to use $dir" >&2
    exit 2
    ;;
esac

sock="$dir/containerd.sock"
# sun_path holds 107 characters plus the NUL; the ttrpc socket has the longest name.
if [ ${#sock} -gt $((107 - 6)) ]; then
  echo "start-containerd: $dir is too long for a unix socket path" >&2
  exit 2
fi

pid_file="$dir/containerd.pid"
if [ -f "$pid_file" ] && kill -0 "$(cat "$pid_file")" 2>/dev/null; then
  echo "start-containerd: already running in $dir (pid $(cat "$pid_file"))" >&2
  exit 1
fi

mkdir -p "$dir/root" "$dir/state" "$dir/tmp" "$dir/opt"
cat >"$dir/config.toml" <<TOML
version = 2
root = "$dir/root"
state = "$dir/state"
temp = "$dir/tmp"
plugin_dir = ""
disabled_plugins = ["io.containerd.grpc.v1.cri"]
oom_score = 0

[grpc]
  address = "$sock"

[ttrpc]
  address = "$sock.ttrpc"

[debug]
  address = "$dir/debug.sock"
  level = "$level"

[metrics]
  address = ""

[plugins]
  [plugins."io.containerd.internal.v1.opt"]
    path = "$dir/opt"
TOML

rm -f "$sock" "$sock.ttrpc" "$dir/debug.sock"
# setsid: its own session, so the daemon neither gets the caller's SIGHUP/SIGINT nor dies with
# the caller's process group. Not a group leader here, so setsid execs in place and $! is the
# daemon's own PID.
setsid "$containerd_bin" --config "$dir/config.toml" </dev/null >>"$dir/containerd.log" 2>&1 &
pid=$!
echo "$pid" >"$pid_file"

fail() {
  echo "start-containerd: $1; last lines of $dir/containerd.log:" >&2
  tail -n 30 "$dir/containerd.log" >&2 || true
  exit 1
}

deadline=$((SECONDS + timeout_s))
while :; do
  if ! kill -0 "$pid" 2>/dev/null; then
    rm -f "$pid_file"
    fail "containerd (pid $pid) exited during start-up"
  fi
  if [ -S "$sock" ] && "$ctr_bin" -a "$sock" version >/dev/null 2>&1; then
    break
  fi
  if [ $SECONDS -ge $deadline ]; then
    fail "containerd (pid $pid) did not answer on $sock within ${timeout_s}s (still running; stop it with stop-containerd.sh)"
  fi
  sleep 0.1
done
echo "containerd pid $pid listening on $sock"

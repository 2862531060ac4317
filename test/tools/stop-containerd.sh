#!/usr/bin/env bash
# Stops a containerd started by start-containerd.sh DIR and removes DIR.
#
# Usage: test/tools/stop-containerd.sh DIR
#   Signals only the PID in DIR/containerd.pid (TERM, then KILL after a few seconds), and only if
#   that PID is still a containerd; lazily unmounts everything mounted under DIR; removes DIR.
#   Safe to call twice, or on a DIR whose daemon never started.
#
# Shims of tasks left running are not containerd's own process and survive it; tests that start
# tasks must delete them before stopping the daemon. Their PIDs are printed as a warning.
set -uo pipefail

if [ $# -ne 1 ] || [ -z "$1" ]; then
  echo "usage: $0 DIR" >&2
  exit 2
fi
[ -d "$1" ] || exit 0
dir=$(cd "$1" && pwd -P)
case "$dir" in
  / | /run | /var | /var/lib | /run/containerd* | /var/lib/containerd*)
    echo "stop-containerd: refusing to remove $dir" >&2
    exit 2
    ;;
esac

pid_file="$dir/containerd.pid"
if [ -f "$pid_file" ]; then
  pid=$(cat "$pid_file")
  # A recycled PID must not be signalled: check that it is still a containerd using our config.
  if [[ "$pid" =~ ^[0-9]+$ ]] && [ -r "/proc/$pid/cmdline" ] &&
    tr '\0' ' ' <"/proc/$pid/cmdline" | grep -qF -- "$dir/config.toml"; then
    kill -TERM "$pid" 2>/dev/null || true
    for _ in $(seq 50); do
      kill -0 "$pid" 2>/dev/null || break
      sleep 0.1
    done
    if kill -0 "$pid" 2>/dev/null; then
      echo "stop-containerd: pid $pid ignored SIGTERM; sending SIGKILL" >&2
      kill -KILL "$pid" 2>/dev/null || true
      for _ in $(seq 20); do
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
      done
    fi
  fi
  rm -f "$pid_file"
fi

# Shims started by this daemon carry "-address DIR/containerd.sock" on their command line.
shims=""
for f in /proc/[0-9]*/cmdline; do
  args=()
  mapfile -d '' -t args <"$f" 2>/dev/null || continue
  case " ${args[*]-} " in
    *" $dir/containerd.sock "*) p=${f#/proc/}; shims+="${p%/cmdline} " ;;
  esac
done
if [ -n "$shims" ]; then
  echo "stop-containerd: warning: processes still refer to $dir/containerd.sock: $shims" >&2
fi

# Unmount deepest first. /proc/self/mountinfo escapes blanks as \040 etc.; printf %b decodes them.
mapfile -t mounts < <(awk '{print $5}' /proc/self/mountinfo |
  while read -r m; do printf '%b\n' "$m"; done |
  awk -v d="$dir" 'index($0, d "/") == 1 || $0 == d' |
  awk '{print length($0) " " $0}' | sort -rn | cut -d' ' -f2-)
for m in "${mounts[@]}"; do
  umount -l "$m" 2>/dev/null || echo "stop-containerd: cannot unmount $m" >&2
done

rm -rf --one-file-system "$dir"

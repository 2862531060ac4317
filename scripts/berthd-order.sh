#!/usr/bin/env bash
# Regenerates src/daemon/berthd.order: the functions berthd runs while it starts, idles and serves
# the `containers` bench scenario, for the linker to place together at the front of .text
# (lld --symbol-ordering-file). Code is paged in 64 KiB at a time (the kernel's fault-around), so
# without this the few functions start-up touches in each object make almost all of berthd's
# text resident; with it idle berthd maps only the hot front of its text.
#
# Usage: scripts/berthd-order.sh [BUILD_DIR [OUT]]   (needs valgrind, ctr, berthd + berth-bench built)
# Run it after changes that move a lot of start-up code around; a stale list only costs memory
# (unknown names are ignored), never correctness.
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build}
out=${2:-src/daemon/berthd.order}
berthd=$build/bin/berthd
bench=$build/bin/berth-bench
work=$(mktemp -d /tmp/berthd-order.XXXXXX)
vpid=""
cleanup() {
  if [ -n "$vpid" ] && kill -0 "$vpid" 2>/dev/null; then kill -KILL "$vpid" 2>/dev/null || true; fi
  rm -rf "$work"
}
trap cleanup EXIT

valgrind --tool=callgrind --demangle=no --callgrind-out-file="$work/cg" \
  "$berthd" --root "$work/root" --state "$work/state" --address "$work/s.sock" --log-level warn \
  </dev/null >"$work/log" 2>&1 &
vpid=$!
for _ in $(seq 600); do
  [ -S "$work/s.sock" ] && ctr -a "$work/s.sock" version >/dev/null 2>&1 && break
  kill -0 "$vpid" 2>/dev/null || { cat "$work/log" >&2; exit 1; }
  sleep 0.2
done
sleep 3
callgrind_control -d idle "$vpid" >/dev/null   # part 1: start-up and idle
callgrind_control -z "$vpid" >/dev/null
"$bench" --address "$work/s.sock" containers --count 30 --clients 4 --warmup 2 >/dev/null
callgrind_control -d bench "$vpid" >/dev/null  # part 2: serving
kill -TERM "$vpid"
wait "$vpid" || true                           # part 3 (the final dump): shutdown
vpid=""

# Every function of berthd's own object with a cost, in part order, each name once.
exe=$(readlink -f "$berthd")
for part in "$work"/cg.1 "$work"/cg.2 "$work"/cg; do
  awk -v exe="$exe" '
    function id(line) { sub(/^[a-z]+=/, "", line); sub(/\).*/, ")", line); return line }
    function nm(line) { sub(/^[a-z]+=\([0-9]+\) ?/, "", line); return line }
    /^c?ob=/ { i = id($0); n = nm($0); if (n != "") obname[i] = n; if ($0 ~ /^ob=/) cur = obname[i] }
    /^c?fn=/ { i = id($0); n = nm($0); if (n != "") fname[i] = n
               if ($0 ~ /^fn=/ && cur == exe && fname[i] !~ /^0x/) print fname[i] }
  ' "$part"
done | sed "s/'[0-9]*$//" | awk '!seen[$0]++' >"$out.tmp"
mv "$out.tmp" "$out"
echo "berthd-order: $(wc -l <"$out") functions -> $out"

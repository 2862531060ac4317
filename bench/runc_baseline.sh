#!/usr/bin/env bash
# The floor for the `run` scenario: bare `runc run` of /bin/true, no daemon and no shim. One
# bundle is made from the busybox test image (its layers untarred into rootfs/, config.json from
# `runc spec` made close to what ctr generates: no terminal, args /bin/true, writable root, no
# /sys/fs/cgroup mount), then every container is `runc --root R run --bundle B ID`, which creates,
# starts, waits for and deletes the container, as one iteration of the scenario does.
#
# Usage: bench/runc_baseline.sh [--count 100] [--clients 10] [--warmup 5] [--archive TAR] [--json]
#   --archive  a docker-archive of the image (default: scripts/make-test-images.sh's
#              busybox-docker.tar, built into the temporary directory)
#   --clients  the parallel mode runs this many loops at once, --count containers in all
#   --json     one JSON object: {"modes":[{"mode","clients","count","wall_s","ms_per_container",
#              "p50_ms","p99_ms","max_ms"}]}
# Modes: "seq" (one after the other) and "clients<N>" (N loops in parallel), then "seq-split":
# `runc create --pid-file F` + `runc start` + (spin until /proc/PID is a zombie or gone) +
# `runc delete`, the three runc invocations a shim makes per container: the floor of the shim
# path (the exit status is not checked there: the process is PID 1's child, not ours).
# ms_per_container = wall / count (the inverse of throughput); p50/p99/max are per `runc run`.
# Timing uses bash's $EPOCHREALTIME around each runc (no fork for the clock).
# Needs: runc, jq, tar, awk. Runs as root; state in a temporary --root, cleaned up on exit.
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)
count=100
clients=10
warmup=5
archive=""
json=0
while [ $# -gt 0 ]; do
  case "$1" in
    --count) count=$2; shift 2 ;;
    --clients) clients=$2; shift 2 ;;
    --warmup) warmup=$2; shift 2 ;;
    --archive) archive=$2; shift 2 ;;
    --json) json=1; shift ;;
    *) sed -n '2,21p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//' >&2; exit 2 ;;
  esac
done
[[ "$count" =~ ^[1-9][0-9]*$ && "$clients" =~ ^[1-9][0-9]*$ && "$warmup" =~ ^[0-9]+$ ]] ||
  { echo "runc_baseline: --count/--clients must be positive, --warmup >= 0" >&2; exit 2; }
for tool in runc jq tar awk; do
  command -v "$tool" >/dev/null || { echo "runc_baseline: $tool not found" >&2; exit 1; }
done

work=$(mktemp -d /tmp/berth-runc-baseline.XXXXXX)
state="$work/state"
cleanup() {
  local rc=$?
  trap - EXIT INT TERM
  # Containers left by an interrupted run: runc deletes (and kills) them, cgroups included.
  if [ -d "$state" ]; then
    for id in $(runc --root "$state" list -q 2>/dev/null); do
      runc --root "$state" delete -f "$id" >/dev/null 2>&1 || true
    done
  fi
  rm -rf --one-file-system "$work"
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

if [ -z "$archive" ]; then
  "$repo/scripts/make-test-images.sh" "$work/images" >/dev/null
  archive="$work/images/busybox-docker.tar"
fi
bundle="$work/bundle"
mkdir -p "$bundle/rootfs" "$state" "$work/x"
tar -C "$work/x" -xf "$archive" manifest.json
for layer in $(jq -r '.[0].Layers[]' "$work/x/manifest.json"); do
  tar -C "$work/x" -xf "$archive" "$layer"
  tar -C "$bundle/rootfs" -xf "$work/x/$layer"
done
runc spec --bundle "$bundle"
jq '.process.terminal = false | .process.args = ["/bin/true"] | .root.readonly = false
    | .mounts |= map(select(.destination != "/sys/fs/cgroup"))' \
  "$bundle/config.json" >"$bundle/config.json.new"
mv "$bundle/config.json.new" "$bundle/config.json"

# loop PREFIX FIRST N OUT: runs N containers PREFIX-FIRST.. one after the other, appending each
# one's milliseconds to OUT; fails on the first non-zero exit.
loop() {
  local prefix=$1 first=$2 n=$3 out=$4 i t0 t1
  for ((i = first; i < first + n; i++)); do
    t0=$EPOCHREALTIME
    if ! runc --root "$state" run --bundle "$bundle" "$prefix-$i" </dev/null >/dev/null 2>"$work/err.$prefix"; then
      echo "runc_baseline: runc run $prefix-$i failed:" >&2
      cat "$work/err.$prefix" >&2
      return 1
    fi
    t1=$EPOCHREALTIME
    echo "${t0/./} ${t1/./}" >>"$out"
  done
}

# loop_split PREFIX N OUT: like loop, with create + start + wait + delete instead of run.
loop_split() {
  local prefix=$1 n=$2 out=$3 i t0 t1 pid st
  for ((i = 0; i < n; i++)); do
    t0=$EPOCHREALTIME
    if ! { runc --root "$state" create --bundle "$bundle" --pid-file "$work/pid" "$prefix-$i" \
        </dev/null >/dev/null &&
      { pid=""; read -r pid <"$work/pid" || [ -n "$pid" ]; } &&
      runc --root "$state" start "$prefix-$i" &&
      while read -r _ _ st _ <"/proc/$pid/stat" && [ "$st" != Z ]; do :; done 2>/dev/null &&
      runc --root "$state" delete "$prefix-$i"; } 2>"$work/err.$prefix"; then
      echo "runc_baseline: runc create/start/delete $prefix-$i failed:" >&2
      cat "$work/err.$prefix" >&2
      return 1
    fi
    t1=$EPOCHREALTIME
    echo "${t0/./} ${t1/./}" >>"$out"
  done
}

# summarize MODE CLIENTS WALL_US FILE: one JSON object (figures in ms).
summarize() {
  awk '{print ($2 - $1) / 1000}' "$4" | sort -g | awk -v mode="$1" -v clients="$2" \
    -v wall_us="$3" '
    { a[NR] = $1 }
    END {
      p50 = a[int((NR * 50 + 99) / 100)]; p99 = a[int((NR * 99 + 99) / 100)]
      printf "{\"mode\":\"%s\",\"clients\":%d,\"count\":%d,\"wall_s\":%.3f,", mode, clients, NR, wall_us / 1e6
      printf "\"ms_per_container\":%.2f,\"p50_ms\":%.2f,\"p99_ms\":%.2f,\"max_ms\":%.2f}\n",
        wall_us / 1000 / NR, p50, p99, a[NR]
    }'
}

[ "$warmup" -gt 0 ] && loop w 0 "$warmup" "$work/warmup.txt"

# seq
t0=$EPOCHREALTIME
loop s 0 "$count" "$work/seq.txt"
t1=$EPOCHREALTIME
seq_json=$(summarize seq 1 $((${t1/./} - ${t0/./})) "$work/seq.txt")

# clients<N>: N loops at once, --count in all (the first count % N loops do one more)
pids=()
begin=0
t0=$EPOCHREALTIME
for ((c = 0; c < clients; c++)); do
  n=$((count / clients + (c < count % clients ? 1 : 0)))
  [ "$n" -gt 0 ] || continue
  loop "c$c" "$begin" "$n" "$work/par.$c.txt" &
  pids+=($!)
  begin=$((begin + n))
done
failed=0
for p in "${pids[@]}"; do wait "$p" || failed=1; done
t1=$EPOCHREALTIME
[ "$failed" -eq 0 ] || exit 1
cat "$work"/par.*.txt >"$work/par.txt"
par_json=$(summarize "clients$clients" "$clients" $((${t1/./} - ${t0/./})) "$work/par.txt")

# seq-split
t0=$EPOCHREALTIME
loop_split x "$count" "$work/split.txt"
t1=$EPOCHREALTIME
split_json=$(summarize seq-split 1 $((${t1/./} - ${t0/./})) "$work/split.txt")

if [ "$json" -eq 1 ]; then
  jq -n --argjson a "$seq_json" --argjson b "$par_json" --argjson c "$split_json" \
    '{runc: "'"$(runc --version | head -1)"'", modes: [$a, $b, $c]}'
else
  echo "bare runc run of /bin/true ($(runc --version | head -1)), count $count"
  printf '%-10s %7s %8s %16s %8s %8s %8s\n' mode clients wall_s ms/container p50_ms p99_ms max_ms
  for j in "$seq_json" "$par_json" "$split_json"; do
    jq -r '[.mode, .clients, .wall_s, .ms_per_container, .p50_ms, .p99_ms, .max_ms] | @tsv' \
      <<<"$j" | while IFS=$'\t' read -r m c w ms p50 p99 mx; do
        printf '%-10s %7s %8s %16s %8s %8s %8s\n' "$m" "$c" "$w" "$ms" "$p50" "$p99" "$mx"
      done
  done
fi

#!/usr/bin/env bash
# Runs one berth-bench scenario against berthd and against a real containerd in the same run and
# prints both figures, their ratio, and each daemon's memory when idle (after start-up and a
# settle, before any load) and after the load.
#
# Usage: bench/compare.sh [--build-dir build] [--scenario containers] [--count 1000]
#                         [--clients 10] [--warmup 10] [--rounds 3] [--settle 2]
#                         [--only berthd|containerd] [--berthd-sync normal|full] [--out DIR]
#                         [--no-runc-baseline]
#   --rounds  runs per daemon, alternating daemons (B C, C B, ...); the median round is shown
#   --only    measure one daemon (the other's columns print "-")
#   --out     keep every berth-bench JSON and both daemon logs in DIR
#   --berthd-sync  berthd's metadata.sync (via a generated --config); "full" fsyncs each commit
#             as containerd's bbolt does. Default: berthd's own default.
# Scenario "run" (containers on runc): the busybox test image is built and imported into each
#   daemon first (not measured); --count defaults to 100; afterwards bench/runc_baseline.sh times
#   bare `runc run` of the same /bin/true (skip with --no-runc-baseline), and a table of ms per
#   container compares the three.
# Needs: berth-bench and berthd in BUILD/bin, containerd and ctr (Debian package), jq, bc.
# Ratio = berthd / containerd: for ops/s > 1 means berthd is faster; for memory < 1 means smaller.
#
# Both daemons run at the same time on temporary roots under /tmp (the same filesystem), each
# idle while the other is measured. Rounds alternate so that drift in the machine's load (other
# builds, page cache, disk flushes) does not all land on one daemon.
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)
build_dir=build
scenario=containers
count=""
clients=10
warmup=10
rounds=3
settle=2
only=""
out_dir=""
berthd_sync=""
runc_baseline=1

usage() { sed -n '2,20p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//' >&2; exit 2; }
while [ $# -gt 0 ]; do
  case "$1" in
    --build-dir) build_dir=$2; shift 2 ;;
    --scenario) scenario=$2; shift 2 ;;
    --count) count=$2; shift 2 ;;
    --clients) clients=$2; shift 2 ;;
    --warmup) warmup=$2; shift 2 ;;
    --rounds) rounds=$2; shift 2 ;;
    --settle) settle=$2; shift 2 ;;
    --only) only=$2; shift 2 ;;
    --out) out_dir=$2; shift 2 ;;
    --berthd-sync) berthd_sync=$2; shift 2 ;;
    --no-runc-baseline) runc_baseline=0; shift ;;
    -h | --help) usage ;;
    *) echo "compare: unknown argument $1" >&2; usage ;;
  esac
done
case "$only" in "" | berthd | containerd) ;; *) echo "compare: --only berthd|containerd" >&2; exit 2 ;; esac
case "$berthd_sync" in "" | normal | full) ;; *) echo "compare: --berthd-sync normal|full" >&2; exit 2 ;; esac
[[ "$rounds" =~ ^[1-9][0-9]*$ ]] || { echo "compare: --rounds must be a positive number" >&2; exit 2; }
case "$build_dir" in /*) ;; *) build_dir="$repo/$build_dir" ;; esac
if [ -z "$count" ]; then
  if [ "$scenario" = run ]; then count=100; else count=1000; fi
fi

bench="$build_dir/bin/berth-bench"
berthd="$build_dir/bin/berthd"
need() { command -v "$1" >/dev/null || { echo "compare: $1 not found ($2)" >&2; exit 1; }; }
need jq "apt-get install jq"
need bc "apt-get install bc"
need ctr "apt-get install containerd"
[ -x "$bench" ] || { echo "compare: $bench not built (ninja -C $build_dir berth-bench)" >&2; exit 1; }
daemons=()
[ "$only" != containerd ] && daemons+=(berthd)
[ "$only" != berthd ] && daemons+=(containerd)
if [ "$only" != containerd ] && [ ! -x "$berthd" ]; then
  echo "compare: $berthd not built (ninja -C $build_dir berthd); or use --only containerd" >&2
  exit 1
fi
"$bench" --list | cut -f1 | grep -qx -- "$scenario" ||
  { echo "compare: unknown scenario $scenario (berth-bench --list)" >&2; exit 2; }

# Short path: unix socket names must fit in 107 bytes.
work=$(mktemp -d /tmp/berth-compare.XXXXXX)
berthd_pid=""
declare -A pid sock log

# Signals only our own berthd, by its PID, then unmounts whatever it left under its directory.
stop_berthd() {
  if [ -n "$berthd_pid" ] && kill -0 "$berthd_pid" 2>/dev/null; then
    kill -TERM "$berthd_pid" 2>/dev/null || true
    for _ in $(seq 50); do kill -0 "$berthd_pid" 2>/dev/null || break; sleep 0.1; done
    if kill -0 "$berthd_pid" 2>/dev/null; then
      echo "compare: berthd (pid $berthd_pid) ignored SIGTERM; sending SIGKILL" >&2
      kill -KILL "$berthd_pid" 2>/dev/null || true
    fi
    wait "$berthd_pid" 2>/dev/null || true
  fi
  berthd_pid=""
  awk '{print $5}' /proc/self/mountinfo | while read -r m; do printf '%b\n' "$m"; done |
    awk -v d="$work/berthd/" 'index($0, d) == 1' | sort -r |
    while read -r m; do umount -l "$m" || true; done
}

stop_all() {
  stop_berthd
  if [ -d "$work/containerd" ]; then
    cp -f "$work/containerd/containerd.log" "$work/containerd.log" 2>/dev/null || true
    "$repo/test/tools/stop-containerd.sh" "$work/containerd" || true
  fi
}

cleanup() {
  local rc=$?
  trap - EXIT INT TERM
  stop_all
  if [ -n "$out_dir" ]; then
    mkdir -p "$out_dir"
    cp -f "$work"/*.json "$work/berthd/berthd.log" "$work/containerd.log" "$out_dir"/ 2>/dev/null || true
  fi
  rm -rf --one-file-system "$work"
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

log_tail() { echo "--- last lines of $1:" >&2; tail -n 30 "$1" >&2 || true; }

start_berthd() {
  local dir="$work/berthd"
  mkdir -p "$dir/root" "$dir/state"
  sock[berthd]="$dir/berthd.sock"
  log[berthd]="$dir/berthd.log"
  local args=(--root "$dir/root" --state "$dir/state" --address "${sock[berthd]}" --log-level warn)
  if [ -n "$berthd_sync" ]; then
    printf '[metadata]\n  sync = "%s"\n' "$berthd_sync" >"$dir/config.toml"
    args=(--config "$dir/config.toml" "${args[@]}")
  fi
  setsid "$berthd" "${args[@]}" </dev/null >"${log[berthd]}" 2>&1 &
  berthd_pid=$!
  pid[berthd]=$berthd_pid
  local deadline=$((SECONDS + 10))
  until [ -S "${sock[berthd]}" ] && ctr -a "${sock[berthd]}" version >/dev/null 2>&1; do
    if ! kill -0 "$berthd_pid" 2>/dev/null; then
      echo "compare: berthd exited during start-up" >&2; log_tail "${log[berthd]}"; exit 1
    fi
    if [ $SECONDS -ge $deadline ]; then
      echo "compare: berthd did not answer on ${sock[berthd]} within 10s" >&2
      log_tail "${log[berthd]}"; exit 1
    fi
    sleep 0.1
  done
}

start_containerd() {
  local dir="$work/containerd"
  CONTAINERD_LOG_LEVEL=warn "$repo/test/tools/start-containerd.sh" "$dir" >/dev/null
  sock[containerd]="$dir/containerd.sock"
  log[containerd]="$dir/containerd.log"
  pid[containerd]=$(cat "$dir/containerd.pid")
}

# Scenario "run" needs berth.test/busybox:latest in namespace bench (imported and unpacked).
if [ "$scenario" = run ]; then
  echo "== building the busybox test image" >&2
  "$repo/scripts/make-test-images.sh" "$work/images" >/dev/null
fi
import_image() {
  [ "$scenario" = run ] || return 0
  if ! ctr -a "${sock[$1]}" -n bench images import "$work/images/busybox-docker.tar" >/dev/null; then
    echo "compare: importing the busybox image into $1 failed" >&2; log_tail "${log[$1]}"; exit 1
  fi
}

# "VmRSS Pss Private" in kB for a PID ("-" where unreadable).
memory() {
  local rss="" pss="" priv=""
  rss=$(awk '/^VmRSS:/ {print $2}' "/proc/$1/status" 2>/dev/null || true)
  if [ -r "/proc/$1/smaps_rollup" ]; then
    pss=$(awk '/^Pss:/ {print $2}' "/proc/$1/smaps_rollup" 2>/dev/null || true)
    priv=$(awk '/^Private_(Clean|Dirty):/ {s += $2} END {print s}' "/proc/$1/smaps_rollup" \
      2>/dev/null || true)
  fi
  echo "${rss:--} ${pss:--} ${priv:--}"
}

declare -A idle_mem after_mem
for d in "${daemons[@]}"; do
  echo "== starting $d on $work/$d" >&2
  "start_$d"
  import_image "$d"
done
sleep "$settle"
for d in "${daemons[@]}"; do idle_mem[$d]=$(memory "${pid[$d]}"); done

for r in $(seq "$rounds"); do
  order=("${daemons[@]}")
  if [ $((r % 2)) -eq 0 ] && [ ${#daemons[@]} -eq 2 ]; then order=("${daemons[1]}" "${daemons[0]}"); fi
  for d in "${order[@]}"; do
    echo "== round $r/$rounds: $d (pid ${pid[$d]}): $scenario, count $count, clients $clients" >&2
    if ! "$bench" --address "${sock[$d]}" --namespace bench "$scenario" --count "$count" \
        --clients "$clients" --warmup "$warmup" --json >"$work/$d.$r.json"; then
      echo "compare: berth-bench failed against $d" >&2
      log_tail "${log[$d]}"
      exit 1
    fi
  done
done
for d in "${daemons[@]}"; do after_mem[$d]=$(memory "${pid[$d]}"); done
stop_all

if [ "$scenario" = run ] && [ "$runc_baseline" = 1 ]; then
  echo "== bare runc run baseline: count $count, clients $clients" >&2
  bw=$((warmup < 5 ? warmup : 5))
  if ! "$repo/bench/runc_baseline.sh" --count "$count" --clients "$clients" --warmup "$bw" \
      --archive "$work/images/busybox-docker.tar" --json >"$work/runc.json"; then
    echo "compare: bench/runc_baseline.sh failed" >&2; exit 1
  fi
fi

# --- report ---------------------------------------------------------------------------------

ratio() {
  if [[ "$1" =~ ^[0-9.]+$ && "$2" =~ ^[0-9.]+$ ]] && [ "$(echo "$2 > 0" | bc)" = 1 ]; then
    printf '%.2fx' "$(echo "scale=4; $1 / $2" | bc)"
  else
    echo -
  fi
}

# median_round DAEMON MODE: the round whose iterations/s is the median (the lower one of the two
# middle rounds when their number is even); empty when DAEMON was not measured.
median_round() {
  [ -f "$work/$1.1.json" ] || return 0
  local r
  for r in $(seq "$rounds"); do
    echo "$(jq -r ".modes[] | select(.mode == \"$2\") | .iterations_per_s" "$work/$1.$r.json") $r"
  done | sort -g | sed -n "$(((rounds + 1) / 2))p" | cut -d' ' -f2
}

# field DAEMON MODE JQ: a figure of DAEMON's median round in MODE, or "-".
field() {
  local r
  r=$(median_round "$1" "$2")
  if [ -z "$r" ]; then echo -; return; fi
  jq -r ".modes[] | select(.mode == \"$2\") | $3" "$work/$1.$r.json"
}

# spread DAEMON MODE: "min-max" iterations/s over the rounds.
spread() {
  [ -f "$work/$1.1.json" ] || { echo -; return; }
  local r
  for r in $(seq "$rounds"); do
    jq -r ".modes[] | select(.mode == \"$2\") | .iterations_per_s" "$work/$1.$r.json"
  done | sort -g | sed -n '1p;$p' | paste -sd- -
}

ref=${daemons[0]}
echo
for d in "${daemons[@]}"; do
  echo "$d: $(jq -r .server_version "$work/$d.1.json")"
done
echo "$scenario: one iteration = $(jq -r .description "$work/$ref.1.json"); count $count," \
  "$rounds round(s), median shown${berthd_sync:+; berthd metadata.sync=$berthd_sync}"
echo
printf '%-11s %-11s %7s %14s %16s %8s\n' scenario mode clients "berthd ops/s" "containerd ops/s" ratio
modes=$(jq -r '.modes[].mode' "$work/$ref.1.json")
for m in $modes; do
  b=$(field berthd "$m" .iterations_per_s)
  c=$(field containerd "$m" .iterations_per_s)
  printf '%-11s %-11s %7s %14s %16s %8s\n' "$scenario" "$m" \
    "$(jq -r ".modes[] | select(.mode == \"$m\") | .clients" "$work/$ref.1.json")" \
    "$b" "$c" "$(ratio "$b" "$c")"
done
if [ "$rounds" -gt 1 ]; then
  for m in $modes; do
    printf '%-11s %-11s %7s %14s %16s\n' "  min-max" "$m" "" "$(spread berthd "$m")" \
      "$(spread containerd "$m")"
  done
fi
echo "(ops/s = iterations/s; calls/s = $(jq -r '.modes[0] | .calls / .iterations' \
  "$work/$ref.1.json") x ops/s)"

echo
printf '%-11s %-20s %22s %22s\n' mode rpc "berthd p50/p99 us" "containerd p50/p99 us"
for m in $modes; do
  for rpc in $(jq -r ".modes[] | select(.mode == \"$m\") | .rpcs | keys_unsorted[]" \
      "$work/$ref.1.json"); do
    f=".rpcs[\"$rpc\"] | \"\(.p50_us)/\(.p99_us)\""
    printf '%-11s %-20s %22s %22s\n' "$m" "$rpc" "$(field berthd "$m" "$f")" \
      "$(field containerd "$m" "$f")"
  done
done

echo
printf '%-22s %12s %14s %8s\n' "memory (kB)" berthd containerd ratio
names=(VmRSS Pss Private)
for when in idle after; do
  for i in 0 1 2; do
    if [ $when = idle ]; then
      read -r -a b <<<"${idle_mem[berthd]:--}"; read -r -a c <<<"${idle_mem[containerd]:--}"
    else
      read -r -a b <<<"${after_mem[berthd]:--}"; read -r -a c <<<"${after_mem[containerd]:--}"
    fi
    printf '%-22s %12s %14s %8s\n' "$when ${names[$i]}" "${b[$i]:--}" "${c[$i]:--}" \
      "$(ratio "${b[$i]:--}" "${c[$i]:--}")"
  done
done
echo "(idle: ${settle}s after start-up, before any load; after: right after the last round;"
echo " Private = Private_Clean + Private_Dirty from smaps_rollup)"

# Scenario "run": ms per container = wall / count (the inverse of ops/s), against bare runc.
if [ "$scenario" = run ]; then
  ms() { if [[ "$1" =~ ^[0-9.]+$ ]]; then printf '%.1f' "$(echo "scale=4; 1000 / $1" | bc)"; else echo -; fi; }
  echo
  printf '%-11s %11s %11s %10s %11s %12s\n' mode "berthd ms" "ctrd ms" "ctrd/b" "runc ms" "berthd/runc"
  for m in $modes; do
    b=$(ms "$(field berthd "$m" .iterations_per_s)")
    k=$(ms "$(field containerd "$m" .iterations_per_s)")
    r=-
    [ -f "$work/runc.json" ] &&
      r=$(jq -r ".modes[] | select(.mode == \"$m\") | .ms_per_container" "$work/runc.json")
    printf '%-11s %11s %11s %10s %11s %12s\n' "$m" "$b" "$k" "$(ratio "$k" "$b")" "${r:--}" \
      "$(ratio "$b" "${r:--}")"
  done
  echo "(ms per container = mode wall time / count; ctrd/b > 1: berthd is faster (goal >= 2.5x);"
  if [ -f "$work/runc.json" ]; then
    echo " runc = bare 'runc run' of the same /bin/true, $(jq -r .runc "$work/runc.json");" \
      "berthd/runc: goal <= 1.3x)"
    echo "runc create + start + delete (a shim's three runc calls), sequential:" \
      "$(jq -r '.modes[] | select(.mode == "seq-split") | .ms_per_container' "$work/runc.json") ms"
  fi
  [ -f "$work/runc.json" ] || echo " no runc baseline)"
fi

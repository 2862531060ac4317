#!/usr/bin/env bash
# Memory of one shim per running container: berthd's (containerd-shim-berth-v2) against
# containerd's (containerd-shim-runc-v2), both driving runc.
#
# Starts berthd and a real containerd on temporary paths (as compare.sh does), imports the busybox
# test image into namespace "bench" of each, runs --count detached `sleep 1000` containers in each
# (`ctr run -d --null-io berth.test/busybox:latest ID sleep 1000`), waits --settle seconds, and
# reads /proc/PID/smaps_rollup of every shim: RSS, PSS and USS (Private_Clean + Private_Dirty).
# Prints per-shim averages (and min-max) side by side. Every container is one shim in both
# daemons (ctr sets no grouping label).
#
# A shim is found as the parent of its task's PID (`ctr tasks ls`): both shims are subreapers that
# their container's init is re-parented to. The script checks that each such parent is a
# containerd-shim-* binary and that there are --count distinct ones.
#
# Usage: bench/shim_memory.sh [--build-dir build] [--count 20] [--settle 2]
#                             [--only berthd|containerd] [--out DIR]
#   --out   keep the per-shim figures (shims.<daemon>.txt) and both daemon logs in DIR
# Needs: berthd and containerd-shim-berth-v2 in BUILD/bin (unless --only containerd), containerd,
# containerd-shim-runc-v2, runc and ctr (Debian packages), jq, bc.
#
# Clean-up (also on failure or Ctrl-C): every task is killed and deleted and every container
# removed through the daemon; the daemons are stopped by PID; a shim still alive after that (found
# through its bundle's `address` file and `ss -xlp`, or remembered from the measurement) is
# killed by PID; mounts under the temporary directory are unmounted and the directory removed.
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)
build_dir=build
count=20
settle=2
only=""
out_dir=""
image=berth.test/busybox:latest
ns=bench

usage() { sed -n '2,22p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//' >&2; exit 2; }
while [ $# -gt 0 ]; do
  case "$1" in
    --build-dir) build_dir=$2; shift 2 ;;
    --count) count=$2; shift 2 ;;
    --settle) settle=$2; shift 2 ;;
    --only) only=$2; shift 2 ;;
    --out) out_dir=$2; shift 2 ;;
    -h | --help) usage ;;
    *) echo "shim_memory: unknown argument $1" >&2; usage ;;
  esac
done
case "$only" in "" | berthd | containerd) ;; *) echo "shim_memory: --only berthd|containerd" >&2; exit 2 ;; esac
[[ "$count" =~ ^[1-9][0-9]*$ ]] || { echo "shim_memory: --count must be positive" >&2; exit 2; }
case "$build_dir" in /*) ;; *) build_dir="$repo/$build_dir" ;; esac
for tool in ctr runc jq bc ss; do
  command -v "$tool" >/dev/null || { echo "shim_memory: $tool not found" >&2; exit 1; }
done
berthd="$build_dir/bin/berthd"
daemons=()
[ "$only" != containerd ] && daemons+=(berthd)
[ "$only" != berthd ] && daemons+=(containerd)
if [ "$only" != containerd ]; then
  for b in "$berthd" "$build_dir/bin/containerd-shim-berth-v2"; do
    [ -x "$b" ] || { echo "shim_memory: $b not built; or use --only containerd" >&2; exit 1; }
  done
fi

# Short path: unix socket names must fit in 107 bytes.
work=$(mktemp -d /tmp/berth-shim-mem.XXXXXX)
berthd_pid=""
declare -A sock state_dir log
declare -a shim_pids=()

# ctr against daemon $1.
c() { local d=$1; shift; ctr -a "${sock[$d]}" -n "$ns" "$@"; }

# Kills and deletes every task, then removes every container (and its snapshot) of daemon $1.
remove_all() {
  local d=$1 id status
  [ -S "${sock[$d]:-/nonexistent}" ] || return 0
  while read -r id _ status; do
    [ -n "$id" ] || continue
    [ "$status" = STOPPED ] || c "$d" tasks kill -s SIGKILL "$id" >/dev/null 2>&1 || true
  done < <(c "$d" tasks ls 2>/dev/null | tail -n +2)
  for id in $(c "$d" tasks ls -q 2>/dev/null); do
    for _ in $(seq 50); do
      c "$d" tasks delete "$id" >/dev/null 2>&1 && break
      sleep 0.1
    done
  done
  for id in $(c "$d" containers ls -q 2>/dev/null); do
    c "$d" containers delete "$id" >/dev/null 2>&1 || true
  done
}

# PIDs of the shims listening on the sockets named by the bundles' `address` files of daemon $1.
shims_from_bundles() {
  local f addr
  for f in "${state_dir[$1]}"/io.containerd.runtime.v2.task/*/*/address; do
    [ -f "$f" ] || continue
    addr=$(sed 's|^unix://||' "$f")
    [ -n "$addr" ] || continue
    ss -xlpH 2>/dev/null | awk -v a="$addr" '$5 == a' | grep -o 'pid=[0-9]*' | cut -d= -f2
  done | sort -u
}

# Kills PID if it is still a containerd shim (the PID may have been reused since).
kill_shim() {
  local exe
  exe=$(readlink "/proc/$1/exe" 2>/dev/null || true)
  case "$(basename "${exe:-none}")" in
    containerd-shim-*) kill -KILL "$1" 2>/dev/null || true ;;
  esac
}

stop_berthd() {
  if [ -n "$berthd_pid" ] && kill -0 "$berthd_pid" 2>/dev/null; then
    kill -TERM "$berthd_pid" 2>/dev/null || true
    for _ in $(seq 50); do kill -0 "$berthd_pid" 2>/dev/null || break; sleep 0.1; done
    kill -0 "$berthd_pid" 2>/dev/null && kill -KILL "$berthd_pid" 2>/dev/null || true
    wait "$berthd_pid" 2>/dev/null || true
  fi
  berthd_pid=""
}

cleanup() {
  local rc=$?
  trap - EXIT INT TERM
  local d p leftover=()
  for d in "${daemons[@]}"; do
    remove_all "$d" || true
    [ -n "${state_dir[$d]:-}" ] && mapfile -t -O "${#leftover[@]}" leftover < <(shims_from_bundles "$d")
  done
  if [ -n "$out_dir" ]; then
    mkdir -p "$out_dir"
    cp -f "$work"/shims.*.txt "$work/berthd/berthd.log" "$work/containerd/containerd.log" \
      "$out_dir"/ 2>/dev/null || true
  fi
  stop_berthd
  [ -d "$work/containerd" ] && "$repo/test/tools/stop-containerd.sh" "$work/containerd" >/dev/null 2>&1 || true
  for p in "${leftover[@]}" "${shim_pids[@]}"; do
    [ -n "$p" ] && kill -0 "$p" 2>/dev/null && kill_shim "$p"
  done
  # Unmount whatever is left under the work directory (rootfs of killed shims), deepest first.
  awk '{print $5}' /proc/self/mountinfo | while read -r m; do printf '%b\n' "$m"; done |
    awk -v d="$work/" 'index($0, d) == 1' | sort -r |
    while read -r m; do umount "$m" 2>/dev/null || umount -l "$m" 2>/dev/null || true; done
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
  state_dir[berthd]="$dir/state"
  log[berthd]="$dir/berthd.log"
  setsid "$berthd" --root "$dir/root" --state "$dir/state" --address "${sock[berthd]}" \
    --log-level warn </dev/null >"${log[berthd]}" 2>&1 &
  berthd_pid=$!
  local deadline=$((SECONDS + 10))
  until [ -S "${sock[berthd]}" ] && ctr -a "${sock[berthd]}" version >/dev/null 2>&1; do
    if ! kill -0 "$berthd_pid" 2>/dev/null; then
      echo "shim_memory: berthd exited during start-up" >&2; log_tail "${log[berthd]}"; exit 1
    fi
    if [ $SECONDS -ge $deadline ]; then
      echo "shim_memory: berthd did not answer within 10s" >&2; log_tail "${log[berthd]}"; exit 1
    fi
    sleep 0.1
  done
}

start_containerd() {
  local dir="$work/containerd"
  CONTAINERD_LOG_LEVEL=warn "$repo/test/tools/start-containerd.sh" "$dir" >/dev/null
  sock[containerd]="$dir/containerd.sock"
  state_dir[containerd]="$dir/state"
  log[containerd]="$dir/containerd.log"
}

echo "building the test image..." >&2
"$repo/scripts/make-test-images.sh" "$work/images" >/dev/null

# Figures per daemon: "rss pss uss" in kB for each shim, one line each, in $work/shims.$d.txt.
declare -A shim_exe
for d in "${daemons[@]}"; do
  echo "== $d: starting, importing $image, running $count sleep containers" >&2
  "start_$d"
  c "$d" images import "$work/images/busybox-docker.tar" >/dev/null
  for i in $(seq "$count"); do
    if ! c "$d" run -d --null-io "$image" "shm-$i" sleep 1000 >/dev/null; then
      echo "shim_memory: ctr run -d shm-$i failed against $d" >&2; log_tail "${log[$d]}"; exit 1
    fi
  done
done
sleep "$settle"

for d in "${daemons[@]}"; do
  : >"$work/shims.$d.txt"
  declare -A seen=()
  while read -r id pid status; do
    [ -n "$id" ] || continue
    if [ "$status" != RUNNING ]; then
      echo "shim_memory: $d: task $id is $status, not RUNNING" >&2; log_tail "${log[$d]}"; exit 1
    fi
    ppid=$(awk '{print $4}' "/proc/$pid/stat")
    exe=$(readlink "/proc/$ppid/exe" || true)
    case "$(basename "$exe")" in
      containerd-shim-*) ;;
      *) echo "shim_memory: $d: the parent of task $id (pid $pid) is $exe (pid $ppid), not a shim" >&2
         exit 1 ;;
    esac
    shim_exe[$d]=$(basename "$exe")
    if [ -n "${seen[$ppid]:-}" ]; then continue; fi
    seen[$ppid]=1
    shim_pids+=("$ppid")
    awk -v pid="$ppid" -v id="$id" '
      /^Rss:/ {rss = $2} /^Pss:/ {pss = $2} /^Private_(Clean|Dirty):/ {uss += $2}
      END {print rss, pss, uss, pid, id}' "/proc/$ppid/smaps_rollup" >>"$work/shims.$d.txt"
  done < <(c "$d" tasks ls | tail -n +2)
  n=$(wc -l <"$work/shims.$d.txt")
  if [ "$n" -ne "$count" ]; then
    echo "shim_memory: $d: $n distinct shims for $count containers" >&2
    [ "$n" -gt 0 ] || exit 1
  fi
done

# --- report ---------------------------------------------------------------------------------

# stat D COLUMN: "avg min max" in MiB of column COLUMN (1 rss, 2 pss, 3 uss) over D's shims.
stat_of() {
  [ -s "$work/shims.$1.txt" ] || { echo "- - -"; return; }
  awk -v col="$2" '
    NR == 1 {min = $col; max = $col}
    {s += $col; if ($col < min) min = $col; if ($col > max) max = $col}
    END {printf "%.2f %.2f %.2f\n", s / NR / 1024, min / 1024, max / 1024}' "$work/shims.$1.txt"
}
ratio() {
  if [[ "$1" =~ ^[0-9.]+$ && "$2" =~ ^[0-9.]+$ ]] && [ "$(echo "$2 > 0" | bc)" = 1 ]; then
    printf '%.2fx' "$(echo "scale=4; $1 / $2" | bc)"
  else
    echo -
  fi
}

echo
for d in berthd containerd; do
  [ -s "$work/shims.$d.txt" ] &&
    echo "$d: $(wc -l <"$work/shims.$d.txt") shims (${shim_exe[$d]}), $(ctr -a "${sock[$d]}" version 2>/dev/null | awk '/Server:/ {s = 1} s && /Version:/ {print $2; exit}')"
done
echo "$count x 'ctr run -d --null-io $image ID sleep 1000' per daemon, ${settle}s settle;" \
  "per shim, MiB"
printf '%-5s %10s %16s %12s %16s %8s\n' "" berthd "(min-max)" containerd "(min-max)" ratio
names=(RSS PSS USS)
for col in 1 2 3; do
  read -r b bmin bmax <<<"$(stat_of berthd "$col")"
  read -r k kmin kmax <<<"$(stat_of containerd "$col")"
  brange="($bmin-$bmax)" krange="($kmin-$kmax)"
  [ "$b" = - ] && brange=-
  [ "$k" = - ] && krange=-
  printf '%-5s %10s %16s %12s %16s %8s\n' "${names[$((col - 1))]}" "$b" "$brange" "$k" \
    "$krange" "$(ratio "$b" "$k")"
done
echo "(USS = Private_Clean + Private_Dirty; PSS shares pages among the $count shims of a daemon;" \
  "ratio < 1: berth's shim is smaller. Goal: berth USS <= 1 MiB, RSS <= 3 MiB.)"

#!/usr/bin/env bash
# Image import + unpack, and Content Write throughput, against berthd and a real containerd in
# the same run, with the same client: the real `ctr`.
#
#   import   `ctr images import` of a ~100 MB image of several layers (scripts/make-test-images.sh
#            --big: busybox + 5 x 20 MiB incompressible layers), which writes every blob through
#            Content/Write, creates the image, and unpacks it into overlayfs through
#            Snapshots/Prepare + Diff/Apply + Snapshots/Commit. Each round imports into a fresh
#            namespace, so nothing is shared with the previous round's content.
#   ingest   `ctr content ingest` of one 256 MiB file (Content/Write throughput, MB/s).
#
# Usage: bench/import.sh [--build-dir build] [--rounds 3] [--archive docker|oci] [--out DIR]
# Needs: berthd in BUILD/bin, containerd and ctr (Debian package), the test image tools.
# Ratio = containerd time / berthd time: > 1 means berthd is faster.
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)
build_dir=build
rounds=3
kind=docker
out_dir=""
while [ $# -gt 0 ]; do
  case "$1" in
    --build-dir) build_dir=$2; shift 2 ;;
    --rounds) rounds=$2; shift 2 ;;
    --archive) kind=$2; shift 2 ;;
    --out) out_dir=$2; shift 2 ;;
    *) sed -n '2,15p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//' >&2; exit 2 ;;
  esac
done
case "$build_dir" in /*) ;; *) build_dir="$repo/$build_dir" ;; esac
berthd="$build_dir/bin/berthd"
[ -x "$berthd" ] || { echo "import.sh: $berthd not built" >&2; exit 1; }

work=$(mktemp -d /tmp/berth-bench-import-XXXXXX)
berthd_pid=""
cleanup() {
  [ -n "$berthd_pid" ] && kill "$berthd_pid" 2>/dev/null && wait "$berthd_pid" 2>/dev/null || true
  "$repo/test/tools/stop-containerd.sh" "$work/ctd" >/dev/null 2>&1 || true
  # Unmount anything either daemon left mounted under the work dir, then remove it.
  grep " $work" /proc/self/mounts | awk '{print $2}' | sort -r | while read -r m; do
    umount "$m" 2>/dev/null || umount -l "$m" 2>/dev/null || true
  done
  if [ -n "$out_dir" ]; then
    mkdir -p "$out_dir"
    cp "$work/berthd.log" "$work/ctd/containerd.log" "$out_dir/" 2>/dev/null || true
  fi
  rm -rf "$work"
}
trap cleanup EXIT

echo "building the test image..." >&2
"$repo/scripts/make-test-images.sh" --big "$work/images" >/dev/null
archive="$work/images/big-$kind.tar"
archive_mb=$(( $(stat -c %s "$archive") / 1000000 ))

"$berthd" --root "$work/berth/root" --state "$work/berth/state" \
  --address "$work/berth.sock" >"$work/berthd.log" 2>&1 &
berthd_pid=$!
for _ in $(seq 1 100); do [ -S "$work/berth.sock" ] && break; sleep 0.1; done
"$repo/test/tools/start-containerd.sh" "$work/ctd" >/dev/null

now() { date +%s.%N; }
# time_cmd SOCK NS ARGS...: seconds taken by ctr ARGS against SOCK in namespace NS.
time_cmd() {
  local sock=$1 ns=$2
  shift 2
  local t0 t1
  t0=$(now)
  ctr -a "$sock" -n "$ns" "$@" >/dev/null
  t1=$(now)
  echo "$t1 - $t0" | bc -l
}
median() { sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }

declare -a b_import c_import b_ingest c_ingest
head -c $((256 << 20)) /dev/urandom >"$work/ingest.bin"
for r in $(seq 1 "$rounds"); do
  # Alternate the order so drift in the machine's load does not all land on one daemon.
  for d in $( [ $((r % 2)) -eq 1 ] && echo "b c" || echo "c b"); do
    if [ "$d" = b ]; then sock="$work/berth.sock"; else sock="$work/ctd/containerd.sock"; fi
    sync
    t=$(time_cmd "$sock" "bench$r" images import "$archive")
    i=$(time_cmd "$sock" "ingest$r" content ingest "blob-$r" <"$work/ingest.bin")
    if [ "$d" = b ]; then b_import+=("$t"); b_ingest+=("$i"); else c_import+=("$t"); c_ingest+=("$i"); fi
  done
done

bi=$(printf '%s\n' "${b_import[@]}" | median)
ci=$(printf '%s\n' "${c_import[@]}" | median)
bw=$(printf '%s\n' "${b_ingest[@]}" | median)
cw=$(printf '%s\n' "${c_ingest[@]}" | median)
printf 'image: %s (%s MB, %s archive); rounds: %s (median shown)\n' \
  "$(basename "$archive")" "$archive_mb" "$kind" "$rounds"
printf '%-34s %10s %12s %8s\n' "" berthd containerd ratio
printf '%-34s %9.2fs %11.2fs %7.2fx\n' "ctr images import (+unpack)" "$bi" "$ci" \
  "$(echo "$ci / $bi" | bc -l)"
printf '%-34s %8.0fMB/s %9.0fMB/s %7.2fx\n' "Content Write (ctr content ingest)" \
  "$(echo "268.435456 / $bw" | bc -l)" "$(echo "268.435456 / $cw" | bc -l)" \
  "$(echo "$cw / $bw" | bc -l)"

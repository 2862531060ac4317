#!/usr/bin/env bash
# The main job: sets up the machine, builds berth, starts berthd on its defaults
# (root /var/lib/berth, state /run/berth, socket /run/berth/berthd.sock) and shows real clients
# talking to it: containerd's own `ctr` and berth's CLI. It builds the test image (busybox from
# Debian's busybox-static; no internet needed), imports it with `ctr images import` (which
# unpacks it into the overlayfs snapshotter) and mounts it. Running containers comes with the
# tasks service (issue 4). Stops berthd at the end unless --keep.
set -euo pipefail
cd "$(dirname "$0")/.."
keep=0
[ "${1:-}" = "--keep" ] && keep=1

bash scripts/setup.sh
bash scripts/build.sh berthd berth

sock=/run/berth/berthd.sock
log=$(mktemp /tmp/berthd-demo.XXXXXX.log)
build/bin/berthd 2>"$log" &
pid=$!
stop() { if [ $keep = 0 ] && kill -0 $pid 2>/dev/null; then kill -TERM $pid; wait $pid || true; fi; }
trap stop EXIT
for _ in $(seq 50); do [ -S $sock ] && ctr -a $sock version >/dev/null 2>&1 && break; sleep 0.1; done

run() { echo; echo "\$ $*"; "$@"; }
run ctr -a $sock version
run build/bin/berth --address $sock version
run ctr -a $sock plugins ls
run ctr -a $sock namespaces create demo
run ctr -a $sock namespaces label demo team=berth
run build/bin/berth --address $sock namespaces ls
run ctr -a $sock -n demo leases create --id demo-lease
run build/bin/berth --address $sock -n demo leases ls
run ctr -a $sock -n demo leases rm demo-lease
images=$(mktemp -d /tmp/berth-demo-images.XXXXXX)
bash scripts/make-test-images.sh "$images" >/dev/null
run ctr -a $sock -n demo images import "$images/busybox-oci.tar"
run ctr -a $sock -n demo images ls
run ctr -a $sock -n demo images check
run ctr -a $sock -n demo snapshots ls
mnt="$images/rootfs"
mkdir -p "$mnt"
run ctr -a $sock -n demo images mount berth.test/busybox:latest "$mnt"
run ls "$mnt" "$mnt/bin/busybox"
run ctr -a $sock -n demo images unmount --rm "$mnt"
# Containers: through berth's shim (containerd-shim-berth-v2) and runc.
run ctr -a $sock -n demo run --rm berth.test/busybox:latest hello sh -c 'echo "hello from a berth container: $(uname -s), pid $$"'
run ctr -a $sock -n demo run -d berth.test/busybox:latest sleeper sleep 1000
run ctr -a $sock -n demo tasks ls
run ctr -a $sock -n demo tasks exec --exec-id probe sleeper ps
run ctr -a $sock -n demo tasks kill -s SIGKILL sleeper
for _ in $(seq 50); do ctr -a $sock -n demo tasks ls | grep -q 'sleeper.*STOPPED' && break; sleep 0.1; done
run ctr -a $sock -n demo tasks rm sleeper
run ctr -a $sock -n demo containers rm sleeper
run ctr -a $sock -n demo images rm --sync berth.test/busybox:latest
# ctr's import holds a 24 h lease; dropping it lets garbage collection take the blobs.
for l in $(ctr -a $sock -n demo leases ls -q); do ctr -a $sock -n demo leases rm --sync "$l"; done
run ctr -a $sock -n demo content ls
rm -rf "$images"
run ctr -a $sock namespaces rm demo
echo
echo "berthd (pid $pid) log:"; cat "$log"
if [ $keep = 1 ]; then
  trap - EXIT
  echo "berthd keeps running (pid $pid); stop it with: kill $pid"
fi

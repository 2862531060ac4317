#!/usr/bin/env bash
# Installs every Debian package that building, testing and the demo need. Idempotent; safe to
# re-run. Services shipped by these packages (containerd, docker) are never started by apt here:
# berth's tests start their own instances on isolated paths.
set -euo pipefail

packages=(
  # build
  cmake ninja-build ccache g++ clang pkg-config
  protobuf-compiler protobuf-compiler-grpc libprotobuf-dev libgrpc++-dev libabsl-dev
  libsqlite3-dev libssl-dev nlohmann-json3-dev libtomlplusplus-dev libcli11-dev libarchive-dev
  # static codecs libarchive.a needs, and lld for berthd's ordered link (src/daemon/CMakeLists.txt)
  liblzma-dev libbz2-dev zlib1g-dev libzstd-dev lld
  libgtest-dev libgmock-dev
  # containerd's API definitions, read at build time
  golang-github-containerd-containerd-dev golang-github-gogo-protobuf-dev
  golang-github-gogo-googleapis-dev golang-github-containerd-cgroups-dev
  # runtime and test peers: the real ctr/containerd, dockerd, runc
  containerd runc crun docker.io uuid-runtime procps sqlite3 psmisc jq bc
  # the test images are built from busybox-static; zstd and xz for compressed layers
  busybox-static zstd xz-utils
)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi

if [ "$(id -u)" -ne 0 ]; then
  echo "setup: need root to install: ${missing[*]}" >&2
  exit 1
fi

# Keep apt from starting containerd/dockerd as services: tests run their own, isolated.
if [ ! -e /usr/sbin/policy-rc.d ]; then
  printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d
  chmod +x /usr/sbin/policy-rc.d
  trap 'rm -f /usr/sbin/policy-rc.d' EXIT
fi

echo "setup: installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null

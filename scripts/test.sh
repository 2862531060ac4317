#!/usr/bin/env bash
# Sets up a fresh machine (Debian packages), builds everything and runs every test: unit tests
# and integration tests that start real berthd daemons on temp roots and drive them with our
# client, the real ctr and dockerd. Then, unless BERTH_SKIP_CLANG=1, builds again with clang
# (which rejects ignored absl::Status values) to keep both compilers green.
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/setup.sh
bash scripts/build.sh

status=0
ctest --test-dir build --output-on-failure --timeout 300 -j1 || status=$?

if [ "${BERTH_SKIP_CLANG:-0}" != 1 ]; then
  echo "== clang build =="
  BUILD_DIR=build-clang CMAKE_ARGS="-DCMAKE_C_COMPILER=clang -DCMAKE_CXX_COMPILER=clang++" \
    bash scripts/build.sh || status=$?
fi
exit $status

#!/usr/bin/env bash
# Sets up and runs enlarger on the embedded default (./data folders + SQLite):
# the README's run command. Extra arguments go to `enlarger serve`.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
scripts/install-deps.sh build
cmake -S . -B build/release -DCMAKE_BUILD_TYPE=Release -DBUILD_TESTING=OFF >/dev/null
cmake --build build/release -j"$(nproc)"
exec build/release/enlarger serve "$@"

#!/usr/bin/env bash
# Configures and builds zjob into a build folder: build.sh [DIR [CMAKE ARGS]].
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
dir=${1:-$root/build}
shift || true
cmake -S "$root" -B "$dir" -DZJOB_WERROR=ON "$@" >/dev/null
cmake --build "$dir" -j"$(nproc)"

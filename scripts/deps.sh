#!/usr/bin/env bash
# Installs the Debian packages zjob needs, when missing:
#   deps.sh [all]    build and test (the default; what the README's commands use)
#   deps.sh build    only what compiling needs (the image's build stage)
#   deps.sh runtime  only what the programs need to run (the image's last stage)
set -euo pipefail

BUILD=(
    build-essential cmake pkg-config
    libzmq3-dev libczmq-dev libprotobuf-c-dev protobuf-c-compiler
    libyaml-dev libmicrohttpd-dev libjansson-dev libssl-dev zlib1g-dev
)
TEST=(libcmocka-dev clang-format jq curl)
RUNTIME=(
    libczmq4 libprotobuf-c1 libyaml-0-2 libmicrohttpd12 libjansson4 libssl3
    zlib1g tini
)

case "${1:-all}" in
all) packages=("${BUILD[@]}" "${TEST[@]}") ;;
build) packages=("${BUILD[@]}") ;;
runtime) packages=("${RUNTIME[@]}") ;;
*)
    echo "usage: deps.sh [all|build|runtime]" >&2
    exit 2
    ;;
esac

missing=()
for package in "${packages[@]}"; do
    if ! dpkg-query -W -f='${Status}' "$package" 2>/dev/null |
        grep -q "install ok installed"; then
        missing+=("$package")
    fi
done
[ ${#missing[@]} -eq 0 ] && exit 0

echo "zjob: installing ${missing[*]}" >&2
sudo=()
[ "$(id -u)" -eq 0 ] || sudo=(sudo)
export DEBIAN_FRONTEND=noninteractive
"${sudo[@]}" apt-get update -qq
"${sudo[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" \
    >/dev/null

#!/usr/bin/env bash
# Installs the Debian packages zjob needs to build and test, when missing.
set -euo pipefail

PACKAGES=(
    build-essential cmake pkg-config
    libzmq3-dev libczmq-dev libprotobuf-c-dev protobuf-c-compiler
    libyaml-dev libcmocka-dev libmicrohttpd-dev libjansson-dev libssl-dev
    zlib1g-dev
    clang-format jq
)

missing=()
for package in "${PACKAGES[@]}"; do
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

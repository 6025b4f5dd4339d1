# Shared set-up for the container tests, sourced by them: a Docker engine,
# docker-compose and the Debian base images, all from this machine and
# Debian's archive (no image registry is assumed to be reachable).
#   docker_setup     installs and starts what is missing; sets DOCKER, COMPOSE
#   docker_teardown  stops the engine again if docker_setup started it
set -euo pipefail

DOCKER_WORK=${DOCKER_WORK:-$(mktemp -d "${TMPDIR:-/tmp}/zjob-docker.XXXXXX")}
mkdir -p "$DOCKER_WORK"
DOCKERD_PID=

# Debian's docker.io client speaks the API of Debian's engine; another
# client earlier in PATH may not.
s_docker_client() {
    if [ -x /usr/bin/docker ]; then echo /usr/bin/docker; else command -v docker; fi
}

s_install_missing() {
    local packages=()
    command -v dockerd >/dev/null || packages+=(docker.io)
    command -v docker-compose >/dev/null || packages+=(docker-compose)
    command -v debootstrap >/dev/null || packages+=(debootstrap)
    [ ${#packages[@]} -eq 0 ] && return 0
    echo "docker: installing ${packages[*]}" >&2
    local sudo=()
    [ "$(id -u)" -eq 0 ] || sudo=(sudo)
    DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get update -qq
    DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -qq \
        --no-install-recommends "${packages[@]}" iptables >/dev/null
}

# Starts dockerd with storage driver $1 ("" for its own choice); waits up
# to 30 s for it to answer.
s_start_dockerd() {
    local driver=()
    [ -n "$1" ] && driver=(--storage-driver "$1")
    dockerd "${driver[@]}" --pidfile "$DOCKER_WORK/dockerd.pid" \
        >>"$DOCKER_WORK/dockerd.log" 2>&1 &
    DOCKERD_PID=$!
    for _ in $(seq 300); do
        "$DOCKER" info >/dev/null 2>&1 && return 0
        kill -0 "$DOCKERD_PID" 2>/dev/null || break
        sleep 0.1
    done
    kill -TERM "$DOCKERD_PID" 2>/dev/null || true
    wait "$DOCKERD_PID" 2>/dev/null || true
    DOCKERD_PID=
    return 1
}

s_ensure_engine() {
    "$DOCKER" info >/dev/null 2>&1 && return 0
    [ "$(id -u)" -eq 0 ] || {
        echo "docker: no engine runs and starting one needs root" >&2
        return 1
    }
    echo "docker: starting dockerd (log: $DOCKER_WORK/dockerd.log)" >&2
    s_start_dockerd "" || {
        echo "docker: retrying with the vfs storage driver" >&2
        s_start_dockerd vfs
    }
}

# Makes debian:bookworm and debian:bookworm-slim exist locally: when they
# are not there already, a minimal bookworm from Debian's archive is
# bootstrapped and imported under both names.
s_ensure_base_images() {
    if "$DOCKER" image inspect debian:bookworm debian:bookworm-slim \
        >/dev/null 2>&1; then
        return 0
    fi
    local mirror=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
    local rootfs="$DOCKER_WORK/rootfs"
    echo "docker: bootstrapping debian:bookworm from $mirror" >&2
    debootstrap --variant=minbase bookworm "$rootfs" "$mirror" \
        >"$DOCKER_WORK/debootstrap.log" 2>&1 || {
        tail -n 20 "$DOCKER_WORK/debootstrap.log" >&2
        return 1
    }
    rm -rf "$rootfs"/var/cache/apt/archives/*.deb "$rootfs"/var/lib/apt/lists/*
    tar -C "$rootfs" -c . | "$DOCKER" import - debian:bookworm >/dev/null
    # The slim variant: no documentation, manuals or translations, now or
    # from packages installed later.
    cat >"$rootfs/etc/dpkg/dpkg.cfg.d/zjob-slim" <<'SLIM'
path-exclude /usr/share/doc/*
path-include /usr/share/doc/*/copyright
path-exclude /usr/share/man/*
path-exclude /usr/share/info/*
path-exclude /usr/share/locale/*
SLIM
    find "$rootfs/usr/share/doc" -mindepth 2 -not -name copyright \
        -not -type d -delete
    rm -rf "$rootfs"/usr/share/{man,info,locale}/*
    tar -C "$rootfs" -c . | "$DOCKER" import - debian:bookworm-slim >/dev/null
    rm -rf "$rootfs"
}

docker_setup() {
    s_install_missing
    DOCKER=$(s_docker_client)
    COMPOSE=(docker-compose)
    # The classic builder uses local base images without asking a registry.
    export DOCKER_BUILDKIT=0 COMPOSE_DOCKER_CLI_BUILD=0
    s_ensure_engine
    s_ensure_base_images
}

docker_teardown() {
    if [ -n "$DOCKERD_PID" ]; then
        kill -TERM "$DOCKERD_PID" 2>/dev/null || true
        for _ in $(seq 150); do
            kill -0 "$DOCKERD_PID" 2>/dev/null || break
            sleep 0.1
        done
        kill -KILL "$DOCKERD_PID" 2>/dev/null || true
        wait "$DOCKERD_PID" 2>/dev/null || true
    fi
    rm -rf "$DOCKER_WORK"
}

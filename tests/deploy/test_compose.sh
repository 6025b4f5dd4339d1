#!/usr/bin/env bash
# The deployment, for real: builds the image, starts deploy/docker-compose.yml
# with one broker and three workers, runs thousands of sleep jobs of a few
# hundred milliseconds through `zjob map` from the host, scales the workers to
# six and then to one while the jobs run, restarts the broker container, and
# checks that every job came back and that `zjob workers` saw 6 and then 1.
# Containers, networks and volumes are removed again, pass or fail.
#   test_compose.sh [ZJOB_BIN]   (default: build/release/bin/zjob)
set -euo pipefail

root=$(cd "$(dirname "$0")/../.." && pwd)
zjob=${1:-$root/build/release/bin/zjob}
jobs=${ZJOB_COMPOSE_JOBS:-3000}
started=$SECONDS
source "$root/tests/deploy/docker.sh"

project="zjobtest$$"
export ZJOB_CLIENT_PORT=$((20000 + RANDOM % 6000))
export ZJOB_HTTP_PORT=$((ZJOB_CLIENT_PORT + 6000))
export ZJOB_WORKER_THREADS=8
export ZJOB_BROKER="tcp://127.0.0.1:$ZJOB_CLIENT_PORT"
map_pid=

say() { printf '%s [%3ds] %s\n' "compose" $((SECONDS - started)) "$*"; }
fail() {
    say "FAIL: $*" >&2
    exit 1
}
compose_file=${ZJOB_COMPOSE_FILE:-$root/deploy/docker-compose.yml}
compose() { "${COMPOSE[@]}" -p "$project" -f "$compose_file" "$@"; }

cleanup() {
    local status=$?
    [ -n "$map_pid" ] && kill -TERM "$map_pid" 2>/dev/null || true
    if [ "$status" -ne 0 ] && [ -n "${COMPOSE:-}" ]; then
        compose logs --no-color --tail 40 >&2 2>&1 || true
    fi
    if [ -n "${COMPOSE:-}" ]; then
        compose down --volumes --remove-orphans --timeout 10 >/dev/null 2>&1 ||
            say "cleanup: compose down failed" >&2
    fi
    docker_teardown
    say "$([ "$status" -eq 0 ] && echo passed || echo failed) in" \
        "$((SECONDS - started)) s"
    exit "$status"
}
trap cleanup EXIT

# Polls `zjob workers` until it lists $1 workers; fails after $2 seconds.
wait_workers() {
    local want=$1 deadline=$((SECONDS + $2)) have=
    while [ "$SECONDS" -lt "$deadline" ]; do
        have=$("$zjob" workers --json 2>/dev/null | jq length 2>/dev/null) || have=
        [ "$have" = "$want" ] && return 0
        sleep 0.5
    done
    fail "zjob workers shows ${have:-nothing}, not $want, after $2 s"
}

# Waits until at least $1 of the map's results have come back (map
# prints them in input order, so this lags the broker); fails after $2 s.
wait_results() {
    local deadline=$((SECONDS + $2))
    while [ "$SECONDS" -lt "$deadline" ]; do
        [ "$(wc -l <"$DOCKER_WORK/out")" -ge "$1" ] && return 0
        kill -0 "$map_pid" 2>/dev/null || return 0
        sleep 0.2
    done
    fail "fewer than $1 results after $2 s"
}

# Waits until the broker counts at least $1 jobs succeeded; fails after
# $2 s. Prints the count.
wait_succeeded() {
    local deadline=$((SECONDS + $2)) done=0
    while [ "$SECONDS" -lt "$deadline" ]; do
        done=$("$zjob" stats --json 2>/dev/null | jq '.succeeded') || done=0
        [ "${done:-0}" -ge "$1" ] && return 0
        sleep 0.2
    done
    fail "fewer than $1 jobs succeeded after $2 s ($done)"
}

# The broker's count of succeeded jobs.
succeeded() {
    "$zjob" stats --json | jq '.succeeded'
}

[ -x "$zjob" ] || fail "no zjob command line at $zjob (build first)"
docker_setup
say "engine ready ($("$DOCKER" version --format '{{.Server.Version}}'))," \
    "$("${COMPOSE[@]}" version --short)"

building=$SECONDS
compose build >"$DOCKER_WORK/build.log" 2>&1 ||
    { tail -n 30 "$DOCKER_WORK/build.log" >&2; fail "image build"; }
say "image built in $((SECONDS - building)) s:" \
    "$("$DOCKER" image inspect --format '{{.Size}}' zjob:latest |
        awk '{printf "%.1f MB", $1 / 1e6}')"

compose up -d --no-build --scale worker=3 >/dev/null 2>&1 ||
    fail "compose up"
wait_workers 3 60
say "broker healthy, 3 workers registered"

# A job from inside the compose network, as the README shows.
hello=$(compose run --rm --no-deps -T worker \
    zjob -b tcp://broker:5570 submit --wait echo hello \
    2>"$DOCKER_WORK/run.err") ||
    fail "submit from a container: $(tail -n 3 "$DOCKER_WORK/run.err")"
[ "$hello" = hello ] || fail "submit from a container printed '$hello'"

# Sleeps of 100-400 ms, one per line; sleep answers with its payload, so
# the output must equal the input line for line.
seq "$jobs" | awk '{print 100 + ($1 * 7919) % 301}' >"$DOCKER_WORK/in"
: >"$DOCKER_WORK/out"
"$zjob" map sleep "$DOCKER_WORK/in" >"$DOCKER_WORK/out" \
    2>"$DOCKER_WORK/map.err" &
map_pid=$!
wait_succeeded $((jobs / 10)) 120

compose up -d --no-build --no-recreate --scale worker=6 >/dev/null 2>&1 ||
    fail "scale to 6"
wait_workers 6 60
say "zjob workers shows 6 at $(succeeded) jobs done"
wait_succeeded $((jobs * 3 / 10)) 120

compose up -d --no-build --no-recreate --scale worker=1 >/dev/null 2>&1 ||
    fail "scale to 1"
wait_workers 1 60
say "zjob workers shows 1 at $(succeeded) jobs done"

# The restart must find work in flight, or it proves nothing.
left=$("$zjob" stats --json | jq '.queued + .running')
[ "$left" -ge $((jobs / 20)) ] ||
    fail "only $left jobs left for the broker restart: the scenario ran" \
        "too fast for $jobs jobs (raise ZJOB_COMPOSE_JOBS)"
compose restart broker >/dev/null 2>&1 || fail "broker restart"
say "broker restarted with $left jobs queued or running"
wait_workers 1 60
# The new broker found the unfinished jobs in the journal on its volume.
replayed=$(compose logs --no-color broker | grep 'event=journal_replayed' |
    tail -n 1 | grep -o ' jobs=[0-9]*' | cut -d= -f2)
[ "${replayed:-0}" -gt 0 ] || fail "the restarted broker replayed no jobs"
say "the restarted broker replayed $replayed jobs from its volume"

wait_results "$jobs" 300
kill -0 "$map_pid" 2>/dev/null && sleep 2
kill -0 "$map_pid" 2>/dev/null && fail "map still runs with all results out"
status=0
wait "$map_pid" || status=$?
map_pid=
[ "$status" -eq 0 ] || { cat "$DOCKER_WORK/map.err" >&2; fail "map exit $status"; }
cmp -s "$DOCKER_WORK/in" "$DOCKER_WORK/out" ||
    fail "map output differs from its input:" \
        "$(diff "$DOCKER_WORK/in" "$DOCKER_WORK/out" | head -n 5)"
lost=$("$zjob" stats --json | jq '.worker_lost')
[ "$lost" = 0 ] || fail "worker_lost is $lost after clean scale-downs"
say "all $jobs jobs came back in order; worker_lost 0"

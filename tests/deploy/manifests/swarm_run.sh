#!/usr/bin/env bash
# Deploys deploy/swarm/zjob-stack.yml for real on a one-node swarm made for
# the occasion (loopback only), runs jobs through it, scales the workers,
# updates the broker stop-first with a job in flight, and leaves the swarm.
# test_manifests.sh runs it unless ZJOB_SWARM_RUN=0. It refuses an engine
# that is already in a swarm or runs other containers. ZJOB_SWARM_IMAGE names an image to use
# instead of building one from deploy/Dockerfile; ZJOB_SWARM_STACK names the
# stack (zjobswarmPID).
set -euo pipefail

root=$(cd "$(dirname "$0")/../../.." && pwd)
# shellcheck source=../docker.sh
source "$root/tests/deploy/docker.sh"
stack=${ZJOB_SWARM_STACK:-zjobswarm$$}
image=${ZJOB_SWARM_IMAGE:-}
built=
joined=
made_gwbridge=
started=$SECONDS

s_say() {
    echo "swarm: [$((SECONDS - started)) s] $*"
}

s_die() {
    s_say "FAIL $*"
    exit 1
}

s_cleanup() {
    local rc=$?
    if [ -n "$joined" ]; then
        "$DOCKER" stack rm "$stack" >/dev/null 2>&1 || true
        for _ in $(seq 60); do
            [ -z "$("$DOCKER" ps -aq \
                --filter "label=com.docker.stack.namespace=$stack")" ] && break
            sleep 1
        done
        "$DOCKER" swarm leave --force >/dev/null 2>&1 || true
        for _ in $(seq 30); do
            "$DOCKER" volume rm "${stack}_journal" >/dev/null 2>&1 && break
            sleep 1
        done
        "$DOCKER" network rm "${stack}_zjob" >/dev/null 2>&1 || true
        if [ -n "$made_gwbridge" ]; then
            "$DOCKER" network rm docker_gwbridge >/dev/null 2>&1 || true
        fi
    fi
    if [ -n "$built" ]; then
        "$DOCKER" image rm "$built" >/dev/null 2>&1 || true
    fi
    docker_teardown
    s_say "cleaned up"
    exit "$rc"
}
trap s_cleanup EXIT

# The zjob command line in a container on the stack's network.
s_client() {
    timeout 90 "$DOCKER" run --rm -i -e ZJOB_DOWN_TIMEOUT=30s \
        --network "${stack}_zjob" "$image" zjob -b tcp://broker:5570 "$@"
}

s_worker_count() {
    s_client workers 2>/dev/null | tail -n +2 | grep -c . || true
}

# Waits up to $2 s for `zjob workers` to list $1 workers.
s_expect_workers() {
    local want=$1 seconds=$2 count=
    for _ in $(seq "$seconds"); do
        count=$(s_worker_count)
        [ "$count" = "$want" ] && return 0
        sleep 1
    done
    s_die "zjob workers shows ${count:-none}, expected $want"
}

docker_setup
# Making and leaving a swarm rewires the engine's networks: containers
# that are not ours would lose theirs. Refuse rather than harm them.
if [ "$("$DOCKER" info -f '{{.Swarm.LocalNodeState}}')" != inactive ]; then
    s_die "this engine is already part of a swarm; set ZJOB_SWARM_RUN=0" \
        "to leave this run out"
fi
others=$("$DOCKER" ps -q | wc -l)
if [ "$others" -gt 0 ]; then
    s_die "$others containers run on this engine, and leaving a swarm" \
        "disconnects them: stop them, or set ZJOB_SWARM_RUN=0"
fi
if [ -z "$image" ]; then
    image=$stack:test
    "$DOCKER" build -q -f "$root/deploy/Dockerfile" -t "$image" "$root" \
        >/dev/null
    built=$image
    s_say "built $image"
fi

# swarm init makes the docker_gwbridge network and leaving keeps it.
"$DOCKER" network inspect docker_gwbridge >/dev/null 2>&1 || made_gwbridge=1
"$DOCKER" swarm init --advertise-addr 127.0.0.1 \
    --listen-addr 127.0.0.1:2377 >/dev/null
joined=1
"$DOCKER" node update --label-add zjob.broker=true \
    "$("$DOCKER" info -f '{{.Swarm.NodeID}}')" >/dev/null
ZJOB_IMAGE=$image "$DOCKER" stack deploy --resolve-image never \
    -c "$root/deploy/swarm/zjob-stack.yml" "$stack" >/dev/null
s_say "stack $stack deployed"

health=
for _ in $(seq 120); do
    health=$("$DOCKER" ps --format '{{.Status}}' \
        --filter "label=com.docker.swarm.service.name=${stack}_broker")
    [[ $health == *"(healthy)"* ]] && break
    sleep 1
done
[[ $health == *"(healthy)"* ]] || s_die "the broker is not healthy: $health"
s_say "broker healthy"
s_expect_workers 3 60
s_say "3 workers connected"

[ "$(seq 300 | s_client map echo)" = "$(seq 300)" ] ||
    s_die "300 echo jobs did not all come back in order"
s_say "300 echo jobs came back"

"$DOCKER" service scale "${stack}_worker=5" --detach=false >/dev/null 2>&1
s_expect_workers 5 60
s_say "scaled to 5 workers"

job=$(s_client submit sleep 600000)
"$DOCKER" service update --force --detach=false "${stack}_broker" \
    >/dev/null 2>&1
state=$(s_client status "$job" | awk 'NR == 2 { print $2 }')
case "$state" in
running | queued) s_say "broker updated stop-first; job $job is $state" ;;
*) s_die "job $job is '$state' after the broker update" ;;
esac
s_expect_workers 5 60
s_client cancel "$job" >/dev/null

"$DOCKER" service scale "${stack}_worker=1" --detach=false >/dev/null 2>&1
s_expect_workers 1 60
[ "$(seq 100 | s_client map sha256 | grep -c '^[0-9a-f]\{64\}$')" = 100 ] ||
    s_die "100 sha256 jobs on one worker did not all succeed"
s_say "scaled to 1 worker, 100 sha256 jobs came back"
s_say "passed"

#!/usr/bin/env bash
# Validates the cluster manifests without a cluster: deploy/k8s is built with
# `kubectl kustomize` (when kubectl is installed) and every object checked
# against the Kubernetes API schema and field names; deploy/swarm is resolved
# with `docker stack config` (or docker-compose); then both get the checks a
# schema cannot make (tests/deploy/manifests/*.js). deploy/docker-compose.yml,
# interpolated as compose does, must conform to the Compose Specification
# schema that `docker compose` v2 enforces. Broken copies must fail, which
# shows the checks can. Needs node and npm (installed from Debian when
# missing) and the npm registry, or npm's cache, for the pinned validators.
set -euo pipefail

root=$(cd "$(dirname "$0")/../.." && pwd)
work=$(mktemp -d "${TMPDIR:-/tmp}/zjob-manifests.XXXXXX")
trap 'rm -rf "$work"' EXIT
passed=0
failed=0
started=$SECONDS

s_pass() {
    echo "manifests: ok   $*"
    passed=$((passed + 1))
}

s_fail() {
    echo "manifests: FAIL $*"
    failed=$((failed + 1))
}

s_install_node() {
    command -v node >/dev/null && command -v npm >/dev/null && return 0
    echo "manifests: installing nodejs and npm from Debian" >&2
    local sudo=()
    [ "$(id -u)" -eq 0 ] || sudo=(sudo)
    DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get update -qq
    DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -qq \
        --no-install-recommends nodejs npm >/dev/null
}

# Installs the pinned validators (package-lock.json) next to the checks.
s_install_checker() {
    mkdir -p "$work/check"
    cp "$root"/tests/deploy/manifests/{package.json,package-lock.json,*.js} \
        "$work/check/"
    (cd "$work/check" && npm ci --prefer-offline --no-audit --no-fund \
        --ignore-scripts --loglevel=error >"$work/npm.log" 2>&1) || {
        cat "$work/npm.log" >&2
        return 1
    }
}

# A docker client that has `stack config` (it works without an engine).
s_stack_client() {
    local client
    for client in $(type -ap docker) /usr/local/bin/docker /usr/bin/docker; do
        if [ -x "$client" ] &&
            "$client" stack config --help 2>&1 | grep -q -- --compose-file; then
            echo "$client"
            return 0
        fi
    done
    return 1
}

# Writes deploy/k8s as kustomize builds it to $2, from the deploy folder $1;
# without kubectl, the resources its kustomization.yaml lists, as written.
s_render_k8s() {
    local deploy=$1 out=$2
    if [ -n "$kubectl" ]; then
        "$kubectl" kustomize "$deploy/k8s" >"$out"
        return
    fi
    (cd "$work/check" && node resources.js "$deploy/k8s") >"$out"
}

# Writes the Swarm stack as the engine would read it to $2.
s_render_swarm() {
    local deploy=$1 out=$2
    if [ -n "$stack_client" ]; then
        env -u ZJOB_IMAGE "$stack_client" stack config \
            -c "$deploy/swarm/zjob-stack.yml" >"$out"
    elif [ -n "$compose" ]; then
        env -u ZJOB_IMAGE "$compose" -f "$deploy/swarm/zjob-stack.yml" \
            config >"$out"
    else
        cp "$deploy/swarm/zjob-stack.yml" "$out"
    fi
}

# Renders and checks the deploy folder $1 (the repository's or a broken
# copy); extra arguments go to check.js. The output lands in $work/$2.log.
s_validate() {
    local deploy=$1 name=$2
    shift 2
    {
        s_render_k8s "$deploy" "$work/$name.k8s.yaml" &&
            s_render_swarm "$deploy" "$work/$name.stack.yaml" &&
            (cd "$work/check" && node check.js \
                --broker-config "$deploy/broker.yaml" \
                --dockerfile "$deploy/Dockerfile" \
                --kustomize-dir "$deploy/k8s" \
                --k8s "$work/$name.k8s.yaml" \
                --k8s "$deploy/k8s/worker-hpa.yaml" \
                --swarm "$work/$name.stack.yaml" \
                --compose "$deploy/docker-compose.yml" "$@")
    } >"$work/$name.log" 2>&1
}

# Checks only the compose file of the deploy folder $1, which is quicker;
# the output lands in $work/$2.log.
s_validate_compose() {
    local deploy=$1 name=$2
    (cd "$work/check" && node check.js --compose "$deploy/docker-compose.yml") \
        >"$work/$name.log" 2>&1
}

# The line of log $1 that says best why validation failed.
s_first_error() {
    local known='already defined|must be|not allowed|invalid|unknown'
    grep -m1 -E ': FAIL ' "$1" || grep -m1 -iE "$known" "$1" || tail -n1 "$1"
}

# Copies deploy/ and applies the sed script $3 to file $2 in the copy; the
# copy must fail validation (with a log line matching $4, when given).
s_expect_broken() {
    local what=$1 file=$2 script=$3 want=${4:-}
    local name="broken$((passed + failed))"
    local copy="$work/$name" validate=s_validate
    [ "$file" = docker-compose.yml ] && validate=s_validate_compose
    cp -RL "$root/deploy" "$copy"
    sed -i -e "$script" "$copy/$file"
    if cmp -s "$root/deploy/$file" "$copy/$file"; then
        s_fail "broken copy '$what': the edit changed nothing"
    elif "$validate" "$copy" "$name"; then
        s_fail "broken copy '$what' was accepted"
    elif [ -n "$want" ] && ! grep -qE "$want" "$work/$name.log"; then
        s_fail "broken copy '$what' failed, but not with '$want':" \
            "$(s_first_error "$work/$name.log")"
    else
        s_pass "rejects a broken copy, $what:" \
            "$(s_first_error "$work/$name.log")"
    fi
}

s_install_node
echo "manifests: node $(node --version), npm $(npm --version)"
if s_install_checker; then
    s_pass "npm ci: $(cd "$work/check" && node -p '
        ["kubernetes-models", "typescript", "yaml", "ajv", "dclint"].map((p) =>
          p + "@" + require(p + "/package.json").version).join(", ")')"
else
    s_fail "npm ci could not install the validators"
    echo "manifests: $passed passed, $failed failed"
    exit 1
fi

kubectl=
if command -v kubectl >/dev/null && kubectl kustomize "$root/deploy/k8s" \
    >/dev/null 2>&1; then
    kubectl=$(command -v kubectl)
    s_pass "kubectl kustomize deploy/k8s builds" \
        "($(kubectl version --client 2>/dev/null | head -n1))"
else
    echo "manifests: note: no working kubectl; checking the resources" \
        "kustomization.yaml lists as written (no kustomize build)"
fi
stack_client=$(s_stack_client || true)
compose=$(command -v docker-compose || true)
if [ -n "$stack_client" ]; then
    echo "manifests: the stack is resolved by $stack_client stack config"
elif [ -n "$compose" ]; then
    echo "manifests: note: no docker with 'stack config';" \
        "using docker-compose config"
else
    echo "manifests: note: neither docker stack config nor docker-compose;" \
        "the stack's schema is not checked"
fi

# The compose file as docker-compose 1.29 resolves it, with no variable set,
# which the checks compare with their own interpolation.
compose_config=()
if [ -n "$compose" ]; then
    if env -i PATH="$PATH" "$compose" -f "$root/deploy/docker-compose.yml" \
        config >"$work/compose-config.yaml" 2>"$work/compose-config.err"; then
        compose_config=(--compose-config "$work/compose-config.yaml")
    else
        s_fail "docker-compose config: $(tail -n1 "$work/compose-config.err")"
    fi
fi

# The manifests as committed, with the self-test of every check.
if s_validate "$root/deploy" good --self-test "${compose_config[@]}"; then
    s_pass "deploy/k8s, deploy/swarm and deploy/docker-compose.yml pass" \
        "every check"
else
    s_fail "deploy/k8s, deploy/swarm or deploy/docker-compose.yml fails a check"
fi
cat "$work/good.log"
counts=$(sed -n 's/^checks: \([0-9]*\) passed, \([0-9]*\) failed$/\1 \2/p' \
    "$work/good.log")
if [ -n "$counts" ]; then
    passed=$((passed + ${counts% *}))
    failed=$((failed + ${counts#* }))
fi

# The image override an operator uses: an overlay's images: entry.
if [ -n "$kubectl" ]; then
    mkdir -p "$work/overlay"
    cp -RL "$root/deploy/k8s" "$work/base"
    cat >"$work/overlay/kustomization.yaml" <<'EOF'
apiVersion: kustomize.config.k8s.io/v1beta1
kind: Kustomization
resources:
  - ../base
images:
  - name: zjob
    newName: registry.example/zjob
    newTag: "1.2"
EOF
    images=$("$kubectl" kustomize "$work/overlay" |
        sed -n 's/^ *image: *//p' | sort | uniq -c | tr -s ' ')
    if [ "$images" = " 2 registry.example/zjob:1.2" ]; then
        s_pass "an overlay's images: entry renames both containers' image"
    else
        s_fail "image override: got '$images'"
    fi
fi

# Whole-pipeline broken copies: a typo, a broken reference, a schema error.
s_expect_broken "misspelt field in the worker pod" k8s/worker-deployment.yaml \
    's/terminationGracePeriodSeconds:/terminationGracePeriodSecond:/'
s_expect_broken "worker stop grace below ZJOB_GRACE" \
    k8s/worker-deployment.yaml \
    's/terminationGracePeriodSeconds: 30/terminationGracePeriodSeconds: 15/'
s_expect_broken "Service targets an undeclared port" k8s/broker-services.yaml \
    '0,/targetPort: worker/s//targetPort: workers/'
s_expect_broken "images entry that matches no container" \
    k8s/kustomization.yaml 's/^  - name: zjob$/  - name: zjob-broker/'
s_expect_broken "duplicate key in the StatefulSet" k8s/broker-statefulset.yaml \
    's/^  replicas: 1.*/&\n  replicas: 2/'
s_expect_broken "broker config moves the workers port" broker.yaml \
    's/5571/5572/'
s_expect_broken "stack: worker without stop grace" swarm/zjob-stack.yml \
    '/# Longer than ZJOB_GRACE/{n;d}'
if [ -n "$stack_client$compose" ]; then
    s_expect_broken "stack: replicas is not a number" swarm/zjob-stack.yml \
        's/replicas: 3/replicas: three/'
    s_expect_broken "stack: misspelt key" swarm/zjob-stack.yml \
        's/update_config:/update_configs:/'
fi
schema_fail='FAIL compose: conforms to the Compose'
s_expect_broken "compose: misspelt stop_grace_periode" docker-compose.yml \
    '0,/stop_grace_period:/s//stop_grace_periode:/' "$schema_fail"
s_expect_broken "compose: depends_on condition service_happy" \
    docker-compose.yml 's/: service_healthy/: service_happy/' "$schema_fail"
s_expect_broken "compose: ports as a number" docker-compose.yml \
    '/^    ports:$/,/:5580"$/c\    ports: 5570' "$schema_fail"

# The stack deployed for real on a one-node swarm (about 70 s); set
# ZJOB_SWARM_RUN=0 to leave it out.
if [ "${ZJOB_SWARM_RUN:-1}" = 1 ]; then
    if bash "$root/tests/deploy/manifests/swarm_run.sh"; then
        s_pass "the stack runs jobs on a one-node swarm"
    else
        s_fail "the stack on a one-node swarm"
    fi
fi

echo "manifests: took $((SECONDS - started)) s"
echo "manifests: $passed passed, $failed failed"
[ "$failed" -eq 0 ]

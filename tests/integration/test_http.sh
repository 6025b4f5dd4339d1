# The broker's HTTP side against the real broker and a worker: /healthz,
# /metrics (checked as Prometheus text), the JSON API against the command
# line's JSON, the dashboard, 404/405, start-up errors, and bad HTTP input
# (oversize requests, garbage, half-open, slow and vanishing clients, more
# connections than the limit) that must not stop the broker.
source "$(dirname "$0")/lib.sh"

CURL=(curl -sS --max-time 10)

# expect_rc CODE COMMAND...: runs COMMAND (bounded by timeout) and fails
# unless it exits with CODE; its stderr is left in $TEST_DIR/err.
expect_rc() {
    local want=$1 rc=0
    shift
    timeout 30 "$@" >"$TEST_DIR/out" 2>"$TEST_DIR/err" || rc=$?
    [ "$rc" = "$want" ] ||
        fail "'$*' exited $rc, want $want: $(head -c 300 "$TEST_DIR/err")"
}

# status PATH [CURL ARG...]: the HTTP status code of one request.
status() {
    local path=$1
    shift
    "${CURL[@]}" -o /dev/null -w '%{http_code}' "$@" "$URL$path" || true
}

# wait_for PATH PATTERN: waits up to 10 s until the body of PATH has a
# line matching the extended regex PATTERN. (The body is read whole first:
# grep -q in a pipe would cut curl short, and pipefail would say no.)
wait_for() {
    local body=
    for _ in $(seq 100); do
        body=$("${CURL[@]}" "$URL$1" 2>/dev/null || true)
        grep -qE "$2" <<<"$body" && return 0
        sleep 0.1
    done
    fail "$1 never showed '$2'; last: $(head -c 2000 <<<"$body")"
}

# check_exposition < TEXT: fails (printing the line) unless TEXT is valid
# Prometheus text format: HELP/TYPE comments, a TYPE before the samples
# of a name, "name{label="value",...} number" samples, no series twice.
check_exposition() {
    awk '
    /^# HELP [a-zA-Z_:][a-zA-Z0-9_:]* ./ { next }
    /^# TYPE [a-zA-Z_:][a-zA-Z0-9_:]* (counter|gauge)$/ {
        typed[$3] = 1
        next
    }
    /^#/ { print "bad comment: " $0; bad = 1; next }
    {
        label = "[a-zA-Z_][a-zA-Z0-9_]*=\"([^\"\\\\]|\\\\.)*\""
        sample = "^[a-zA-Z_:][a-zA-Z0-9_:]*(\\{" label "(," label ")*\\})? " \
                 "-?[0-9]+(\\.[0-9]+)?$"
        if ($0 !~ sample) { print "bad sample: " $0; bad = 1 }
        name = $0
        sub(/[{ ].*/, "", name)
        if (!(name in typed)) { print "no TYPE before: " $0; bad = 1 }
        series = $0
        sub(/ [^ ]*$/, "", series)
        if (series in seen) { print "duplicate series: " $0; bad = 1 }
        seen[series] = 1
        samples++
    }
    END { if (!samples) { print "no samples" }; exit bad || !samples }'
}

# The checker itself must be able to say no.
printf '# TYPE a gauge\na{q="x} 1\n' | check_exposition >/dev/null &&
    fail "check_exposition took an unclosed label"
printf 'b 1\n' | check_exposition >/dev/null &&
    fail "check_exposition took a sample without TYPE"
printf '# TYPE c gauge\nc{q="a\\"b"} 2\n' | check_exposition >/dev/null ||
    fail "check_exposition refused an escaped quote"

# ---- start-up errors: bad syntax is a usage error, a taken port is 1 ----
for bad in 127.0.0.1:70000 nonsense 127.0.0.1: ::1:80 '[::1' host.example:80 \
    '127.0.0.1:-1' '127.0.0.1: 80' ''; do
    expect_rc 2 "$BIN/zjob-broker" --clients 'tcp://127.0.0.1:*' \
        --workers 'tcp://127.0.0.1:*' --http "$bad"
    grep -q "http" "$TEST_DIR/err" || fail "--http '$bad': $(cat "$TEST_DIR/err")"
done
pass "bad --http values exit 2"

start_broker --http 127.0.0.1:0
HTTP=$(awk '$1 == "http" {print $2}' "$TEST_DIR/endpoints")
[ -n "$HTTP" ] || fail "no http line in $(cat "$TEST_DIR/endpoints")"
URL="http://$HTTP"
HOST=${HTTP%:*}
PORT=${HTTP##*:}
grep -q "event=http_started address=$HTTP" "$TEST_DIR/broker.log" ||
    fail "no http_started line for $HTTP"
grep -q "insecure_bind role=http" "$TEST_DIR/broker.log" &&
    fail "a loopback HTTP address was called insecure"

expect_rc 1 "$BIN/zjob-broker" --clients 'tcp://127.0.0.1:*' \
    --workers 'tcp://127.0.0.1:*' --http "$HTTP"
grep -q "http_bind_failed address=$HTTP" "$TEST_DIR/err" ||
    fail "port in use not named: $(cat "$TEST_DIR/err")"
pass "a taken HTTP port exits 1 and names the address"

# ---- health, jobs, metrics ----
wait_for /healthz '^ok$'
[ "$(status /healthz)" = 200 ] || fail "/healthz is not 200"
# The compose health check speaks HTTP/1.0 through bash, without curl.
health=$(timeout 10 bash -c "exec 3<>/dev/tcp/$HOST/$PORT &&
    printf 'GET /healthz HTTP/1.0\r\n\r\n' >&3 && cat <&3")
grep -q '^HTTP/1.[01] 200 ' <<<"$health" || fail "HTTP/1.0 /healthz: $health"

start_worker w1 --queue echo --queue fail --threads 4
wait_workers 1
seq 1 40 | "$ZJOB" map echo >"$TEST_DIR/map.out" ||
    fail "zjob map failed"
[ "$(wc -l <"$TEST_DIR/map.out")" = 40 ] || fail "map gave $(wc -l <"$TEST_DIR/map.out") lines"
"$ZJOB" submit fail boom --wait >/dev/null 2>&1 &&
    fail "a job on the fail queue succeeded"
ODD='odd "queue" \ <b>&amp;'
"$ZJOB" submit "$ODD" payload >/dev/null || fail "submit to '$ODD'"

wait_for /metrics '^zjob_jobs_succeeded_total 40$'
wait_for /metrics '^zjob_queue_queued\{queue="odd \\"queue\\" \\\\ <b>&amp;"\} 1$'
"${CURL[@]}" -D "$TEST_DIR/metrics.head" "$URL/metrics" >"$TEST_DIR/metrics"
grep -qi '^content-type: text/plain; version=0.0.4; charset=utf-8' \
    "$TEST_DIR/metrics.head" || fail "metrics content type: $(cat "$TEST_DIR/metrics.head")"
for line in 'zjob_jobs_submitted_total 42' 'zjob_jobs_failed_total 1' \
    'zjob_queue_succeeded_total{queue="echo"} 40' \
    'zjob_queue_failed_total{queue="fail"} 1' \
    'zjob_queue_workers{queue="echo"} 1' 'zjob_workers 1' \
    'zjob_worker_slots 4' 'zjob_worker_slots_busy 0' 'zjob_jobs_queued 1' \
    'zjob_build_info{version="0.1.0"} 1'; do
    grep -qxF "$line" "$TEST_DIR/metrics" || fail "/metrics lacks '$line'"
done
grep -q '^zjob_journal_bytes' "$TEST_DIR/metrics" &&
    fail "journal series without a journal"
check_exposition <"$TEST_DIR/metrics" || fail "/metrics is not valid exposition"
pass "/metrics counts the jobs and parses as exposition"

# ---- JSON: the command line's vocabulary and numbers ----
queues=$("${CURL[@]}" "$URL/api/queues")
[ "$(jq '.[] | select(.name == "echo") | .succeeded' <<<"$queues")" = 40 ] ||
    fail "/api/queues echo: $queues"
[ "$(jq '.[] | select(.name == "echo") | .workers' <<<"$queues")" = 1 ] ||
    fail "/api/queues echo workers: $queues"
[ "$(jq --arg q "$ODD" '.[] | select(.name == $q) | .queued' <<<"$queues")" = 1 ] ||
    fail "/api/queues odd queue: $queues"
[ "$(jq -c 'sort_by(.name)' <<<"$queues")" = \
    "$("$ZJOB" queues --json | jq -c 'sort_by(.name)')" ] ||
    fail "/api/queues differs from zjob queues --json"
stats=$("${CURL[@]}" "$URL/api/stats")
[ "$(jq .succeeded <<<"$stats")" = 40 ] || fail "/api/stats: $stats"
[ "$(jq -c keys_unsorted <<<"$stats")" = \
    "$("$ZJOB" stats --json | jq -c keys_unsorted)" ] ||
    fail "/api/stats keys differ from zjob stats --json"
workers=$("${CURL[@]}" "$URL/api/workers")
[ "$(jq -r '.[0].name, .[0].capacity, (.[0].queues | sort | join(","))' \
    <<<"$workers" | paste -sd' ')" = "w1 4 echo,fail" ] ||
    fail "/api/workers: $workers"
grep -qi '^content-type: application/json' \
    <<<"$("${CURL[@]}" -D - -o /dev/null "$URL/api/queues")" ||
    fail "JSON content type"
pass "/api/stats, /api/queues, /api/workers match the command line"

# ---- page, methods, unknown paths ----
"${CURL[@]}" "$URL/" >"$TEST_DIR/page.html"
grep -q '<script>' "$TEST_DIR/page.html" || fail "no dashboard at /"
grep -qiE '(src|href)=' "$TEST_DIR/page.html" &&
    fail "the dashboard loads something from elsewhere"
[ "$(status /nope)" = 404 ] || fail "/nope is not 404"
[ "$(status /metrics/x)" = 404 ] || fail "/metrics/x is not 404"
[ "$(status /metrics -X POST -d x=1)" = 405 ] || fail "POST is not 405"
[ "$(status /healthz -X DELETE)" = 405 ] || fail "DELETE is not 405"
grep -qi '^allow: GET, HEAD' \
    <<<"$("${CURL[@]}" -D - -o /dev/null -X PUT "$URL/")" ||
    fail "405 without Allow"
[ "$("${CURL[@]}" -I "$URL/metrics" | head -n1 | tr -d '\r')" = \
    "HTTP/1.1 200 OK" ] || fail "HEAD /metrics"
head_reply=$(timeout 10 bash -c "exec 3<>/dev/tcp/$HOST/$PORT &&
    printf 'HEAD /metrics HTTP/1.0\r\n\r\n' >&3 && cat <&3")
grep -qi '^content-length: [1-9]' <<<"$head_reply" ||
    fail "HEAD without the length of the body: $head_reply"
[ "$(awk 'body { n++ } /^\r$/ { body = 1 } END { print n + 0 }' \
    <<<"$head_reply")" = 0 ] || fail "HEAD sent a body"
pass "dashboard, 404, 405 and HEAD"

# ---- bad input ----
# A worker with many long queue names makes /metrics big enough that a
# client can vanish in the middle of it.
many=()
for i in $(seq 300); do
    many+=(--queue "$(printf 'q%04d_%0100d' "$i" 0)=builtin:echo")
done
start_worker wide "${many[@]}" --threads 1
wait_workers 2
wait_for /metrics '^zjob_queues 303$'
size=$("${CURL[@]}" "$URL/metrics" | wc -c)
[ "$size" -gt 200000 ] || fail "/metrics is only $size bytes with 303 queues"

long=$(head -c 60000 /dev/zero | tr '\0' a)
code=$(status "/$long")
[ "$code" = 414 ] || fail "a 60 kB request line got $code, want 414"
code=$(status /healthz -H "X-Big: $long")
[ "$code" = 431 ] || [ "$code" = 413 ] || fail "a 60 kB header got $code"

# Garbage, requests cut short, clients that leave mid-response.
for i in $(seq 20); do
    timeout 5 bash -c "exec 3<>/dev/tcp/$HOST/$PORT &&
        head -c 4096 /dev/urandom >&3" 2>/dev/null || true
    timeout 5 bash -c "exec 3<>/dev/tcp/$HOST/$PORT &&
        printf 'GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n' >&3 &&
        head -c 100 <&3 >/dev/null" 2>/dev/null || true
    printf 'GE' >/dev/tcp/"$HOST"/"$PORT" 2>/dev/null || true
done

# A half-open request and a slow reader stay while others are served.
exec 7<>/dev/tcp/"$HOST"/"$PORT"
printf 'GET /metrics HTTP/1.1\r\nHost: x\r\n' >&7
"${CURL[@]}" --limit-rate 20k -o /dev/null "$URL/metrics" 2>/dev/null &
slow=$!
sleep 0.5
start=$(date +%s%N)
[ "$(status /healthz)" = 200 ] || fail "/healthz beside a half-open request"
took_ms=$((($(date +%s%N) - start) / 1000000))
[ "$took_ms" -lt 2000 ] || fail "/healthz took $took_ms ms beside a slow reader"
"$ZJOB" stats --json | jq -e '.succeeded == 40' >/dev/null ||
    fail "zjob stats beside HTTP trouble"
kill "$slow" 2>/dev/null || true
wait "$slow" 2>/dev/null || true
exec 7>&-

# More connections than the limit: the broker's ZeroMQ side does not care,
# and HTTP answers again once they are gone.
fds=()
for i in $(seq 80); do
    exec {fd}<>/dev/tcp/"$HOST"/"$PORT" || break
    fds+=("$fd")
done
"$ZJOB" stats --json | jq -e '.succeeded == 40' >/dev/null ||
    fail "zjob stats while HTTP is full"
# They all come from one address: a health check from another (here
# 127.0.0.2, on loopback too) still finds a free slot.
if [ "$HOST" = 127.0.0.1 ]; then
    code=$(status /healthz --max-time 3 --interface 127.0.0.2)
    [ "$code" = 200 ] ||
        fail "/healthz from another address got '$code' while one held 80"
fi
for fd in "${fds[@]}"; do
    exec {fd}>&-
done
wait_for /healthz '^ok$'
[ "$(seq 1 20 | "$ZJOB" map echo | wc -l)" = 20 ] ||
    fail "jobs after HTTP abuse"
wait_for /metrics '^zjob_jobs_succeeded_total 60$'
kill -0 "$BROKER_PID" || fail "the broker died"
pass "bad HTTP input leaves the broker serving (/metrics $size bytes)"

# ---- stop: SIGTERM stops the server cleanly ----
kill -TERM "$BROKER_PID"
for _ in $(seq 100); do
    kill -0 "$BROKER_PID" 2>/dev/null || break
    sleep 0.1
done
kill -0 "$BROKER_PID" 2>/dev/null && fail "the broker did not stop on SIGTERM"
rc=0
wait "$BROKER_PID" || rc=$?
[ "$rc" = 0 ] || fail "the broker exited $rc on SIGTERM"
[ "$(status /healthz 2>/dev/null)" = 000 ] ||
    fail "HTTP still answers after the stop"
pass "SIGTERM stops HTTP and the broker with 0"

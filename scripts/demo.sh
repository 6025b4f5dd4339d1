#!/usr/bin/env bash
# The quick start: installs what is missing, builds zjob, starts a broker
# and two workers on loopback, and runs real work through them: the sha256
# of every file under a folder (default /usr/share/common-licenses) with the
# sha256 builtin, and a word count of the same files through an exec queue.
# Everything it starts is stopped again, by pid, when it ends.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
folder=${1:-/usr/share/common-licenses}
"$root/scripts/deps.sh"
"$root/scripts/build.sh" "$root/build/release" >/dev/null
bin="$root/build/release/bin"
work=$(mktemp -d "${TMPDIR:-/tmp}/zjob-demo.XXXXXX")
pids=()

stop_all() {
    for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
    for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
    rm -rf "$work"
}
trap stop_all EXIT

"$bin/zjob-broker" --clients 'tcp://127.0.0.1:*' --workers 'tcp://127.0.0.1:*' \
    --endpoints-file "$work/endpoints" --journal "$work/journal" \
    2>"$work/broker.log" &
pids+=($!)
for _ in $(seq 100); do [ -s "$work/endpoints" ] && break; sleep 0.1; done
export ZJOB_BROKER=$(awk '$1 == "clients" {print $2}' "$work/endpoints")
workers=$(awk '$1 == "workers" {print $2}' "$work/endpoints")
for name in worker-1 worker-2; do
    "$bin/zjob-worker" --broker "$workers" --name "$name" --threads 2 \
        --queue sha256 --queue "wc=exec:wc -w" 2>"$work/$name.log" &
    pids+=($!)
done
for _ in $(seq 100); do
    [ "$("$bin/zjob" workers --json | jq length)" = 2 ] && break
    sleep 0.1
done

find "$folder" -type f | sort >"$work/files"
echo "== workers"
"$bin/zjob" workers
echo "== sha256 of $(wc -l <"$work/files") files under $folder (zjob map)"
"$bin/zjob" map --files sha256 "$work/files" >"$work/sums"
paste -d' ' "$work/sums" "$work/files" | sed 's/ /  /'
echo "== words per file (exec queue running wc -w)"
"$bin/zjob" map --files wc "$work/files" >"$work/words"
paste "$work/words" "$work/files" | awk '{printf "%8d  %s\n", $1, $2}'
echo "== check: zjob's sha256 against coreutils' sha256sum"
if paste -d' ' "$work/sums" "$work/files" | sed 's/ /  /' |
    sha256sum --check --quiet; then
    echo "all $(wc -l <"$work/files") digests match"
fi
echo "== broker stats"
"$bin/zjob" stats

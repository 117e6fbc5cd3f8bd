#!/usr/bin/env bash
# Your own executor, end to end, against a running `verity serve`: start a remote worker that loads
# executors.js, run a workflow whose middle step names acme/word-stats, and verify its receipt offline
# at level full with the coordinator's public key alone.
#
#   VERITY_SERVER=http://127.0.0.1:8080 VERITY_ADMIN_KEY=$(cat .verity/admin.key) examples/own-executor/walkthrough.sh
#
# Files land in VERITY_EXAMPLE_DIR (default: a new temporary directory): the worker's keys, the bundle,
# the trusted key.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
: "${VERITY_SERVER:?set VERITY_SERVER to the server URL, e.g. http://127.0.0.1:8080}"
: "${VERITY_ADMIN_KEY:?set VERITY_ADMIN_KEY to an admin API key (verity serve writes one to <data-dir>/admin.key)}"
work=${VERITY_EXAMPLE_DIR:-$(mktemp -d)}
mkdir -p "$work"
suffix=${RUN_SUFFIX:-$$}

# The CLI on PATH, or this checkout's.
if command -v verity >/dev/null 2>&1; then VERITY=(verity); else VERITY=(node "$repo/bin/verity.js"); fi
as() { local key=$1; shift; VERITY_API_KEY=$key "${VERITY[@]}" "$@" --server "$VERITY_SERVER"; }
step() { printf '\n== %s\n' "$*"; }

step "keys: a worker (words-$suffix) and a publisher (me-$suffix)"
worker_key=$(as "$VERITY_ADMIN_KEY" keys create --role worker --name "words-$suffix")
publisher_key=$(as "$VERITY_ADMIN_KEY" keys create --role publisher --name "me-$suffix")

step "a remote worker with our executors (its signing key lands in $work/worker/keys)"
"${VERITY[@]}" worker --server "$VERITY_SERVER" --key "$worker_key" --executors "$here/executors.js" \
  --capabilities acme/word-stats,acme/slow-echo --data-dir "$work/worker" --name "words-$suffix" \
  2>"$work/worker.log" &
worker_pid=$!
trap 'kill -TERM $worker_pid 2>/dev/null || true' EXIT
for _ in $(seq 1 100); do grep -q 'serving' "$work/worker.log" && break; sleep 0.1; done
cat "$work/worker.log"

step "run the workflow: clean (built-in JSONata), stats (acme/word-stats, our worker), report (JSONata)"
sed "s/^id: word-report$/id: word-report-$suffix/" "$here/workflow.yaml" >"$work/workflow.yaml"
as "$publisher_key" run "$work/workflow.yaml" --input @"$here/input.json" --json >"$work/run.json"
jq -r '"status \(.status)", "result \(.result.report)"' "$work/run.json"
execution=$(jq -r .executionId "$work/run.json")
[ "$(jq -r .status "$work/run.json")" = completed ] || { echo "the run did not complete" >&2; exit 1; }

step "fetch the receipt with its data and verify it offline at level full"
as "$publisher_key" keys show >"$work/coordinator.pem"
as "$publisher_key" receipt "$execution" --include-data -o "$work/bundle.json"
"${VERITY[@]}" verify "$work/bundle.json" --trust "$work/coordinator.pem" --level full

step "what the worker signed for the stats step"
jq -r '.attestations[] | .payload' "$work/bundle.json" | while read -r payload; do
  echo "$payload" | base64 -d | jq -c 'select(.predicate.stepId == "stats") | .predicate | {executor, model, cost, usage, workerKeyId}'
done

kill -TERM $worker_pid
wait $worker_pid || true
trap - EXIT
echo "worker stopped"

#!/usr/bin/env bash
# The marketplace, end to end, against a running `verity serve` (with in-process workers): a publisher lists
# the document-intelligence agent, an admin credits a buyer, the buyer runs it through the listing, and the
# buyer checks the receipt and its settlement offline with the coordinator's public key alone.
#
#   VERITY_SERVER=http://127.0.0.1:8080 VERITY_ADMIN_KEY=$(cat .verity/admin.key) examples/marketplace/walkthrough.sh
#
# Amounts are integer micro-units (1 unit = 1000000). Files land in VERITY_EXAMPLE_DIR (default: a new
# temporary directory): the bundle, the trusted key, the verification report.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
: "${VERITY_SERVER:?set VERITY_SERVER to the server URL, e.g. http://127.0.0.1:8080}"
: "${VERITY_ADMIN_KEY:?set VERITY_ADMIN_KEY to an admin API key (verity serve writes one to <data-dir>/admin.key)}"
work=${VERITY_EXAMPLE_DIR:-$(mktemp -d)}
mkdir -p "$work"
price=${PRICE:-250000}
suffix=${RUN_SUFFIX:-$$}
publisher="docs-co-$suffix"
buyer="buyer-$suffix"

# The CLI on PATH, or this checkout's.
if command -v verity >/dev/null 2>&1; then VERITY=(verity); else VERITY=(node "$repo/bin/verity.js"); fi
as() { local key=$1; shift; VERITY_API_KEY=$key "${VERITY[@]}" "$@" --server "$VERITY_SERVER"; }
step() { printf '\n== %s\n' "$*"; }

step "keys: a publisher ($publisher) and a buyer ($buyer)"
publisher_key=$(as "$VERITY_ADMIN_KEY" keys create --role publisher --name "$publisher")
buyer_key=$(as "$VERITY_ADMIN_KEY" keys create --role client --name "$buyer")

step "the publisher publishes the agent and lists it at $price micro-units per completed run"
# Workflow ids are owned by whoever publishes them first, so each walkthrough publishes its own copy.
sed "s/^id: document-intelligence$/id: document-intelligence-$suffix/" \
  "$repo/examples/document-intelligence/workflow.yaml" >"$work/workflow.yaml"
curl -fsS -X POST "$VERITY_SERVER/v1/workflows" -H "authorization: Bearer $publisher_key" \
  -H 'content-type: application/yaml' --data-binary @"$work/workflow.yaml" >/dev/null
listing=$(as "$publisher_key" market publish "document-intelligence-$suffix" --title 'Invoice reader' \
  --tag ocr --price "$price" --public --json | jq -r .id)
echo "listing $listing"

step "an admin credits the buyer 1000000 (one unit)"
as "$VERITY_ADMIN_KEY" ledger credit "$buyer" 1000000 >/dev/null
as "$VERITY_ADMIN_KEY" ledger balance --principal "$buyer"

step "the buyer runs it through the listing (the price is held until the receipt settles it)"
jq '{inputs: .}' "$repo/examples/document-intelligence/input.json" >"$work/request.json"
execution=$(curl -fsS -X POST "$VERITY_SERVER/v1/market/listings/$listing/execute" \
  -H "authorization: Bearer $buyer_key" -H 'content-type: application/json' \
  -H "idempotency-key: walkthrough-$suffix" --data-binary @"$work/request.json" | jq -r .executionId)
echo "execution $execution"
for _ in $(seq 1 600); do
  status=$(as "$buyer_key" status "$execution" --json | jq -r .status)
  case $status in completed | failed | cancelled | timed_out | over_budget) break ;; esac
  sleep 0.5
done
echo "status $status"
[ "$status" = completed ] || { echo "the run did not complete" >&2; exit 1; }

step "the buyer fetches the bundle (receipt + settlement) and verifies it offline"
as "$buyer_key" receipt "$execution" -o "$work/bundle.json"
as "$buyer_key" keys show >"$work/coordinator.txt"
# `keys show` prints the PEM and its keyid; a verifier trusts the PEM.
sed -n '/-----BEGIN PUBLIC KEY-----/,/-----END PUBLIC KEY-----/p' "$work/coordinator.txt" >"$work/coordinator.pem"
"${VERITY[@]}" verify "$work/bundle.json" --trust "$work/coordinator.pem" --json >"$work/report.json"
jq -r '.checks[] | select(.name | startswith("settlement.")) | "\(.name): \(.message)"' "$work/report.json"
jq -e .ok "$work/report.json" >/dev/null || { echo "the bundle does not verify" >&2; exit 1; }
echo "verified: the charge is recomputed from the receipt's attested costs and the listing's terms"

step "balances: the buyer paid the price, the publisher got the price less the fee and the compute"
as "$VERITY_ADMIN_KEY" ledger balance --principal "$buyer"
as "$VERITY_ADMIN_KEY" ledger balance --principal "$publisher"
as "$VERITY_ADMIN_KEY" ledger balance --principal sys:platform
echo "files in $work"

#!/usr/bin/env bash
# asom quickstart on the embedded default store, in a fresh temporary directory:
#  1. a store, a tenant, its log key and a first admin token;
#  2. a product, its people and machines;
#  3. a change, a release and its one CRQ;
#  4. G2, the release candidate gate, passes;
#  5. evidence: an agent is refused, the CI machine records what CI proved;
#  6. G3, promote to QA, blocks: access-control (T4) and data-quality (T3)
#     evidence and a QA approval are missing, each with its fix;
#  7. after remediation, the author approving her own release still blocks (C-02);
#  8. a new approval round with a non-author's approval: G3 passes;
#  9. every decision replays byte for byte;
# 10. receipts verify offline with only the verifier key; the whole log verifies;
# 11. one flipped byte in the database file is detected and located.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release --locked -q -p asom
bin="$PWD/target/release/asom"
asom() { "$bin" "$@"; }
work=$(mktemp -d "${TMPDIR:-/tmp}/asom-quickstart.XXXXXX")
trap 'rm -rf "$work"' EXIT
export ASOM_DIR="$work/.asom"
step() { printf '\n== %s\n' "$*"; }
json() { python3 -c 'import json,sys; print(json.load(sys.stdin)[sys.argv[1]])' "$1"; }
as() { local who=$1; shift; ASOM_TOKEN="${tokens[$who]}" asom "$@"; }
declare -A tokens

step "1. asom init: a store, a tenant, its Ed25519 log key, and a first admin token"
tokens[admin]=$(asom init --format json | tee "$work/init.json" | json admin_token)
echo "  verifier key: $(json verifier_key < "$work/init.json")"

step "2. a product, its people and machines (as admin)"
as admin product create sales-transactions --team data-eng --classification confidential --change-type incremental-change
as admin principal create alice --kind human --role developer --role release-approver
as admin principal create bob --kind human --role release-approver
as admin principal create ci-bot --kind machine
as admin principal create dev-bot --kind agent --agent-kind dev
as admin identity alias "Alice <alice@corp.example>" --person alice
for who in alice bob ci-bot dev-bot; do
  tokens[$who]=$(as admin token create "$who" --format json | json token)
done

step "3. a change by Alice, a release and its one CRQ"
commit=4b825dc642cb6eb9a060e54bf8d69288fbee4904
as ci-bot change record --product sales-transactions --commit $commit \
  --author "Alice <alice@corp.example>" --jira SALES-101 --summary "MERGE into sales_transactions"
as alice release create sales-transactions@1.4.0
as alice release scope sales-transactions@1.4.0 --jira SALES-101 --commit $commit
as alice crq create --release sales-transactions@1.4.0

step "4. the release candidate gate (G2): scope and exactly one CRQ"
as ci-bot gate check G2 --release sales-transactions@1.4.0

step "5. evidence: an agent may not record it; the CI machine records what CI proved"
if as dev-bot evidence record --release sales-transactions@1.4.0 --control C-06 --category T3 \
    --commit $commit --build 812 --environment qa --status pass --sha256 "$(printf x | sha256sum | cut -c1-64)" \
    --source-ref s3://evidence/dq.json --source-type dq-report; then
  echo "an agent recorded evidence: that must never happen" >&2; exit 1
else echo "  (refused, exit $?)"; fi
record() {  # record <control> <category or -> <source-type>: a passing result with its artifact
  local control=$1 category=$2 source=$3 file="$work/$1-$2.json" flags=()
  printf '{"control":"%s","category":"%s","result":"pass"}\n' "$control" "$category" > "$file"
  [ "$category" = - ] || flags=(--category "$category")
  as ci-bot evidence record --release sales-transactions@1.4.0 --control "$control" "${flags[@]}" \
    --commit $commit --build 812 --environment qa --status pass --file "$file" --source-type "$source" | head -1
}
cat > "$work/junit.xml" <<'XML'
<testsuite name="logic" tests="3" failures="0"><testcase name="merge_keys"/><testcase name="late_rows"/><testcase name="dedup"/></testsuite>
XML
as ci-bot evidence record --junit "$work/junit.xml" --release sales-transactions@1.4.0 \
  --control C-03 --category T1 --commit $commit --build 812 --environment qa | head -1
record C-03 T2 contract-test
record C-04 T5 idempotency-test
record C-07 - build-provenance
record C-08 T6 incremental-test
record C-10 T7 performance-baseline
record C-03 - qa-execution-report

step "6. promote to QA (G3): it blocks, and says what is missing and how to fix it"
as alice crq transition CRQ0000001 assess >/dev/null
as alice crq transition CRQ0000001 authorize >/dev/null
if as ci-bot gate check G3 --release sales-transactions@1.4.0; then
  echo "G3 passed without access-control and data-quality evidence" >&2; exit 1
else echo "  (blocked, exit $?)"; fi

step "7. remediate: T4 and T3 evidence; Alice approves her own release, and G3 still blocks"
record C-05 T4 rbac-export
record C-06 T3 dq-report
as alice crq approve CRQ0000001 --stage qa | tail -1
if as ci-bot gate check G3 --release sales-transactions@1.4.0; then
  echo "G3 passed on the author's own approval" >&2; exit 1
else echo "  (blocked by separation of duties, exit $?)"; fi

step "8. the CRQ is sent back for a new approval round, Bob (not an author) approves: G3 passes"
as bob crq transition CRQ0000001 assess | head -1
as bob crq transition CRQ0000001 authorize | head -1
as bob crq approve CRQ0000001 --stage qa | head -1
as ci-bot gate check G3 --release sales-transactions@1.4.0
as admin release show sales-transactions@1.4.0 | sed -n '1,3p'

step "9. every decision replays byte for byte from the ledger"
size=$(asom ledger checkpoint --format json | json size)
for index in $(seq 0 $((size - 1))); do
  if [ "$(asom ledger get "$index" --format json | json kind)" = decision ]; then asom gate replay "$index"; fi
done

step "10. every step is a ledger entry: verify a receipt offline, then the whole log"
as admin ledger proof 1 > "$work/receipt.tlog"
asom ledger get 1 > "$work/entry.json"
asom ledger verify --receipt "$work/receipt.tlog" --entry "$work/entry.json" --key "$(asom ledger pubkey)"
asom ledger verify

step "11. flip one byte of an entry inside the SQLite file: verification fails and names it"
python3 - "$ASOM_DIR/asom.db" <<'PY'
import sqlite3, sys
db = sys.argv[1]
sqlite3.connect(db).execute("PRAGMA wal_checkpoint(TRUNCATE)").close()
data = bytearray(open(db, "rb").read())
at = data.find(b'"summary":"MERGE into')
data[at + 11] ^= 0x20  # "MERGE" -> "mERGE"
open(db, "wb").write(data)
PY
if asom ledger verify; then echo "tampering was NOT detected" >&2; exit 1; else echo "  (exit $? as expected)"; fi
step "done: docs/ledger.md and docs/governance.md explain each step"

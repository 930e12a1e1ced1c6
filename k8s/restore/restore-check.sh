#!/usr/bin/env bash
# The restore check an operator runs (docs/runbook.md "Restore"), the same as the CI rehearsal
# (tests/e2e/dati.rs): every context's database dumped from SOURCE with pg_dump -Fc, restored
# with pg_restore into FRESH databases on SCRATCH, the platform started on those copies without
# migrating (`occasionali dev`, database.migrate_on_start=false: the schema must already be at
# this binary's version), then through the real API the ledger must be balanced (POR-1,
# "bilanciato": true) and the relay's backlog must drain. The copies are dropped at the end.
#
#   k8s/restore/restore-check.sh SOURCE SCRATCH
#
#   SOURCE   server URL without database holding occasionali_<context>, e.g. the PITR cluster
#            through `kubectl -n occasionali port-forward svc/occasionali-pg-pitr-rw 15432:5432`:
#            postgres://occasionali:PASSWORD@127.0.0.1:15432
#   SCRATCH  server URL without database where databases may be created and dropped (a
#            scratch server, or the same one; never production's primary under load)
#   (no ?parameters in either URL: the script appends /<database>; set PGSSLMODE etc. instead)
#
# Environment: OCCASIONALI_BIN (default `occasionali` on PATH), SOURCE_DB (printf pattern of
# the source databases' names, default occasionali_%s), PORT_BASE (the checking cluster's
# ports, default 55051: gateway, then +1..+6 the contexts, +9 the pages), KEEP=1 keeps the
# copies. Needs pg_dump, pg_restore and psql of the server's major version, and grpcurl.
# Exit status 0: restored and balanced. It prints the ledger's total and each copy's size.
set -euo pipefail

if [ $# -ne 2 ]; then
  sed -n '2,22p' "$0" | cut -c3- >&2
  exit 2
fi
SOURCE=${1%/}
SCRATCH=${2%/}
BIN=${OCCASIONALI_BIN:-occasionali}
SOURCE_DB=${SOURCE_DB:-occasionali_%s}
PORT_BASE=${PORT_BASE:-55051}
CONTEXTS="anagrafica portafoglio prestazioni comunicazioni deleghe notifiche"

work=$(mktemp -d)
copies=()
pid=
cleanup() {
  if [ -n "$pid" ]; then kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; fi
  if [ "${KEEP:-}" != 1 ]; then
    for db in "${copies[@]}"; do
      psql -q -X "$SCRATCH/postgres" -c "DROP DATABASE IF EXISTS \"$db\" WITH (FORCE)" >/dev/null || true
    done
  fi
  rm -rf "$work"
}
trap cleanup EXIT

stamp=$(date +%s)
i=0
for c in $CONTEXTS; do
  i=$((i + 1))
  src=$(printf "$SOURCE_DB" "$c")
  copy="restorecheck_${c}_${stamp}_$$"
  echo "== $c: pg_dump $src -> pg_restore $copy"
  pg_dump -Fc --no-owner -d "$SOURCE/$src" -f "$work/$c.dump"
  psql -q -X -v ON_ERROR_STOP=1 "$SCRATCH/postgres" -c "CREATE DATABASE \"$copy\"" >/dev/null
  copies+=("$copy")
  pg_restore --no-owner --exit-on-error -d "$SCRATCH/$copy" "$work/$c.dump"
  upper=$(echo "$c" | tr a-z A-Z)
  export "OCCASIONALI_${upper}_DATABASE_URL=$SCRATCH/$copy"
  export "OCCASIONALI_${upper}_LISTEN=127.0.0.1:$((PORT_BASE + i))"
  unset "OCCASIONALI_${upper}_ENDPOINT"
done

export OCCASIONALI_DATABASE_MIGRATE_ON_START=false
export OCCASIONALI_GATEWAY_LISTEN=127.0.0.1:$PORT_BASE
export OCCASIONALI_NOTIFICHE_WEB_LISTEN=127.0.0.1:$((PORT_BASE + 9))
export OCCASIONALI_DATA_DIR=$work/data # throwaway keys for this check only
unset OCCASIONALI_CONFIG OCCASIONALI_OTLP_ENDPOINT OCCASIONALI_DEV_ISSUER_KEY_FILE \
  OCCASIONALI_INTERNAL_KEY_FILE OCCASIONALI_INTERNAL_TRUST_DIR \
  OCCASIONALI_TLS_CA_FILE OCCASIONALI_TLS_CERT_FILE OCCASIONALI_TLS_KEY_FILE OCCASIONALI_TLS_HEALTH_LISTEN \
  OCCASIONALI_GATEWAY_TLS_CERT_FILE OCCASIONALI_GATEWAY_TLS_KEY_FILE
GW=127.0.0.1:$PORT_BASE

echo "== starting the platform on the copies (schema checked, not migrated)"
"$BIN" dev >"$work/dev.log" 2>&1 &
pid=$!
for _ in $(seq 1 600); do
  if grpcurl -plaintext "$GW" grpc.health.v1.Health/Check 2>/dev/null | grep -q '"SERVING"'; then break; fi
  if ! kill -0 "$pid" 2>/dev/null; then
    echo "FAILED: the platform did not start on the restored databases:" >&2
    tail -20 "$work/dev.log" >&2
    exit 1
  fi
  sleep 0.1
done
grpcurl -plaintext "$GW" grpc.health.v1.Health/Check | grep -q '"SERVING"' || {
  echo "FAILED: not SERVING after 60 s" >&2; tail -20 "$work/dev.log" >&2; exit 1; }

DG=$("$BIN" token --profile operatore_dg --cf DGXOPR70A01H501G)
ledger=$(grpcurl -plaintext -H "authorization: Bearer $DG" -d '{}' "$GW" \
  occasionali.portafoglio.v1.PortafoglioService/GetLedgerBalance)
totale=$(printf '%s' "$ledger" | python3 -c 'import json,sys; print(json.load(sys.stdin).get("totale", "?"))')
if ! printf '%s' "$ledger" | grep -q '"bilanciato": true'; then
  echo "FAILED: the restored ledger is not balanced (POR-1):" >&2
  printf '%s\n' "$ledger" >&2
  exit 1
fi
echo "ledger: bilanciato, totale $totale"

echo "== the relay's backlog on the copies"
for _ in $(seq 1 120); do
  backlog=0
  for db in "${copies[@]}"; do
    n=$(psql -At -X "$SCRATCH/$db" -c \
      "SELECT count(*) FROM outbox WHERE delivered_at_ms IS NULL AND failed_at_ms IS NULL")
    backlog=$((backlog + n))
  done
  [ "$backlog" -eq 0 ] && break
  sleep 0.5
done
if [ "$backlog" -ne 0 ]; then
  echo "FAILED: $backlog outbox messages still undelivered after 60 s" >&2
  exit 1
fi
echo "relay: backlog drained"
for db in "${copies[@]}"; do
  printf '%-50s %s\n' "$db" "$(psql -At -X "$SCRATCH/$db" -c 'SELECT pg_size_pretty(pg_database_size(current_database()))')"
done
echo "RESTORE CHECK OK"

#!/usr/bin/env bash
# t/ops/test_failover.sh — PostgreSQL fails over under load, on existing
# engines only: a primary with a synchronous streaming replica (both in a
# temporary folder), ac-hook given the multi-host conninfo
#   host=A,B port=…,… target_session_attrs=read-write
# and alerts sent through nginx all along. The primary is stopped hard
# (pg_ctl -m immediate) and the replica promoted (pg_ctl promote). Every
# alert answered 2xx must then be stored exactly once on the new primary
# (the spool covers the gap), ac-hook must be back on the database without a
# restart, and a worker running all along on the same conninfo must drain
# the fan-outs there without a restart either.
# Prints: alerts accepted, spooled, lost (must be 0), doubled (must be 0),
# and the seconds from the primary's end until ingest stored alerts again.
set -euo pipefail
# shellcheck source=scripts/stack.sh
. "$ROOT/scripts/stack.sh"

TMP=$(mktemp -d "${TMPDIR:-/tmp}/alertcast-failover.XXXXXX")
chmod 755 "$TMP"
STACK=$TMP/stack
REPLICA=$TMP/replica
PGBIN=${AC_PG_BIN:-/usr/lib/postgresql/15/bin}
as_pg() { if ((EUID == 0)); then runuser -u postgres -- "$@"; else "$@"; fi; }
ok=0
finish() {
	trap - EXIT
	as_pg "$PGBIN/pg_ctl" stop -D "$REPLICA" -m fast >/dev/null 2>&1 || true
	stack_stop "$STACK" >/dev/null 2>&1 || true
	if ((ok)) && [[ ${AC_KEEP:-0} != 1 ]]; then rm -rf "$TMP"; else echo "failover: kept $TMP" >&2; fi
}
trap finish EXIT

AC_PORT=$(stack_free_port)
AC_PG_PORT=$(stack_free_port "$AC_PORT")
AC_REDIS_PORT=$(stack_free_port "$AC_PORT" "$AC_PG_PORT")
REPLICA_PORT=$(stack_free_port "$AC_PORT" "$AC_PG_PORT" "$AC_REDIS_PORT")
export AC_PORT AC_PG_PORT AC_REDIS_PORT AC_STRIPE_FAKE=0 AC_HOOK_PROCS=1
MULTI="host=127.0.0.1,127.0.0.1 port=$AC_PG_PORT,$REPLICA_PORT dbname=alertcast user=alertcast target_session_attrs=read-write"
export AC_RESPONDER_DATABASE_URL=$MULTI
stack_start "$STACK" >"$TMP/stack.log" 2>&1 || { cat "$TMP/stack.log" >&2; exit 1; }
eval "$(stack_env "$STACK")"
psql_on() { psql -h 127.0.0.1 -p "$1" -U postgres -d alertcast -XAtq -v ON_ERROR_STOP=1 -c "$2"; }

# the replica: streaming from the primary, synchronous (a commit waits for
# its WAL on the replica: what the ledger needs, docs/scaling.md)
echo "host replication all 127.0.0.1/32 trust" >>"$STACK/pg/pg_hba.conf"
as_pg "$PGBIN/pg_ctl" reload -D "$STACK/pg" >/dev/null
mkdir -p "$REPLICA" && chmod 700 "$REPLICA"
((EUID == 0)) && chown postgres:postgres "$REPLICA"
as_pg "$PGBIN/pg_basebackup" -h 127.0.0.1 -p "$AC_PG_PORT" -U postgres -D "$REPLICA" -R -X stream -c fast
touch "$TMP/replica.log" && { ((EUID == 0)) && chown postgres "$TMP/replica.log" || true; }
as_pg "$PGBIN/pg_ctl" start -D "$REPLICA" -l "$TMP/replica.log" -w -t 60 -o "-p $REPLICA_PORT" >/dev/null
psql_on "$AC_PG_PORT" "ALTER SYSTEM SET synchronous_standby_names = '*'" >/dev/null
psql_on "$AC_PG_PORT" "SELECT pg_reload_conf()" >/dev/null
for ((i = 0; i < 100; i++)); do
	[[ $(psql_on "$AC_PG_PORT" "SELECT count(*) FROM pg_stat_replication WHERE sync_state = 'sync'") == 1 ]] && break
	sleep 0.1
done
[[ $(psql_on "$AC_PG_PORT" "SELECT sync_state FROM pg_stat_replication") == sync ]] ||
	{ echo "failover: the replica is not synchronous" >&2; exit 1; }

st=$("$BUILD/worker/acctl" strategy add --symbol FAILUSDT --timeframe 1h --strategy "UT Bot" </dev/null)
token=$(jq -r .token <<<"$st")
sid=$(jq -r .id <<<"$st")

# alerts through nginx every 20 ms for 8 s, each price its number: lines
# "price http_status answer_status unix_time"
python3 - "$AC_BASE_URL" "/hook/tv/$token" >"$TMP/sent.txt" <<'PY' &
import http.client, json, sys, time, urllib.parse
base, path = urllib.parse.urlsplit(sys.argv[1]), sys.argv[2]
end = time.time() + 8
i = 0
while time.time() < end:
    i += 1
    price = 1000 + i
    body = json.dumps({"symbol": "FAILUSDT", "timeframe": "60", "action": "buy" if i % 2 else "sell",
                       "price": price, "time": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())})
    try:
        c = http.client.HTTPConnection(base.hostname, base.port, timeout=10)
        c.request("POST", path, body, {"Content-Type": "application/json"})
        r = c.getresponse()
        answer = r.read().decode()
        try:
            state = json.loads(answer).get("status", "-")
        except ValueError:
            state = "-"
        print(price, r.status, state, "%.3f" % time.time(), flush=True)
        c.close()
    except OSError as e:
        print(price, 0, "no-answer", "%.3f" % time.time(), flush=True)
    time.sleep(0.02)
PY
sender=$!
# a worker already running across the failover (as cron's --for 70 is):
# it must reconnect to the new primary on its own
AC_DATABASE_URL=$MULTI "$BUILD/worker/ac-worker" --for 40 >"$TMP/worker.log" 2>&1 &
worker=$!
sleep 2
stack_pg_stop "$STACK" >/dev/null 2>&1
t_stop=$(date +%s.%N)	# the primary is gone
as_pg "$PGBIN/pg_ctl" promote -D "$REPLICA" -w -t 30 >/dev/null
t_promoted=$(date +%s.%N)
wait "$sender"

# what waited in the spool goes in now (ac-hook also replays after answering)
AC_DATABASE_URL=$MULTI "$BUILD/worker/acctl" replay-spool </dev/null >/dev/null
# the running worker drains the fan-outs on the new primary, unrestarted
for ((i = 0; i < 300; i++)); do
	[[ $(psql_on "$REPLICA_PORT" "SELECT count(*) FROM jobs WHERE kind = 'fanout' AND state <> 'done'") == 0 ]] && break
	kill -0 "$worker" 2>/dev/null || break
	sleep 0.1
done
kill -0 "$worker" 2>/dev/null ||
	{ cat "$TMP/worker.log" >&2; echo "failover: the running worker did not survive the failover" >&2; exit 1; }
kill -TERM "$worker"
wait "$worker" || true

psql_on "$REPLICA_PORT" "SELECT price::int, count(*) FROM signals WHERE strategy_id = $sid GROUP BY price" \
	| tr '|' ' ' >"$TMP/stored.txt"
read -r accepted spooled lost doubled back <<<"$(awk -v stop="$t_stop" '
	NR == FNR { n[$1] = $2; next }
	$2 >= 200 && $2 < 300 { acc++; if ($3 == "spooled") sp++
		if (!($1 in n)) lost++; else if (n[$1] > 1) dbl++
		if ($3 == "queued" && $4 > stop && back == "") back = $4 - stop }
	END { printf "%d %d %d %d %s\n", acc, sp, lost, dbl, back == "" ? "never" : sprintf("%.2f", back) }' \
	"$TMP/stored.txt" "$TMP/sent.txt")"
pending=$(psql_on "$REPLICA_PORT" "SELECT count(*) FROM jobs WHERE kind = 'fanout' AND state <> 'done'")
ready=$(curl -sS -o /dev/null -w '%{http_code}' "$AC_BASE_URL/health/ready")
printf 'failover: %d alerts accepted, %d spooled, %d lost, %d stored twice; ingest stored again %s s after the stop (promotion took %.2f s); fan-outs left %s; ready %s\n' \
	"$accepted" "$spooled" "$lost" "$doubled" "$back" "$(awk -v a="$t_promoted" -v b="$t_stop" 'BEGIN { print a - b }')" "$pending" "$ready"
((accepted > 100)) || { echo "failover: too few alerts went out" >&2; exit 1; }
((lost == 0 && doubled == 0)) || exit 1
[[ $back != never ]] || { echo "failover: ac-hook never stored an alert on the new primary" >&2; exit 1; }
((pending == 0)) || { echo "failover: $pending fan-outs not done on the new primary" >&2; exit 1; }
[[ $ready == 200 ]] || { echo "failover: /health/ready answers $ready after the failover" >&2; exit 1; }
ok=1

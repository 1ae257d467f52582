#!/usr/bin/env bash
# t/ops/test_pgbouncer.sh — the responders through PgBouncer (Debian's 1.18,
# session mode; scripts/stack.sh with AC_PGBOUNCER_PORT): the integration
# programs that exercise them pass, ingest's outage test included (the
# spool within TradingView's window, the reconnect after it). The workers
# and acctl stay direct, as docs/scaling.md says they must (LISTEN).
set -euo pipefail
command -v pgbouncer >/dev/null || [[ -x /usr/sbin/pgbouncer ]] ||
	{ echo "pgbouncer: not installed (package pgbouncer)" >&2; exit 1; }
make -C "$BUILD" -j"${AC_JOBS:-2}" check TESTS= >/dev/null
AC_PGBOUNCER=1 AC_IT_ONLY="${AC_PGBOUNCER_TESTS:-hook api portal push admin admin_users admin_strategies admin_payments billing}" \
	bash "$ROOT/t/integration/run"

# shellcheck shell=bash
# stack.sh — the local alertcast stack: PostgreSQL 15, Redis, the FastCGI
# responders under spawn-fcgi, and nginx with the site template, all on
# 127.0.0.1 and all kept in one folder. One implementation for the dev stack
# (scripts/dev), the integration runner and the benchmarks.
#
# Sourced, it defines:
#   stack_start DIR     create what is missing and start what is not running
#   stack_stop DIR      stop everything (PostgreSQL with -m fast)
#   stack_pg_stop DIR   stop PostgreSQL as a crash would (-m immediate)
#   stack_pg_start DIR  start PostgreSQL again (crash recovery runs)
#   stack_redis_stop DIR   kill Redis as a crash would (SIGKILL; it keeps nothing)
#   stack_redis_start DIR  start Redis again, empty
#   stack_env DIR       print `export` lines for the stack's URLs and folders
#   stack_free_port [TAKEN...]  print a free loopback port not in TAKEN
# Executed, it runs one of them: stack.sh start|stop|pg-start|pg-stop|
# redis-start|redis-stop|env DIR,
# stack.sh free-port [TAKEN...].
#
# Input: AC_PORT (nginx, 8080), AC_PG_PORT (5433), AC_REDIS_PORT (6380),
# AC_HOOK_PROCS (1; each runs AC_HOOK_THREADS threads, 32) and AC_API_PROCS/AC_PORTAL_PROCS/AC_ADMIN_PROCS (2),
# AC_METRICS_ALLOW (who may read /metrics: 127.0.0.1 ::1), AC_LOG_LEVEL (info), AC_STACK_WAIT (seconds to wait for health, 30),
# AC_PGBOUNCER_PORT (unset: none; set: PgBouncer in session mode on that
# port between the responders and PostgreSQL; stack_env's URL, for the
# worker and acctl, stays direct: the worker's LISTEN needs a server of its own),
# AC_RESPONDER_DATABASE_URL (the responders' conninfo instead of the stack's),
# SRC (source tree) and BUILD (build tree), both defaulting to the repo root.
# The ports in use are remembered in DIR/stack.env, so later calls on the same
# folder (stop, pg-stop, pg-start, env) need no environment.
#
# Layout of DIR: pg/ (cluster), run/ (sockets, pid files), log/, state/
# (AC_STATE_DIR), redis/, nginx/ (nginx.conf, site.conf, temp files), www/
# (served under /static/: links to the source tree's www/ entries and to
# Debian's Bootstrap 5).

STACK_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
STACK_PG_BIN=${AC_PG_BIN:-/usr/lib/postgresql/15/bin}

# name  binary (under BUILD)  process-count variable  default count
STACK_RESPONDERS="hook cgi/ac-hook AC_HOOK_PROCS 1
api cgi/ac-api AC_API_PROCS 2
portal cgi/ac-portal AC_PORTAL_PROCS 2
admin cgi/ac-admin AC_ADMIN_PROCS 2"

# spawn-fcgi points a child's stderr at /dev/null; this wrapper (run as
# `sh -c "$STACK_STDERR_TO" sh LOG BINARY`) sends it to LOG, then becomes
# BINARY, so the pid spawn-fcgi records is the responder's.
# shellcheck disable=SC2016 # expanded by the inner shell
STACK_STDERR_TO='log=$1; shift; exec "$@" 2>>"$log"'

# Each entry point runs in a new bash with `set -euo pipefail`: a subshell
# would not do, because bash ignores `set -e` inside anything called from an
# `if`, `||` or `&&` condition, and callers do write `if ! stack_start ...`.
# So the environment (AC_PORT, SRC, BUILD, ...) must be exported.
STACK_SELF=$STACK_ROOT/scripts/stack.sh
stack_start()     { bash "$STACK_SELF" start "$@"; }
stack_stop()      { bash "$STACK_SELF" stop "$@"; }
stack_pg_stop()   { bash "$STACK_SELF" pg-stop "$@"; }
stack_pg_start()  { bash "$STACK_SELF" pg-start "$@"; }
stack_redis_stop()  { bash "$STACK_SELF" redis-stop "$@"; }
stack_redis_start() { bash "$STACK_SELF" redis-start "$@"; }
stack_env()       { bash "$STACK_SELF" env "$@"; }
stack_free_port() { bash "$STACK_SELF" free-port "$@"; }
stack_cron_start() { bash "$STACK_SELF" cron-start "$@"; }
stack_cron_stop() { bash "$STACK_SELF" cron-stop "$@"; }

# ---- helpers -----------------------------------------------------------------

_stack_say() { printf 'stack: %s\n' "$*" >&2; }
_stack_die() { printf 'stack: error: %s\n' "$*" >&2; exit 1; }

# _stack_tail FILE...: show the end of each log that exists, for an error report.
_stack_tail() {
	local f
	for f in "$@"; do
		[[ -s $f ]] || continue
		printf -- '---- last lines of %s ----\n' "$f" >&2
		tail -n 40 "$f" >&2
	done
}

# _stack_as_pg CMD...: run CMD as the postgres user (PostgreSQL refuses root).
_stack_as_pg() {
	if ((EUID == 0)); then
		runuser -u postgres -- "$@"
	else
		"$@"
	fi
}

# _stack_pid_alive PID PATTERN: true if PID runs and its command line contains
# PATTERN (so a stale pid file never makes us signal an unrelated process).
_stack_pid_alive() {
	local pid=$1 pattern=$2 cmd
	[[ $pid =~ ^[0-9]+$ ]] || return 1
	[[ -r /proc/$pid/cmdline ]] || return 1
	cmd=$(tr '\0' ' ' </proc/"$pid"/cmdline 2>/dev/null) || return 1
	[[ $cmd == *"$pattern"* ]]
}

# _stack_pids_alive PIDFILE PATTERN: print the live pids listed in PIDFILE.
_stack_pids_alive() {
	local pid
	[[ -r $1 ]] || return 0
	# spawn-fcgi leaves the last line without a newline
	while read -r pid || [[ -n $pid ]]; do
		if _stack_pid_alive "$pid" "$2"; then
			printf '%s\n' "$pid"
		fi
	done <"$1"
}

# _stack_kill PIDFILE PATTERN WHAT: SIGTERM the live pids of PIDFILE, wait up
# to 10 s, then SIGKILL what is left; remove the pid file.
_stack_kill() {
	local pidfile=$1 pattern=$2 what=$3 pids i
	mapfile -t pids < <(_stack_pids_alive "$pidfile" "$pattern")
	if ((${#pids[@]})); then
		kill -TERM "${pids[@]}" 2>/dev/null || true
		for ((i = 0; i < 100; i++)); do
			mapfile -t pids < <(_stack_pids_alive "$pidfile" "$pattern")
			((${#pids[@]})) || break
			sleep 0.1
		done
		if ((${#pids[@]})); then
			_stack_say "$what did not stop in 10 s; killing ${pids[*]}"
			kill -KILL "${pids[@]}" 2>/dev/null || true
		fi
		_stack_say "stopped $what"
	fi
	rm -f "$pidfile"
}

# _stack_init DIR [start]: set the _stack_* variables for DIR. Ports: with
# "start", the environment wins over DIR/stack.env (and a change while the
# stack runs is refused); otherwise the remembered ports win.
_stack_init() {
	local dir=${1:?usage: stack_* DIR} mode=${2:-}
	local saved_port='' saved_pg='' saved_redis='' saved_src='' saved_build='' saved_bouncer=''
	[[ $dir != *[[:space:]]* ]] || _stack_die "the stack folder must not contain white space: '$dir'"
	if [[ $mode == start ]]; then
		mkdir -p "$dir"
	fi
	[[ -d $dir ]] || _stack_die "no stack folder $dir"
	_stack_dir=$(cd "$dir" && pwd)
	if [[ -r $_stack_dir/stack.env ]]; then
		saved_port=$(sed -n 's/^AC_PORT=\([0-9]*\)$/\1/p' "$_stack_dir/stack.env")
		saved_pg=$(sed -n 's/^AC_PG_PORT=\([0-9]*\)$/\1/p' "$_stack_dir/stack.env")
		saved_redis=$(sed -n 's/^AC_REDIS_PORT=\([0-9]*\)$/\1/p' "$_stack_dir/stack.env")
		saved_bouncer=$(sed -n 's/^AC_PGBOUNCER_PORT=\([0-9]*\)$/\1/p' "$_stack_dir/stack.env")
		saved_src=$(sed -n 's/^SRC=//p' "$_stack_dir/stack.env")
		saved_build=$(sed -n 's/^BUILD=//p' "$_stack_dir/stack.env")
	fi
	if [[ $mode == start ]]; then
		_stack_src=$(cd "${SRC:-$STACK_ROOT}" && pwd)
		_stack_build=$(cd "${BUILD:-$_stack_src}" && pwd)
	else
		_stack_src=${saved_src:-$(cd "${SRC:-$STACK_ROOT}" && pwd)}
		_stack_build=${saved_build:-$(cd "${BUILD:-$_stack_src}" && pwd)}
	fi
	if [[ $mode == start ]]; then
		_stack_port=${AC_PORT:-${saved_port:-8080}}
		_stack_pg_port=${AC_PG_PORT:-${saved_pg:-5433}}
		_stack_redis_port=${AC_REDIS_PORT:-${saved_redis:-6380}}
		_stack_bouncer_port=${AC_PGBOUNCER_PORT:-$saved_bouncer}
	else
		_stack_port=${saved_port:-${AC_PORT:-8080}}
		_stack_pg_port=${saved_pg:-${AC_PG_PORT:-5433}}
		_stack_redis_port=${saved_redis:-${AC_REDIS_PORT:-6380}}
		_stack_bouncer_port=${saved_bouncer:-${AC_PGBOUNCER_PORT:-}}
	fi
	local p
	for p in "$_stack_port" "$_stack_pg_port" "$_stack_redis_port"; do
		if ! [[ $p =~ ^[0-9]+$ ]] || ((p < 1 || p > 65535)); then
			_stack_die "bad port '$p'"
		fi
	done
	_stack_run=$_stack_dir/run
	_stack_log=$_stack_dir/log
	_stack_pgdata=$_stack_dir/pg
	# unix socket paths are limited to 107 bytes
	((${#_stack_run} + 20 <= 107)) || _stack_die "stack folder path too long for unix sockets: $_stack_dir"
	_stack_db_url="host=127.0.0.1 port=$_stack_pg_port dbname=alertcast user=alertcast"
	_stack_responder_db_url=$_stack_db_url
	[[ -n $_stack_bouncer_port ]] &&
		_stack_responder_db_url="host=127.0.0.1 port=$_stack_bouncer_port dbname=alertcast user=alertcast"
	# a conninfo of their own for the responders (a multi-host one with
	# target_session_attrs=read-write, say: t/ops/test_failover.sh)
	[[ -z ${AC_RESPONDER_DATABASE_URL:-} ]] || _stack_responder_db_url=$AC_RESPONDER_DATABASE_URL
	_stack_redis_url="redis://127.0.0.1:$_stack_redis_port"
	_stack_base_url="http://127.0.0.1:$_stack_port"
	_stack_state=$_stack_dir/state
	_stack_sql=$_stack_src/sql
	if [[ $mode == start && -n $saved_port ]] &&
		[[ $saved_port != "$_stack_port" || $saved_pg != "$_stack_pg_port" || $saved_redis != "$_stack_redis_port" ]] &&
		_stack_anything_running; then
		_stack_die "the stack in $_stack_dir runs on ports $saved_port/$saved_pg/$saved_redis (nginx/pg/redis); stop it before changing ports"
	fi
}

_stack_anything_running() {
	[[ -n $(_stack_pids_alive "$_stack_run/nginx.pid" nginx) ]] ||
		[[ -n $(_stack_pids_alive "$_stack_run/redis.pid" redis-server) ]] ||
		_stack_pg_running
}

_stack_save() {
	local tmp=$_stack_dir/stack.env.tmp
	{
		echo "# written by scripts/stack.sh; the ports this stack uses"
		echo "AC_PORT=$_stack_port"
		echo "AC_PG_PORT=$_stack_pg_port"
		echo "AC_REDIS_PORT=$_stack_redis_port"
		[[ -z $_stack_bouncer_port ]] || echo "AC_PGBOUNCER_PORT=$_stack_bouncer_port"
		echo "SRC=$_stack_src"
		echo "BUILD=$_stack_build"
	} >"$tmp"
	mv -f "$tmp" "$_stack_dir/stack.env"
}

# ---- PostgreSQL ----------------------------------------------------------------

_stack_pg_running() {
	[[ -f $_stack_pgdata/PG_VERSION ]] || return 1
	_stack_as_pg "$STACK_PG_BIN/pg_ctl" status -D "$_stack_pgdata" >/dev/null 2>&1
}

# _stack_pg_reachable: make every ancestor of DIR traversable by postgres.
_stack_pg_reachable() {
	((EUID == 0)) || return 0
	local d=$_stack_dir path=()
	while [[ $d != / ]]; do
		path=("$d" "${path[@]}")
		d=$(dirname "$d")
	done
	for d in "${path[@]}"; do
		if ! runuser -u postgres -- test -x "$d" 2>/dev/null; then
			chmod o+x "$d"
			_stack_say "chmod o+x $d (the postgres user must reach $_stack_pgdata)"
		fi
	done
}

_stack_pg_init() {
	[[ -f $_stack_pgdata/PG_VERSION ]] && return 0
	[[ -x $STACK_PG_BIN/initdb ]] || _stack_die "$STACK_PG_BIN/initdb not found: install postgresql-15 (scripts/dev up)"
	if ((EUID == 0)); then
		id postgres >/dev/null 2>&1 || _stack_die "no 'postgres' user: install postgresql-15"
	fi
	_stack_pg_reachable
	rm -rf "$_stack_pgdata"
	mkdir -p "$_stack_pgdata"
	chmod 700 "$_stack_pgdata"
	touch "$_stack_log/initdb.log"
	if ((EUID == 0)); then
		chown postgres:postgres "$_stack_pgdata" "$_stack_log/initdb.log"
	fi
	_stack_say "initdb $_stack_pgdata"
	if ! _stack_as_pg "$STACK_PG_BIN/initdb" -D "$_stack_pgdata" -U postgres -E UTF8 --locale=C.UTF-8 \
		--auth-local=trust --auth-host=trust >>"$_stack_log/initdb.log" 2>&1; then
		_stack_tail "$_stack_log/initdb.log"
		rm -rf "$_stack_pgdata"
		_stack_die "initdb failed"
	fi
	# Trust on loopback only: the server listens on 127.0.0.1 and its socket.
	cat >"$_stack_pgdata/pg_hba.conf" <<-'EOF'
		# written by scripts/stack.sh: local development and tests only
		local   all   all                 trust
		host    all   all   127.0.0.1/32  trust
	EOF
	cat >>"$_stack_pgdata/postgresql.conf" <<-EOF

		# ---- alertcast dev/test stack (scripts/stack.sh) ----
		listen_addresses = '127.0.0.1'
		unix_socket_directories = '$_stack_run'
		# durability is the point: keep every write on disk before answering
		fsync = on
		synchronous_commit = on
		full_page_writes = on
		# sized for 2 cores
		max_connections = 300
		shared_buffers = 256MB
		effective_cache_size = 1GB
		work_mem = 4MB
		maintenance_work_mem = 64MB
		wal_buffers = 16MB
		max_wal_size = 2GB
		checkpoint_completion_target = 0.9
		random_page_cost = 1.1
		max_worker_processes = 4
		max_parallel_workers = 2
		max_parallel_workers_per_gather = 1
		timezone = 'UTC'
		log_timezone = 'UTC'
		log_line_prefix = '%m [%p] %q%u@%d '
		log_min_duration_statement = 1000
		# a wait past deadlock_timeout (1 s) is logged with who holds the lock
		log_lock_waits = on
	EOF
	if ((EUID == 0)); then
		chown postgres:postgres "$_stack_pgdata/pg_hba.conf" "$_stack_pgdata/postgresql.conf"
	fi
}

_stack_pg_start() {
	_stack_init "${1:-}"
	_stack_pg_up
}

_stack_pg_up() {
	if _stack_pg_running; then
		return 0
	fi
	[[ -f $_stack_pgdata/PG_VERSION ]] || _stack_die "no cluster in $_stack_pgdata (run stack_start first)"
	# the server (user postgres) writes its socket in run/ and its log in log/
	mkdir -p "$_stack_run" "$_stack_log"
	touch "$_stack_log/postgresql.log"
	if ((EUID == 0)); then
		_stack_pg_reachable
		chown postgres:postgres "$_stack_run" "$_stack_log/postgresql.log"
	fi
	if ! _stack_as_pg "$STACK_PG_BIN/pg_ctl" start -D "$_stack_pgdata" -l "$_stack_log/postgresql.log" \
		-w -t 60 -o "-p $_stack_pg_port" >>"$_stack_log/pg_ctl.log" 2>&1; then
		_stack_tail "$_stack_log/pg_ctl.log" "$_stack_log/postgresql.log"
		_stack_die "PostgreSQL did not start on 127.0.0.1:$_stack_pg_port"
	fi
	_stack_say "PostgreSQL up on 127.0.0.1:$_stack_pg_port"
}

_stack_pg_stop() {
	_stack_init "${1:-}"
	_stack_pg_down immediate
}

# _stack_pg_down MODE: pg_ctl stop -m MODE if running.
_stack_pg_down() {
	_stack_pg_running || return 0
	if ! _stack_as_pg "$STACK_PG_BIN/pg_ctl" stop -D "$_stack_pgdata" -m "$1" -w -t 60 \
		>>"$_stack_log/pg_ctl.log" 2>&1; then
		_stack_tail "$_stack_log/pg_ctl.log"
		_stack_die "PostgreSQL did not stop"
	fi
	_stack_say "stopped PostgreSQL ($1)"
}

_stack_psql() {
	"$STACK_PG_BIN/psql" -X -q -A -t -v ON_ERROR_STOP=1 -h "$_stack_run" -p "$_stack_pg_port" \
		-U postgres -d postgres "$@"
}

_stack_pg_database() {
	if [[ $(_stack_psql -c "SELECT 1 FROM pg_roles WHERE rolname = 'alertcast'") != 1 ]]; then
		_stack_psql -c "CREATE ROLE alertcast LOGIN"
		_stack_say "created role alertcast"
	fi
	if [[ $(_stack_psql -c "SELECT 1 FROM pg_database WHERE datname = 'alertcast'") != 1 ]]; then
		_stack_psql -c "CREATE DATABASE alertcast OWNER alertcast ENCODING 'UTF8'"
		_stack_say "created database alertcast"
	fi
}

# ---- PgBouncer ---------------------------------------------------------------------

# PgBouncer (Debian's 1.18) in session mode: a client keeps its server for
# its whole connection, so the responders' prepared statements and SETs
# hold (transaction mode would hand them another server's session). While
# PostgreSQL is away a query waits at most 0.5 s for a server
# (query_wait_timeout; the default, 120 s, would hold ac-hook's answers past
# TradingView's 3 s instead of spooling), and a lost server is tried again
# every 0.25 s (server_login_retry; the default 15 s would keep alerts
# spooled that long after it is back). It will not run as root: it runs as
# postgres, as PostgreSQL does.
_stack_pgbouncer_up() {
	[[ -n $_stack_bouncer_port ]] || return 0
	[[ -n $(_stack_pids_alive "$_stack_run/pgbouncer.pid" pgbouncer) ]] && return 0
	# Debian puts it in /usr/sbin, which a user's PATH may lack
	local bin=${STACK_PGBOUNCER:-$(command -v pgbouncer || echo /usr/sbin/pgbouncer)}
	[[ -x $bin ]] || _stack_die "pgbouncer not found: install pgbouncer"
	local d=$_stack_dir/pgbouncer i
	mkdir -p "$d"
	printf '"alertcast" ""\n' >"$d/userlist.txt"
	cat >"$d/pgbouncer.ini" <<-EOF
		[databases]
		alertcast = host=127.0.0.1 port=$_stack_pg_port dbname=alertcast
		[pgbouncer]
		listen_addr = 127.0.0.1
		listen_port = $_stack_bouncer_port
		unix_socket_dir =
		auth_type = trust
		auth_file = $d/userlist.txt
		pool_mode = session
		max_client_conn = 1000
		default_pool_size = 200
		query_wait_timeout = 0.5
		server_login_retry = 0.25
		server_connect_timeout = 1
		logfile = $_stack_log/pgbouncer.log
		pidfile = $d/pgbouncer.pid
	EOF
	((EUID == 0)) && chown -R postgres "$d" && touch "$_stack_log/pgbouncer.log" &&
		chown postgres "$_stack_log/pgbouncer.log"
	_stack_as_pg "$bin" -d -q \
		"$d/pgbouncer.ini" >>"$_stack_log/pgbouncer.log" 2>&1 ||
		{ _stack_tail "$_stack_log/pgbouncer.log"; _stack_die "pgbouncer did not start"; }
	for ((i = 0; i < 100; i++)); do
		[[ -s $d/pgbouncer.pid ]] && break
		sleep 0.05
	done
	ln -sfn "$d/pgbouncer.pid" "$_stack_run/pgbouncer.pid"
	_stack_say "PgBouncer (session mode) up on 127.0.0.1:$_stack_bouncer_port"
}

# ---- Redis -----------------------------------------------------------------------

_stack_redis_up() {
	local i
	if [[ -n $(_stack_pids_alive "$_stack_run/redis.pid" redis-server) ]]; then
		return 0
	fi
	command -v redis-server >/dev/null || _stack_die "redis-server not found: install redis-server"
	mkdir -p "$_stack_dir/redis"
	rm -f "$_stack_run/redis.pid"
	redis-server --bind 127.0.0.1 --port "$_stack_redis_port" --daemonize yes \
		--pidfile "$_stack_run/redis.pid" --logfile "$_stack_log/redis.log" \
		--dir "$_stack_dir/redis" --save '' --appendonly no \
		</dev/null >>"$_stack_log/redis-start.log" 2>&1 ||
		{ _stack_tail "$_stack_log/redis-start.log" "$_stack_log/redis.log"; _stack_die "redis-server did not start"; }
	for ((i = 0; i < 100; i++)); do
		if [[ $(redis-cli -h 127.0.0.1 -p "$_stack_redis_port" ping 2>/dev/null) == PONG ]]; then
			_stack_say "Redis up on 127.0.0.1:$_stack_redis_port"
			return 0
		fi
		sleep 0.1
	done
	_stack_tail "$_stack_log/redis.log"
	_stack_die "Redis did not answer on 127.0.0.1:$_stack_redis_port within 10 s"
}

# ---- migrations ------------------------------------------------------------------

_stack_migrate() {
	local acctl=$_stack_build/worker/acctl
	[[ -x $acctl ]] || _stack_die "$acctl not found: build first (autoreconf -fi && ./configure && make)"
	if ! AC_DATABASE_URL=$_stack_db_url AC_SQL_DIR=$_stack_sql "$acctl" migrate \
		</dev/null >>"$_stack_log/migrate.log" 2>&1; then
		_stack_tail "$_stack_log/migrate.log"
		_stack_die "acctl migrate failed"
	fi
}

# ---- responders --------------------------------------------------------------------

# _stack_fcgi_up NAME BIN COUNT: one spawn-fcgi per responder, COUNT children,
# socket run/NAME.sock, pids in run/NAME.pid, stderr in log/ac-NAME.log. A
# responder already running is left alone unless a child died or the binary
# was rebuilt since it started.
_stack_fcgi_up() {
	local name=$1 bin=$2 count=$3 pidfile=$_stack_run/$1.pid sock=$_stack_run/$1.sock
	local log=$_stack_log/ac-$1.log prog=/${2##*/} want have
	if [[ -f $pidfile ]]; then
		want=$(grep -c . "$pidfile" || true)
		have=$(_stack_pids_alive "$pidfile" "$prog" | grep -c . || true)
		if ((have > 0 && have == want)) && [[ ! $bin -nt $pidfile ]]; then
			return 0
		fi
		if ((have == want)); then
			_stack_say "restarting ac-$name (binary rebuilt)"
		elif ((have > 0)); then
			_stack_say "restarting ac-$name (only $have of $want processes alive)"
		fi
		_stack_kill "$pidfile" "$prog" "ac-$name"
	fi
	rm -f "$sock"
	local stripe=()
	if [[ ${AC_STRIPE_FAKE:-1} != 0 ]]; then
		_stack_stripe_env
		stripe=(AC_STRIPE_API_BASE="$_stack_stripe_base" AC_STRIPE_SECRET_KEY="$_stack_stripe_key"
			AC_STRIPE_WEBHOOK_SECRET="$_stack_stripe_whsec")
	fi
	_stack_unsubscribe_secret
	if ! env "${stripe[@]}" AC_UNSUBSCRIBE_SECRET="$_stack_unsub" AC_DATABASE_URL="$_stack_responder_db_url" AC_REDIS_URL="$_stack_redis_url" \
		AC_STATE_DIR="$_stack_state" AC_SQL_DIR="$_stack_sql" AC_BASE_URL="$_stack_base_url" \
		AC_LOG_LEVEL="${AC_LOG_LEVEL:-info}" AC_PORTAL_TEMPLATE_DIR="$_stack_src/cgi/templates" \
		AC_ADMIN_TEMPLATE_DIR="$_stack_src/cgi/templates/admin" \
		AC_TEMPLATE_DIR="$_stack_src/templates" \
		spawn-fcgi -s "$sock" -M 0666 -F "$count" -b 4096 -P "$pidfile" -- \
		/bin/sh -c "$STACK_STDERR_TO" sh "$log" "$bin" \
		</dev/null >>"$_stack_log/spawn-fcgi.log" 2>&1; then
		_stack_tail "$_stack_log/spawn-fcgi.log" "$log"
		_stack_die "spawn-fcgi could not start $bin"
	fi
	_stack_say "ac-$name: $count processes on $sock"
}

_stack_responders_up() {
	local name rel var def bin
	command -v spawn-fcgi >/dev/null || _stack_die "spawn-fcgi not found: install spawn-fcgi"
	while read -r name rel var def; do
		bin=$_stack_build/$rel
		if [[ ! -x $bin ]]; then
			[[ $name == hook ]] && _stack_die "$bin not found: build first (autoreconf -fi && ./configure && make)"
			continue
		fi
		_stack_fcgi_up "$name" "$bin" "${!var:-$def}"
	done <<<"$STACK_RESPONDERS"
}

_stack_responders_down() {
	local name rel var def
	while read -r name rel var def; do
		_stack_kill "$_stack_run/$name.pid" "/${rel##*/}" "ac-$name"
		rm -f "$_stack_run/$name.sock"
	done <<<"$STACK_RESPONDERS"
}

# The secret that signs the unsubscribe links of signal emails, which the
# worker writes and ac-portal checks: made once, kept in DIR/unsubscribe.secret
# (an AC_UNSUBSCRIBE_SECRET already in the environment wins).
_stack_unsubscribe_secret() {
	local f=$_stack_dir/unsubscribe.secret
	if [[ ! -s $f ]]; then
		(umask 077 && od -An -N32 -tx1 /dev/urandom | tr -d ' \n' >"$f.tmp")
		mv -f "$f.tmp" "$f"
	fi
	_stack_unsub=${AC_UNSUBSCRIBE_SECRET:-$(cat "$f")}
}

# ---- the Stripe fake ----------------------------------------------------------------

# The dev and test stack take card payments from t/fakes/stripe.py, which
# speaks Stripe's API and signs its events to /hook/stripe. Its port and
# the keys are made once and kept in DIR/stripe.env (AC_STRIPE_FAKE=0: no
# fake; an AC_STRIPE_* already in the environment wins).
_stack_stripe_env() {
	local f=$_stack_dir/stripe.env port
	if [[ ! -s $f ]]; then
		port=$(_stack_free_port "$_stack_port" "$_stack_pg_port" "$_stack_redis_port")
		{
			echo "# written by scripts/stack.sh: the Stripe fake of this stack"
			echo "AC_STRIPE_PORT=$port"
			echo "AC_STRIPE_WEBHOOK_SECRET=whsec_$(od -An -N24 -tx1 /dev/urandom | tr -d ' \n')"
			echo "AC_STRIPE_SECRET_KEY=sk_test_$(od -An -N24 -tx1 /dev/urandom | tr -d ' \n')"
		} >"$f.tmp"
		chmod 600 "$f.tmp"
		mv -f "$f.tmp" "$f"
	fi
	_stack_stripe_port=$(sed -n 's/^AC_STRIPE_PORT=\([0-9]*\)$/\1/p' "$f")
	_stack_stripe_whsec=${AC_STRIPE_WEBHOOK_SECRET:-$(sed -n 's/^AC_STRIPE_WEBHOOK_SECRET=//p' "$f")}
	_stack_stripe_key=${AC_STRIPE_SECRET_KEY:-$(sed -n 's/^AC_STRIPE_SECRET_KEY=//p' "$f")}
	_stack_stripe_base=${AC_STRIPE_API_BASE:-http://127.0.0.1:$_stack_stripe_port}
}

_stack_stripe_up() {
	[[ ${AC_STRIPE_FAKE:-1} != 0 ]] || return 0
	_stack_stripe_env
	local i
	if [[ -n $(_stack_pids_alive "$_stack_run/stripe.pid" stripe.py) ]]; then
		return 0
	fi
	nohup python3 "$_stack_src/t/fakes/stripe.py" --port "$_stack_stripe_port" \
		--webhook "$_stack_base_url/hook/stripe" --secret "$_stack_stripe_whsec" \
		--api-key "$_stack_stripe_key" >>"$_stack_log/stripe-fake.log" 2>&1 </dev/null &
	printf '%s\n' "$!" >"$_stack_run/stripe.pid"
	for ((i = 0; i < 100; i++)); do
		if curl -s -o /dev/null --max-time 1 "http://127.0.0.1:$_stack_stripe_port/_stripe/events"; then
			_stack_say "Stripe fake up on 127.0.0.1:$_stack_stripe_port"
			return 0
		fi
		sleep 0.1
	done
	_stack_tail "$_stack_log/stripe-fake.log"
	_stack_die "the Stripe fake did not answer on 127.0.0.1:$_stack_stripe_port"
}

# ---- nginx -------------------------------------------------------------------------

# _stack_www: the folder nginx serves under /static/: links to the source
# tree's www/ entries (an edit shows at once) and to Debian's Bootstrap 5
# (libjs-bootstrap5). nginx's workers run as nobody: when they cannot read
# the source tree (a checkout under a private folder, mktemp -d's 0700),
# the entries are copied instead.
_stack_www() {
	local f how=(ln -sfn)
	mkdir -p "$_stack_dir/www"
	if ((EUID == 0)) && ! runuser -u nobody -- test -r "$_stack_src/www/css/portal.css" \
		2>/dev/null; then
		how=(cp -R)
		rm -rf "${_stack_dir:?}"/www/*
	fi
	for f in "$_stack_src"/www/*; do
		[[ -e $f ]] && "${how[@]}" "$f" "$_stack_dir/www/"
	done
	[[ -e /usr/share/javascript/bootstrap5 ]] &&
		ln -sfn /usr/share/javascript/bootstrap5 "$_stack_dir/www/"
	# the API description, served at /api/v1/openapi.yaml, the same way
	rm -f "$_stack_dir/openapi.yaml"
	"${how[@]}" "$_stack_src/docs/openapi.yaml" "$_stack_dir/openapi.yaml"
	return 0
}

_stack_sed_escape() { printf '%s' "$1" | sed -e 's/[|&\\]/\\&/g'; }

# _stack_nginx_render OUT: the site template for this stack (loopback listener,
# sockets, static files and logs under the stack folder, the API description
# from the source tree, no TradingView-only include).
_stack_nginx_render() {
	local template=$_stack_src/nginx/alertcast.conf.in pay='https://checkout.stripe.com https://billing.stripe.com'
	if [[ ${AC_STRIPE_FAKE:-1} != 0 ]]; then
		_stack_stripe_env
		pay="http://127.0.0.1:$_stack_stripe_port"
	fi
	[[ -r $template ]] || _stack_die "$template not found"
	local allow='' a
	for a in ${AC_METRICS_ALLOW:-127.0.0.1 ::1}; do allow+="allow $a; "; done
	sed -e "s|@LISTEN@|127.0.0.1:$_stack_port backlog=4096|g" \
		-e "s|@METRICS_ALLOW@|$(_stack_sed_escape "$allow")|g" \
		-e 's|@SERVER_NAME@|localhost|g' \
		-e "s|@PAYMENT_ORIGINS@|$pay|g" \
		-e "s|@SOCKDIR@|$(_stack_sed_escape "$_stack_run")|g" \
		-e "s|@WWWDIR@|$(_stack_sed_escape "$_stack_dir/www")|g" \
		-e "s|@SPEC@|$(_stack_sed_escape "$_stack_dir/openapi.yaml")|g" \
		-e "s|@SNIPPETS@|$(_stack_sed_escape "$_stack_src/nginx")|g" \
		-e "s|@ACCESS_LOG@|$(_stack_sed_escape "$_stack_log/nginx-access.log")|g" \
		-e "s|@ERROR_LOG@|$(_stack_sed_escape "$_stack_log/nginx-error.log")|g" \
		-e '/^[[:space:]]*include[[:space:]].*alertcast-tradingview-only\.conf;/d' \
		"$template" >"$1"
}

_stack_nginx_main() {
	local n=$_stack_dir/nginx
	cat <<-EOF
		# written by scripts/stack.sh: the alertcast dev/test nginx
		worker_processes auto;
		worker_rlimit_nofile 16384;
		pid $_stack_run/nginx.pid;
		error_log $_stack_log/nginx-error.log notice;

		events {
		    worker_connections 4096;
		}

		http {
		    types {
		        text/html                html htm;
		        text/css                 css;
		        text/plain               txt;
		        application/javascript   js mjs;
		        application/json         json map;
		        application/yaml         yaml yml;
		        image/svg+xml            svg;
		        image/png                png;
		        image/jpeg               jpg jpeg;
		        image/webp               webp;
		        image/x-icon             ico;
		        font/woff2               woff2;
		    }
		    default_type application/octet-stream;

		    # the site (site.conf) logs its requests, masked, to log/nginx-access.log

		    client_body_temp_path $n/tmp/client_body;
		    fastcgi_temp_path $n/tmp/fastcgi;
		    proxy_temp_path $n/tmp/proxy;
		    uwsgi_temp_path $n/tmp/uwsgi;
		    scgi_temp_path $n/tmp/scgi;

		    sendfile on;
		    tcp_nopush on;

		    include site.conf;
		}
	EOF
}

_stack_nginx() { nginx -p "$_stack_dir/nginx/" -c nginx.conf -e "$_stack_log/nginx-error.log" "$@"; }

_stack_nginx_up() {
	local n=$_stack_dir/nginx changed=0 pid
	command -v nginx >/dev/null || _stack_die "nginx not found: install nginx"
	mkdir -p "$n/tmp"
	_stack_www
	_stack_nginx_render "$n/site.conf.new"
	_stack_nginx_main >"$n/nginx.conf.new"
	cmp -s "$n/site.conf.new" "$n/site.conf" || changed=1
	cmp -s "$n/nginx.conf.new" "$n/nginx.conf" || changed=1
	mv -f "$n/site.conf.new" "$n/site.conf"
	mv -f "$n/nginx.conf.new" "$n/nginx.conf"
	pid=$(_stack_pids_alive "$_stack_run/nginx.pid" nginx | head -n 1)
	if [[ -n $pid ]] && ((changed == 0)); then
		return 0
	fi
	if ! _stack_nginx -t >"$_stack_log/nginx-t.log" 2>&1; then
		cat "$_stack_log/nginx-t.log" >&2
		_stack_die "nginx rejected $n/nginx.conf or site.conf"
	fi
	if [[ -n $pid ]]; then
		kill -HUP "$pid"
		_stack_say "nginx reloaded (configuration changed)"
		return 0
	fi
	if ! _stack_nginx </dev/null >>"$_stack_log/nginx-error.log" 2>&1; then
		_stack_tail "$_stack_log/nginx-error.log"
		_stack_die "nginx did not start on 127.0.0.1:$_stack_port"
	fi
	_stack_say "nginx up on $_stack_base_url"
}

# _stack_wait_health: bounded wait for GET /health/live through nginx.
_stack_wait_health() {
	local wait=${AC_STACK_WAIT:-30} url=$_stack_base_url/health/live code='' deadline
	deadline=$((SECONDS + wait))
	while ((SECONDS < deadline)); do
		code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 2 "$url" 2>/dev/null) || true
		[[ $code == 2?? ]] && return 0
		sleep 0.1
	done
	_stack_tail "$_stack_log/nginx-error.log" "$_stack_log/ac-hook.log" "$_stack_log/spawn-fcgi.log" \
		"$_stack_log/postgresql.log"
	_stack_die "GET $url did not answer 2xx within ${wait} s (last status: ${code:-none})"
}

# ---- public entry points ---------------------------------------------------------

_stack_start() {
	_stack_init "${1:-}" start
	mkdir -p "$_stack_run" "$_stack_log" "$_stack_state" "$_stack_dir/nginx"
	_stack_save
	_stack_pg_init
	_stack_pg_up
	_stack_pg_database
	_stack_redis_up
	_stack_migrate
	_stack_pgbouncer_up
	_stack_stripe_up
	_stack_responders_up
	_stack_nginx_up
	_stack_wait_health
	_stack_say "ready: $_stack_base_url (folder $_stack_dir)"
}

# _stack_cron_start DIR: what the shipped crontab does (ops/alertcast.cron),
# for the dev stack: start `ac-worker --for 70` (AC_WORKER_FOR) at every
# minute, in the background, logging to ac-worker.log. Tests start their own
# workers. _stack_cron_stop DIR stops it and the workers it started.
_stack_cron_start() {
	_stack_init "${1:-}"
	local worker=$_stack_build/worker/ac-worker
	[[ -x $worker ]] || _stack_die "no $worker: build first"
	if [[ -n $(_stack_pids_alive "$_stack_run/cron.pid" alertcast-cron) ]]; then
		return 0
	fi
	eval "$(_stack_env "$_stack_dir")"
	local for_s=${AC_WORKER_FOR:-70}
	nohup bash -c 'exec -a alertcast-cron bash -c '\''while :; do "$0" --for "$1" & sleep $((60 - $(date +%s) % 60)); done'\'' "$0" "$1"' \
		"$worker" "$for_s" >>"$_stack_log/ac-worker.log" 2>&1 </dev/null &
	printf '%s\n' "$!" >"$_stack_run/cron.pid"
	_stack_say "cron: ac-worker --for $for_s every minute (log $_stack_log/ac-worker.log)"
}

_stack_cron_stop() {
	[[ -d ${1:-} ]] || return 0
	_stack_init "$1"
	_stack_kill "$_stack_run/cron.pid" alertcast-cron "the worker's cron"
	pkill -TERM -f "^$_stack_build/worker/ac-worker --for " 2>/dev/null || true
}

# Redis gone at once, as when its host dies: what it held (rate counts,
# breakers, the Telegram gaps) is lost, and every program fails open.
_stack_redis_stop() {
	local pids i
	_stack_init "$1"
	mapfile -t pids < <(_stack_pids_alive "$_stack_run/redis.pid" redis-server)
	((${#pids[@]})) && kill -KILL "${pids[@]}" 2>/dev/null
	for ((i = 0; i < 100; i++)); do
		mapfile -t pids < <(_stack_pids_alive "$_stack_run/redis.pid" redis-server)
		((${#pids[@]})) || break
		sleep 0.05
	done
	rm -f "$_stack_run/redis.pid"
	_stack_say "killed Redis"
}

_stack_redis_start() {
	_stack_init "$1"
	_stack_redis_up
}

_stack_stop() {
	[[ -d ${1:-} ]] || return 0
	_stack_init "$1"
	_stack_cron_stop "$1"
	_stack_kill "$_stack_run/nginx.pid" nginx nginx
	_stack_responders_down
	_stack_kill "$_stack_run/stripe.pid" stripe.py "the Stripe fake"
	_stack_kill "$_stack_run/redis.pid" redis-server Redis
	_stack_kill "$_stack_run/pgbouncer.pid" pgbouncer PgBouncer
	_stack_pg_down fast
}

_stack_env() {
	_stack_init "${1:-}"
	local name value q="'"
	for name in AC_DATABASE_URL AC_REDIS_URL AC_BASE_URL AC_STATE_DIR AC_SQL_DIR AC_TEMPLATE_DIR; do
		case $name in
		AC_DATABASE_URL) value=$_stack_db_url ;;
		AC_REDIS_URL) value=$_stack_redis_url ;;
		AC_BASE_URL) value=$_stack_base_url ;;
		AC_STATE_DIR) value=$_stack_state ;;
		AC_SQL_DIR) value=$_stack_sql ;;
		AC_TEMPLATE_DIR) value=$_stack_src/templates ;;
		esac
		printf "export %s='%s'\n" "$name" "${value//$q/$q\\$q$q}"
	done
	_stack_unsubscribe_secret
	printf "export AC_UNSUBSCRIBE_SECRET='%s'\n" "$_stack_unsub"
	if [[ ${AC_STRIPE_FAKE:-1} != 0 && -s $_stack_dir/stripe.env ]]; then
		_stack_stripe_env
		printf "export AC_STRIPE_API_BASE='%s'\n" "$_stack_stripe_base"
		printf "export AC_STRIPE_SECRET_KEY='%s'\n" "$_stack_stripe_key"
		printf "export AC_STRIPE_WEBHOOK_SECRET='%s'\n" "$_stack_stripe_whsec"
		printf "export AC_STRIPE_FAKE_URL='http://127.0.0.1:%s'\n" "$_stack_stripe_port"
	fi
}

# Ports come from below the kernel's ephemeral range: a port in it may be
# taken, between the check and the bind, by any outgoing connection's
# local end (the tests open thousands).
_stack_free_port() {
	local p i taken=" $* " lo=32768 hi span
	read -r lo hi </proc/sys/net/ipv4/ip_local_port_range 2>/dev/null || true
	span=$((lo - 10000))
	((span >= 1000)) || span=20000
	for ((i = 0; i < 200; i++)); do
		p=$((10000 + RANDOM % span))
		[[ $taken == *" $p "* ]] && continue
		# a refused connection means nobody listens there
		if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then
			printf '%s\n' "$p"
			return 0
		fi
	done
	_stack_die "no free loopback port found"
}

if [[ ${BASH_SOURCE[0]} == "$0" ]]; then
	set -euo pipefail
	case ${1:-} in
	start | stop | pg-start | pg-stop | redis-start | redis-stop | env | free-port | cron-start | cron-stop)
		cmd=${1//-/_}; shift; "_stack_$cmd" "$@" ;;
	*)
		echo "usage: ${0##*/} start|stop|pg-start|pg-stop|redis-start|redis-stop|env|cron-start|cron-stop DIR | free-port [TAKEN...]" >&2
		exit 2
		;;
	esac
fi

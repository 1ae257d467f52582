#!/usr/bin/env bash
# t/ops/test_units.sh — what `make install` lays out runs as installed:
#   - `make install DESTDIR=tmp` from BUILD puts the programs, SQL, templates,
#     static files, the nginx site and snippets, the units and the crontab
#     where the build's folders say, every file of the source folders in place;
#   - every unit (each instance of a template) passes `systemd-analyze
#     verify` with no complaint at all (it only warns on an unknown key or a
#     bad value, so any output fails), run on a copy whose program paths point
#     into DESTDIR (verify checks that ExecStart's program exists; --root
#     would look for spawn-fcgi there too);
#   - the worker's timers (@0, @1) start a run at every minute, as cron does;
#   - every program a unit or the crontab runs (ac-%i under spawn-fcgi
#     included) is in DESTDIR, each socket the nginx site passes to is made
#     by a unit that runs the responder of that name, each folder a unit
#     points a setting to is installed;
#   - each service has the hardening: ProtectSystem=strict, NoNewPrivileges,
#     PrivateTmp, the alertcast user, ReadWritePaths for the state dir it uses;
#   - the installed site, with TLS and the TradingView client-certificate
#     option turned on, passes `nginx -t`, and on a hook location refuses an
#     alert without a certificate or with another CN and passes one with
#     CN "TradingView Webhooks" on to the responder.
set -euo pipefail

tmp=$(mktemp -d /tmp/alertcast-units.XXXXXX)
root=$tmp/root
rc=0
nginx_pid=
fail() { echo "units: $*" >&2; rc=1; }
# shellcheck disable=SC2317 # run from the trap
finish() {
	if [[ -n $nginx_pid ]]; then kill "$nginx_pid" 2>/dev/null || true; fi
	if ((rc == 0)) && [[ ${AC_KEEP:-0} != 1 ]]; then rm -rf "$tmp"; else echo "units: kept $tmp" >&2; fi
}
trap finish EXIT

# ---- install -----------------------------------------------------------------
if ! make -s -C "$BUILD" install DESTDIR="$root" >"$tmp/install.log" 2>&1; then
	tail -20 "$tmp/install.log" >&2
	fail "make install DESTDIR=$root failed"
	exit 1
fi
# The folders as this build's Makefile names them (make expands them).
# shellcheck disable=SC2016
read -r bindir libexec data etc unitdir < <(printf 'ac-dirs:\n\t@echo $(bindir) $(pkglibexecdir) $(pkgdatadir) $(sysconfdir) $(systemdsystemunitdir)\n' |
	make -s -C "$BUILD" -f Makefile -f - ac-dirs)
[[ -n $unitdir ]] || { fail "the build installs no units (configured --without-systemdsystemunitdir)"; exit 1; }

# ---- layout: each source file where the build says ---------------------------
have() { [[ -e $root$1 ]] || fail "not installed: $1"; }
for p in ac-hook ac-api ac-portal ac-admin; do [[ -x $root$libexec/$p ]] || fail "not installed: $libexec/$p"; done
for p in ac-worker acctl; do [[ -x $root$bindir/$p ]] || fail "not installed: $bindir/$p"; done
for f in "$SRC"/sql/*.sql; do have "$data/sql/${f##*/}"; done
for f in "$SRC"/cgi/templates/*.html; do have "$data/templates/portal/${f##*/}"; done
for f in "$SRC"/cgi/templates/admin/*.html; do have "$data/templates/admin/${f##*/}"; done
for f in "$SRC"/templates/messages/*; do have "$data/templates/messages/${f##*/}"; done
while read -r f; do have "$data/${f#"$SRC"/}"; done < <(find "$SRC/www" -type f)
[[ $(readlink "$root$data/www/bootstrap5") == /usr/share/javascript/bootstrap5 ]] ||
	fail "$data/www/bootstrap5 does not link to Debian's libjs-bootstrap5"
have "$data/openapi.yaml"
for f in "$SRC"/nginx/alertcast-*.conf; do have "$etc/nginx/snippets/${f##*/}"; done
site=$root$etc/nginx/sites-available/alertcast.conf
have "$etc/nginx/sites-available/alertcast.conf"
units=()
for f in "$SRC"/ops/*.service "$SRC"/ops/*.timer; do
	units+=("${f##*/}")
	have "$data/ops/${f##*/}"
	have "$unitdir/${f##*/}"
done
have "$data/ops/alertcast.cron"
# Every file the site names (alias, include) is installed.
for p in $(grep -o '^[[:space:]]*\(alias\|include\)[[:space:]][^;]*' "$site" | awk '{print $2}'); do
	[[ -e $root$p ]] || fail "the nginx site names $p, which is not installed"
done

# ---- instances -------------------------------------------------------------------
# The sockets nginx passes to; a responder with no unit of its own is an
# instance of alertcast-responder@. The worker's timer runs @0 and @1.
socks=$(grep -o 'unix:[^;]*\.sock' "$site" | sed 's|.*/||; s|\.sock$||' | sort -u)
[[ -n $socks ]] || fail "the nginx site passes to no socket"
instances=()
for u in "${units[@]}"; do
	case $u in
	alertcast-responder@.service)
		for s in $socks; do [[ -e $root$unitdir/alertcast-$s.service ]] || instances+=("alertcast-responder@$s.service"); done ;;
	alertcast-worker@.service | alertcast-worker@.timer)
		instances+=("${u/@./@0.}" "${u/@./@1.}") ;;
	*@.*) fail "$u: a template with no instances known to this test" ;;
	*) instances+=("$u") ;;
	esac
done

# The unit as systemd would read it for instance INST: %i expanded, lines joined.
expanded() {
	local u=$1 inst=${1#*@}
	inst=${inst%.*}
	[[ $u == *@* ]] || inst=
	sed -e ':a' -e '/\\$/{N;s/\\\n//;ba' -e '}' "$root$unitdir/$(template "$u")" | sed "s|%i|$inst|g"
}
template() { if [[ $1 == *@* ]]; then echo "${1%%@*}@.${1##*.}"; else echo "$1"; fi; }

# ---- systemd-analyze verify --------------------------------------------------------
mkdir "$tmp/verify"
for u in "${units[@]}"; do
	sed -e "s|$libexec/|$root$libexec/|g" -e "s|$bindir/ac-worker|$root$bindir/ac-worker|g" \
		-e "s|$bindir/acctl|$root$bindir/acctl|g" "$root$unitdir/$u" >"$tmp/verify/$u"
done
if ! (cd "$tmp/verify" && systemd-analyze verify --man=no "${instances[@]}") >"$tmp/verify.log" 2>&1 ||
	[[ -s $tmp/verify.log ]]; then
	cat "$tmp/verify.log" >&2
	fail "systemd-analyze verify: ${instances[*]}"
fi

# ---- what each unit runs and reads -----------------------------------------------
for u in "${instances[@]}"; do
	text=$(expanded "$u")
	for p in $(grep '^Exec' <<<"$text" | grep -o "\($libexec/\|$bindir/\)[^ ]*" | sort -u); do
		[[ -x $root$p ]] || fail "$u runs $p, which is not installed"
	done
	for p in $(grep -o '^Environment=AC_[A-Z_]*DIR=[^ ]*' <<<"$text" | sed 's|.*=||'); do
		[[ $p == /var/lib/alertcast || -d $root$p ]] || fail "$u points a setting to $p, which is not installed"
	done
	[[ $u == *.timer ]] && continue
	grep -q "^EnvironmentFile=$etc/alertcast/alertcast.env$" <<<"$text" ||
		fail "$u: no EnvironmentFile=$etc/alertcast/alertcast.env"
	for k in ProtectSystem=strict NoNewPrivileges=yes PrivateTmp=yes; do
		grep -qx "$k" <<<"$text" || fail "$u: no $k"
	done
	grep -qx 'User=alertcast' <<<"$text" || grep -q '^ExecStart=.*spawn-fcgi.* -u alertcast ' <<<"$text" ||
		fail "$u: does not run as the alertcast user"
	if grep -q '^\(StateDirectory=\|Environment=AC_STATE_DIR=\)' <<<"$text"; then
		grep -q '^ReadWritePaths=.*/var/lib/alertcast' <<<"$text" || fail "$u: uses the state dir but has no ReadWritePaths for it"
	fi
done
for s in $socks; do
	found=
	for u in "${instances[@]}"; do
		expanded "$u" | grep -q "^ExecStart=.* -s /run/alertcast/$s\.sock .*$libexec/ac-$s\( \|$\)" && found=$u
	done
	[[ -n $found ]] || fail "no unit runs ac-$s on /run/alertcast/$s.sock, where the nginx site passes"
done
# The worker's timers together start a run at every minute of the hour, as cron does.
minutes=$(for u in "${instances[@]}"; do
	[[ $u == alertcast-worker@*.timer ]] || continue
	cal=$(expanded "$u" | sed -n 's/^OnCalendar=//p')
	systemd-analyze calendar --iterations=60 "$cal" | sed -n 's/.*\(Next elapse\|Iter\. #[0-9]*\): .* [0-9]*:\([0-9]*\):00 .*/\2/p'
done | sort -u | wc -l)
((minutes == 60)) || fail "the worker's timers start a run at $minutes minutes of the hour, not all 60"
for p in $(grep -v '^#' "$root$data/ops/alertcast.cron" | grep -o "$bindir/[^ ]*" | sort -u); do
	[[ -x $root$p ]] || fail "alertcast.cron runs $p, which is not installed"
done

# ---- nginx: TLS and TradingView's client certificate ------------------------------
pki=$tmp/pki
mkdir "$pki"
cert() { # NAME SUBJECT [CA]: a P-256 key and certificate, signed by CA (default: itself)
	local sign=(-x509 -key "$pki/$1.key")
	openssl ecparam -name prime256v1 -genkey -noout -out "$pki/$1.key" 2>/dev/null
	if [[ -n ${3:-} ]]; then
		openssl req -new -key "$pki/$1.key" -subj "$2" -out "$pki/$1.csr" 2>/dev/null
		openssl x509 -req -in "$pki/$1.csr" -CA "$pki/$3.pem" -CAkey "$pki/$3.key" \
			-CAcreateserial -days 2 -out "$pki/$1.pem" 2>/dev/null
	else
		openssl req -new "${sign[@]}" -subj "$2" -days 2 -out "$pki/$1.pem" 2>/dev/null
	fi
}
cert ca "/CN=alertcast test CA"
cert server "/CN=localhost"
cert tv "/O=TradingView/CN=TradingView Webhooks" ca
cert other "/O=TradingView/CN=Someone Else" ca
port=$((20000 + RANDOM % 20000))
# The installed site, read from DESTDIR, as docs/install.md has the operator
# turn the option on: TLS lines in the server, the include uncommented. The
# allow list is left out (the test posts from 127.0.0.1).
sed -e "s|^\([[:space:]]*\)listen 80;|\1listen 127.0.0.1:$port ssl;\n\1ssl_certificate $pki/server.pem;\n\1ssl_certificate_key $pki/server.key;\n\1ssl_client_certificate $pki/ca.pem;\n\1ssl_verify_client optional;\n\1ssl_verify_depth 2;|" \
	-e 's|^\([[:space:]]*\)# \(include .*alertcast-tradingview-cert\.conf;\)|\1\2|' \
	-e '/alertcast-tradingview-only\.conf;/d' \
	-e "s|$etc/nginx/snippets|$root$etc/nginx/snippets|g" -e "s|$data/|$root$data/|g" \
	-e "s|/var/log/nginx|$tmp|g" -e "s|/run/alertcast|$tmp|g" "$site" >"$tmp/site.conf"
[[ $(grep -c '^[[:space:]]*include .*alertcast-tradingview-cert\.conf;' "$tmp/site.conf") == 2 ]] ||
	fail "the site does not offer the client-certificate include in both /hook/tv locations"
cat >"$tmp/nginx.conf" <<EOF
pid $tmp/nginx.pid;
error_log $tmp/nginx-error.log;
events { }
http { include $tmp/site.conf; }
EOF
mkdir -p "$tmp/nginx"
if ! nginx -t -q -p "$tmp/nginx" -c "$tmp/nginx.conf" >"$tmp/nginx-t.log" 2>&1; then
	cat "$tmp/nginx-t.log" >&2
	fail "nginx -t refuses the installed site with TLS and the client-certificate option"
	exit 1
fi
nginx -p "$tmp/nginx" -c "$tmp/nginx.conf" -g 'daemon on;'
for _ in $(seq 50); do [[ -s $tmp/nginx.pid ]] && break; sleep 0.1; done
nginx_pid=$(cat "$tmp/nginx.pid")
post() { # CERT|-: the status of an alert posted with that client certificate
	local c=()
	[[ $1 != - ]] && c=(--cert "$pki/$1.pem" --key "$pki/$1.key")
	curl -sk -o /dev/null -w '%{http_code}' "${c[@]}" -d '{}' "https://127.0.0.1:$port/hook/tv/test" || true
}
# No responder listens here: a request let through gets the JSON 503.
[[ $(post -) == 403 ]] || fail "an alert without a client certificate is not refused ($(post -))"
[[ $(post other) == 403 ]] || fail "an alert with another CN is not refused ($(post other))"
[[ $(post tv) == 503 ]] || fail "an alert with TradingView's certificate does not reach the responder ($(post tv))"
exit $rc

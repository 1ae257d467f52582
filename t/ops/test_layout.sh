#!/usr/bin/env bash
# t/ops/test_layout.sh — what an operator is handed is there: every unit and
# cron line under ops/ names a program the build makes (a template's
# ac-%i is checked per instance by test_units.sh).
set -euo pipefail
cd "$ROOT"
rc=0
for f in ops/*.service ops/*.timer ops/alertcast.cron; do
	[[ -e $f ]] || continue
	for p in $(grep -o '/usr/\(lib\(exec\)\?/alertcast/\|bin/\)\(ac-[a-z]\+\|acctl\)' "$f" | sort -u); do
		b=${p##*/}
		if [[ ! -x $BUILD/cgi/$b && ! -x $BUILD/worker/$b ]]; then
			echo "layout: $f runs $p, which the build does not make" >&2
			rc=1
		fi
	done
done
exit $rc

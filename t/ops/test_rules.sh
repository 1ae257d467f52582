#!/usr/bin/env bash
# t/ops/test_rules.sh — the monitoring an operator is handed holds: the alert
# rules load (promtool check rules) and fire as their tests say (promtool
# test rules), the Grafana dashboard is valid JSON, and every series the
# dashboard and the rules query is one that ac-hook's /metrics exports (the
# families named in cgi/hook_metrics.c; a histogram's _bucket, _sum and
# _count with it).
set -euo pipefail
cd "$ROOT"
rc=0
command -v promtool >/dev/null || { echo "rules: promtool not installed (Debian's prometheus)" >&2; exit 1; }
promtool check rules ops/prometheus/alertcast.rules.yml >/dev/null || rc=1
(cd ops/prometheus && promtool test rules alertcast.rules.test.yml >/dev/null) || {
	(cd ops/prometheus && promtool test rules alertcast.rules.test.yml) >&2 || true
	rc=1
}

mapfile -t exported < <(grep -o '"alertcast_[a-z0-9_]*"' cgi/hook_metrics.c | tr -d '"' | sort -u)
((${#exported[@]})) || { echo "rules: no alertcast_* series found in cgi/hook_metrics.c" >&2; exit 1; }
python3 - ops/grafana/alertcast.json ops/prometheus/alertcast.rules.yml "${exported[@]}" <<'PY' || rc=1
import json, re, sys
dash, rules, exported = sys.argv[1], sys.argv[2], set(sys.argv[3:])
try:
    d = json.load(open(dash))
except ValueError as e:
    sys.exit("rules: %s is not valid JSON: %s" % (dash, e))
exprs = [(dash, t["expr"]) for p in d.get("panels", []) for t in p.get("targets", [])]
if not exprs:
    sys.exit("rules: %s has no queries" % dash)
exprs += [(rules, e) for e in re.findall(r"expr:\s*(?:>\s*\n)?((?:.+\n?)+?)(?=\s*(?:for|labels):)", open(rules).read())]
bad = 0
for where, e in exprs:
    for name in set(re.findall(r"alertcast_[a-z0-9_]+", e)):
        base = re.sub(r"_(bucket|sum|count)$", "", name)
        if name not in exported and base not in exported:
            print("rules: %s queries %s, which /metrics does not export" % (where, name), file=sys.stderr)
            bad = 1
sys.exit(bad)
PY
exit $rc

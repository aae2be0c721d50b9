#!/bin/bash
# Runs each libFuzzer target for SECONDS seconds from its seed corpus
# (tests/fuzz/corpus/NAME, kept; new inputs go to a temporary directory).
# Prints executions per target and "fuzz: N passed, M failed".
set -u
secs=$1; shift
cd "$(dirname "$0")/../.."
pass=0 fail=0
for t in "$@"; do
	work=$(mktemp -d /tmp/mvm-fuzz.XXXXXX)
	seeds=tests/fuzz/corpus/$t; mkdir -p "$seeds"
	log=$work/log
	build-fuzz/fuzz/"$t" -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
		-artifact_prefix="$work/" "$work" "$seeds" >"$log" 2>&1
	rc=$?
	execs=$(grep -oE 'stat::number_of_executed_units: *[0-9]+' "$log" | grep -oE '[0-9]+$')
	[ -n "$execs" ] || execs=$(grep -oE '#[0-9]+' "$log" | tail -1 | tr -d '#')
	if [ $rc = 0 ]; then
		pass=$((pass + 1)); echo "PASS fuzz $t: ${execs:-?} executions in ${secs}s"
	else
		fail=$((fail + 1)); echo "FAIL fuzz $t (rc $rc): crash input kept in $work"
		grep -E 'ERROR|SUMMARY|runtime error' "$log" | head -5 | sed 's/^/    /'
		continue
	fi
	rm -rf "$work"
done
echo "fuzz: $pass passed, $fail failed"
[ "$fail" = 0 ]

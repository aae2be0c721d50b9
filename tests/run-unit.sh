#!/bin/bash
# Runs every cmocka unit-test binary given and prints one summary line that
# CI understands: "unit: N passed, M failed".
set -u
pass=0 fail=0 skip=0 failed=()
for t in "$@"; do
	out=$("$t" 2>&1); rc=$?
	p=$(printf '%s\n' "$out" | sed -n 's/^\[  PASSED  \] \([0-9]*\) test.*/\1/p' | tail -1)
	f=$(printf '%s\n' "$out" | sed -n 's/^\[  FAILED  \] \([0-9]*\) test.*/\1/p' | tail -1)
	k=$(printf '%s\n' "$out" | sed -n 's/^\[  SKIPPED \] \([0-9]*\) test.*/\1/p' | tail -1)
	pass=$((pass + ${p:-0})); fail=$((fail + ${f:-0})); skip=$((skip + ${k:-0}))
	[ -n "$k" ] && printf '%s\n' "$out" | grep -B1 '^\[  SKIPPED \] [a-z]' | grep -v '^\[ \|^--' | sed "s/^/  $(basename "$t") skip: /"
	if [ "$rc" != 0 ]; then
		[ -n "$f" ] || fail=$((fail + 1))
		failed+=("$(basename "$t")")
		printf '%s\n' "$out" | grep -vE '^\[ (RUN|       OK) ' | sed "s/^/  $(basename "$t"): /"
	fi
done
[ ${#failed[@]} -eq 0 ] || echo "failing unit binaries: ${failed[*]}"
echo "unit: $pass passed, $fail failed, $skip skipped"
[ "$fail" = 0 ]

#!/bin/bash
# Host-side integration tests (no KVM needed).  Each suite prints its own
# "NAME: N passed, M failed" line; this prints the total the same way.
set -u
cd "$(dirname "$0")/../.."
export MVM=${MVM:-./mvm}
total_p=0 total_f=0 failed=()
run() {
	local name=$1; shift
	local out rc
	out=$("$@" 2>&1); rc=$?
	printf '%s\n' "$out"
	local line; line=$(printf '%s\n' "$out" | grep -E '^[a-z_-]+: [0-9]+ passed, [0-9]+ failed' | tail -1)
	local p f
	p=$(sed -n 's/.*: \([0-9]*\) passed.*/\1/p' <<<"$line"); f=$(sed -n 's/.* passed, \([0-9]*\) failed.*/\1/p' <<<"$line")
	total_p=$((total_p + ${p:-0})); total_f=$((total_f + ${f:-0}))
	if [ "$rc" != 0 ]; then failed+=("$name"); [ "${f:-0}" -gt 0 ] || total_f=$((total_f + 1)); fi
}
run bad-input tests/integration/bad_input.sh
run manpage tests/integration/manpage.sh
[ -x tests/integration/acpi_iasl.sh ] && run acpi tests/integration/acpi_iasl.sh
run firmware tests/firmware/run.sh --accel shadow --mvm "$MVM" --fw "${BUILD:-build}/firmware"
[ -x tests/integration/dtb.sh ] && run dtb tests/integration/dtb.sh
[ -x tests/integration/hygiene.sh ] && run hygiene tests/integration/hygiene.sh
[ -x tests/integration/trace.sh ] && run trace tests/integration/trace.sh
[ -x tests/integration/shadow_boot.sh ] && run shadow-boot tests/integration/shadow_boot.sh
[ ${#failed[@]} -eq 0 ] || echo "failing suites: ${failed[*]}"
echo "integration: $total_p passed, $total_f failed"
[ "$total_f" = 0 ]

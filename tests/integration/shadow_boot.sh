#!/bin/bash
# Boots Debian's stock kernel + busybox initramfs on the shadow backend (no
# KVM), with the cases of tests/kvm/cases that make sense on the host: each
# boot must reach the init marker and end with the expected status.
#   tests/integration/shadow_boot.sh [CASE...]
# Prints one PASS/FAIL line per case and "shadow-boot: N passed, M failed".
set -u
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
cd "$ROOT"
DEFAULT_CASES="boot_1cpu boot_2cpu shadow_io"
CASES=${*:-$DEFAULT_CASES}
eval "$(scripts/guest.sh --quiet --print-env)" || { echo "shadow-boot: 0 passed, 1 failed (guest.sh)"; exit 1; }
MVM=${MVM:-./mvm}
case $MVM in /*) ;; *) MVM=$ROOT/$MVM ;; esac
ACCEL=shadow CASEDIR=$ROOT/tests/kvm/cases EXTRA_ARGS= TMO_SCALE=${TMO_SCALE:-4}
OUTDIR=$(mktemp -d /tmp/mvm-shadow.XXXXXX) TMPD=$OUTDIR
export ACCEL MVM KERNEL INITRD
trap 'rm -rf "$OUTDIR"' EXIT
# shellcheck source=../kvm/case_lib.sh
. tests/kvm/case_lib.sh
pass=0 fail=0
for c in $CASES; do
	res=$(run_case "$c" | tee "$OUTDIR/$c.full" | grep '^KVMH: RESULT') 
	if printf '%s' "$res" | grep -q "^KVMH: RESULT $c PASS "; then
		pass=$((pass + 1)); echo "PASS shadow-boot: ${res#KVMH: RESULT }"
	else
		fail=$((fail + 1)); echo "FAIL shadow-boot: ${res#KVMH: RESULT }"
		tail -n 15 "$OUTDIR/$c.full" | sed 's/^/    /'
	fi
done
echo "shadow-boot: $pass passed, $fail failed"
[ "$fail" = 0 ]

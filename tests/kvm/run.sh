#!/bin/bash
# tests/kvm/run.sh: mvm's KVM backend tested against a real /dev/kvm, nested.
#
#   tests/kvm/run.sh [--npt 1|0] [--cases a,b] [--mvm PATH] [--mvm-args "ARGS"] [-v] [--list]
#
# Boots one L1 Linux under QEMU TCG (-cpu EPYC,+svm,+npt) whose /init loads
# kvm_amd and runs every case of tests/kvm/cases/ (format: tests/kvm/README.md)
# against mvm, booting the Debian kernel + busybox initramfs as L2.
# One PASS/FAIL line per case, then "kvm: N passed, M failed, K skipped".
# A wedged L1 (no console output for KVMH_STALL s: a QEMU TCG problem, not an
# mvm one) is retried once with the cases it did not finish; an mvm failure is
# never retried.  Without qemu-system-x86_64 every case is skipped (exit 0).
set -uo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
NPT=1
CASES=""
MVM_BIN=${MVM:-$ROOT/mvm}
MVM_ARGS=""
VERBOSE=0
LIST=0
while [ $# -gt 0 ]; do
	case $1 in
	--npt) NPT=$2; shift 2 ;;
	--npt=*) NPT=${1#*=}; shift ;;
	--cases) CASES=$2; shift 2 ;;
	--cases=*) CASES=${1#*=}; shift ;;
	--mvm) MVM_BIN=$2; shift 2 ;;
	--mvm=*) MVM_BIN=${1#*=}; shift ;;
	--mvm-args) MVM_ARGS=$2; shift 2 ;;
	--mvm-args=*) MVM_ARGS=${1#*=}; shift ;;
	-v|--verbose) VERBOSE=1; shift ;;
	--list) LIST=1; shift ;;
	-h|--help) sed -n '2,/^set -uo/p' "$0" | sed -e '/^set -uo/d' -e 's/^# \{0,1\}//'; exit 0 ;;
	*) echo "kvm: unknown argument '$1' (try --help)" >&2; exit 2 ;;
	esac
done
case $NPT in 0|1) ;; *) echo "kvm: --npt takes 1 or 0, not '$NPT'" >&2; exit 2 ;; esac
case $MVM_ARGS in *,*) echo "kvm: --mvm-args cannot contain commas" >&2; exit 2 ;; esac

KVMH_ROOT=$ROOT
# shellcheck source=tests/kvm/lib.sh
. "$ROOT/tests/kvm/lib.sh"

# Cases: all of tests/kvm/cases/ unless --cases, sorted by their "#@ order:"
# (default 50), then name: the quick harness checks first, then the basic
# boots, then the device cases.
CASEDIR=$ROOT/tests/kvm/cases
if [ -z "$CASES" ]; then
	mapfile -t ALL < <(for f in "$CASEDIR"/*.sh; do
		o=$(sed -n 's/^#@ order: *//p' "$f" | tail -n 1)
		echo "${o:-50} $(basename "$f" .sh)"
	done | sort -k1,1n -k2,2 | cut -d' ' -f2)
else
	IFS=, read -r -a ALL <<<"$CASES"
	for n in "${ALL[@]}"; do
		[ -f "$CASEDIR/$n.sh" ] || { echo "kvm: no such case '$n' (tests/kvm/cases/$n.sh)" >&2; exit 2; }
	done
fi
if [ "$LIST" = 1 ]; then
	for n in "${ALL[@]}"; do printf '%-12s %s\n' "$n" "$(sed -n 's/^#@ desc: //p' "$CASEDIR/$n.sh")"; done
	exit 0
fi

if ! command -v "$KVMH_QEMU" >/dev/null; then
	echo "kvm: SKIP all: $KVMH_QEMU not found (apt-get install qemu-system-x86)"
	echo "kvm: 0 passed, 0 failed, ${#ALL[@]} skipped"
	exit 0
fi
[ -x "$MVM_BIN" ] || kvmh_die "$MVM_BIN not found: run 'make' first (or pass --mvm PATH)"

T0=$SECONDS
mkdir -p "$KVMH_WORK/logs"
kvmh_guest
L1RD=$KVMH_WORK/l1-initrd.$$.cpio.gz
kvmh_build_l1 "$MVM_BIN" "$L1RD"
echo "kvm: L1 initramfs $(du -h "$L1RD" | cut -f1), kernel $KVER, npt=$NPT, cases: ${ALL[*]}"

declare -A RESULT=() DETAIL=()
budget() {	# L1 boot + every case's own timeout, so a slow L1 is not killed early
	local t=120 n v
	for n in "$@"; do
		v=$(sed -n 's/^#@ timeout: *//p' "$CASEDIR/$n.sh" | tail -n 1)
		t=$((t + ${v:-240} + 10))
	done
	echo "$t"
}

rm -f "$KVMH_WORK"/logs/l1-npt$NPT-try*.log*
todo=("${ALL[@]}")
for attempt in 1 2; do
	LOG=$KVMH_WORK/logs/l1-npt$NPT-try$attempt.log
	tmo=$(budget "${todo[@]}")
	if [ "$VERBOSE" = 1 ]; then
		tail -n +1 -F "$LOG" 2>/dev/null &
		TAILPID=$!
	fi
	kvmh_boot_l1 "$LOG" "$L1RD" "kvmh.npt=$NPT kvmh.cases=$(IFS=,; echo "${todo[*]}") kvmh.mvmargs=$(echo $MVM_ARGS | tr ' ' ,)" "$tmo"
	qrc=$?
	if [ "$VERBOSE" = 1 ]; then kill "$TAILPID" 2>/dev/null; wait "$TAILPID" 2>/dev/null; fi
	while read -r _ _ n res detail; do
		RESULT[$n]=$res
		DETAIL[$n]=$detail
	done < <(tr -d '\r' <"$LOG" | grep -E '^KVMH: RESULT ')
	left=()
	for n in "${todo[@]}"; do [ -n "${RESULT[$n]:-}" ] || left+=("$n"); done
	[ ${#left[@]} -eq 0 ] && break
	if [ "$qrc" = 124 ]; then
		why="L1 wedged (QEMU TCG): no console output for ${KVMH_STALL}s"
		grep '^WATCHDOG RIP' "$LOG" | sed 's/^/kvm:   /'
	elif [ "$qrc" = 125 ]; then
		why="L1 still alive after its ${tmo}s budget"
	else
		why="L1 stopped (qemu status $qrc) before finishing"
	fi
	echo "kvm: $why during: ${left[*]} (log: $LOG)"
	if [ "$attempt" = 1 ] && [ "$qrc" = 124 ]; then
		echo "kvm: L1 wedged (QEMU TCG), retrying once with: ${left[*]}"
		todo=("${left[@]}")
		continue
	fi
	for n in "${left[@]}"; do RESULT[$n]=FAIL; DETAIL[$n]="no result: $why"; done
	break
done

pass=0 fail=0 skip=0
for n in "${ALL[@]}"; do
	case ${RESULT[$n]} in
	PASS) pass=$((pass + 1)); echo "PASS $n ${DETAIL[$n]}" ;;
	SKIP) skip=$((skip + 1)); echo "SKIP $n ${DETAIL[$n]}" ;;
	*)
		fail=$((fail + 1))
		echo "FAIL $n: ${DETAIL[$n]}"
		# The case's last console lines, from whichever L1 run got furthest.
		for l in "$KVMH_WORK"/logs/l1-npt$NPT-try2.log "$KVMH_WORK"/logs/l1-npt$NPT-try1.log; do
			[ -f "$l" ] && tr -d '\r' <"$l" | grep -q "^$n| " || continue
			tr -d '\r' <"$l" | grep "^$n| " | tail -n 12 | sed 's/^/    /'
			break
		done
		;;
	esac
done
echo "kvm: logs in $KVMH_WORK/logs, $((SECONDS - T0))s"
echo "kvm: $pass passed, $fail failed, $skip skipped"
[ "$fail" = 0 ]

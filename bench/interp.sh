#!/bin/bash
# bench/interp.sh: instructions per second of mvm's shadow backend (the x86
# interpreter + shadow MMU) against QEMU TCG, on the same firmware guest.
#
#   bench/interp.sh [--runs N] [--mvm PATH] [--compute-n N] [--pt-n N] [--timeout S]
#
# The guest is firmware/bench.c (built here with make), a multiboot ELF whose
# command line picks the workload; its loops are inline assembly with an exact
# instruction count per iteration, which the guest prints:
#   compute  a 10-instruction ALU/load/store loop, --compute-n iterations
#            (default 20000000)
#   compute64  the same loop in long mode (firmware/bench64.c)
#   pt       sweeps over 512 pages, each page's PTE flipped to another frame,
#            INVLPG, a store and a load through it, a CR3 reload per sweep
#            (4103 instructions per sweep), --pt-n sweeps (default 3000)
# Each engine runs each workload with n=N and with n=0; the n=0 time (start-up,
# firmware set-up, exit) is subtracted, so MIPS = N * insns/iter / (t_N - t_0).
# Times are the minimum of --runs runs (default 3).  Both engines must print
# the same checksum, or the numbers are refused.
#   mvm:  $MVM or ./mvm --accel shadow -m 128M -k bench.elf -p "mode=... n=..."
#   QEMU: qemu-system-x86_64 -accel tcg -cpu max -m 128 -kernel bench.elf
#         -append "mode=... n=..." -device isa-debug-exit,iobase=0xf4,iosize=4
# Output: one line per workload with both MIPS figures and mvm/QEMU.
set -uo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# shellcheck source=bench/lib.sh
. "$ROOT/bench/lib.sh"
RUNS=3
TIMEOUT=600
COMPUTE_N=20000000
PT_N=3000
MVM_BIN=${MVM:-$ROOT/mvm}
BUILD=${BUILD:-build}
while [ $# -gt 0 ]; do
	case $1 in
	--runs) RUNS=$2; shift 2 ;;
	--mvm) MVM_BIN=$2; shift 2 ;;
	--compute-n) COMPUTE_N=$2; shift 2 ;;
	--pt-n) PT_N=$2; shift 2 ;;
	--timeout) TIMEOUT=$2; shift 2 ;;
	-h|--help) bench_help "$0"; exit 0 ;;
	*) echo "interp: unknown argument '$1' (try --help)" >&2; exit 2 ;;
	esac
done
for v in "$RUNS" "$COMPUTE_N" "$PT_N" "$TIMEOUT"; do
	case $v in ''|*[!0-9]*|0) echo "interp: counts must be integers >= 1" >&2; exit 2 ;; esac
done
[ -x "$MVM_BIN" ] || { echo "interp: $MVM_BIN not found: run 'make' first, or pass --mvm" >&2; exit 2; }
command -v qemu-system-x86_64 >/dev/null ||
	{ echo "interp: qemu-system-x86_64 not found: apt-get install qemu-system-x86" >&2; exit 2; }
FW=$ROOT/$BUILD/firmware
make -s -C "$ROOT" BUILD="$BUILD" "$BUILD/firmware/bench.elf" "$BUILD/firmware/bench64.elf" >/dev/null ||
	{ echo "interp: building $FW/bench.elf and bench64.elf failed" >&2; exit 2; }

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# run ENGINE WORKLOAD N: guest output in $tmp/out, wall time in ns on stdout.
run() {
	local t0 t1 rc elf=$FW/bench.elf mode=$2
	if [ "$2" = compute64 ]; then elf=$FW/bench64.elf mode=compute; fi
	t0=$(date +%s%N)
	if [ "$1" = mvm ]; then
		timeout "$TIMEOUT" "$MVM_BIN" --accel shadow -m 128M -k "$elf" -p "mode=$mode n=$3" \
			</dev/null >"$tmp/out" 2>"$tmp/err"
	else
		timeout "$TIMEOUT" qemu-system-x86_64 -accel tcg -nodefaults -cpu max -m 128 -no-reboot \
			-display none -serial stdio -kernel "$elf" -append "mode=$mode n=$3" \
			-device isa-debug-exit,iobase=0xf4,iosize=4 </dev/null >"$tmp/out" 2>"$tmp/err"
	fi
	rc=$?
	t1=$(date +%s%N)
	# isa-debug-exit with 0: both exit with (0 << 1) | 1.
	if [ "$rc" != 1 ] || ! grep -q "^bench: $mode n=$3 " "$tmp/out"; then
		echo "interp: $1 $2 n=$3 failed (exit status $rc):" >&2
		cat "$tmp/out" "$tmp/err" | head -5 >&2
		return 1
	fi
	echo $((t1 - t0))
}

# best ENGINE MODE N: minimum wall time of $RUNS runs; leaves the guest's line in $tmp/line.
best() {
	local min= t i
	for ((i = 0; i < RUNS; i++)); do
		t=$(run "$@") || return 1
		{ [ -z "$min" ] || [ "$t" -lt "$min" ]; } && min=$t
	done
	tr -d '\r' <"$tmp/out" | grep "^bench: " >"$tmp/line"
	echo "$min"
}

mips() {	# INSNS NS
	awk -v i="$1" -v t="$2" 'BEGIN { if (t <= 0) print "inf"; else printf "%.1f", i / (t / 1e9) / 1e6 }'
}

status=0
for w in compute compute64 pt; do
	if [ $w = pt ]; then n=$PT_N; else n=$COMPUTE_N; fi
	declare -A ns=() line=()
	ok=1
	for e in mvm qemu; do
		base=$(best $e $w 0) || { ok=0; break; }
		full=$(best $e $w "$n") || { ok=0; break; }
		ns[$e]=$((full - base))
		line[$e]=$(cat "$tmp/line")
	done
	if [ $ok = 0 ]; then
		status=1
		continue
	fi
	sum_m=${line[mvm]##*sum=} sum_q=${line[qemu]##*sum=}
	if [ "$sum_m" != "$sum_q" ]; then
		echo "$w: checksums differ (mvm ${line[mvm]}, qemu ${line[qemu]}): no numbers" >&2
		status=1
		continue
	fi
	per=$(sed -n 's/.*insns\/iter=\([0-9]*\).*/\1/p' <<<"${line[mvm]}")
	insns=$((n * per))
	m=$(mips "$insns" "${ns[mvm]}") q=$(mips "$insns" "${ns[qemu]}")
	ratio=$(awk -v a="${ns[qemu]}" -v b="${ns[mvm]}" 'BEGIN { printf "%.3f", (b > 0 ? a / b : 0) }')
	printf '%-8s %u insns: mvm-shadow %s MIPS (%.3f s), qemu-tcg %s MIPS (%.3f s), mvm/qemu %s\n' \
		"$w" "$insns" "$m" "$(awk -v t="${ns[mvm]}" 'BEGIN { print t / 1e9 }')" \
		"$q" "$(awk -v t="${ns[qemu]}" 'BEGIN { print t / 1e9 }')" "$ratio"
done
exit $status

#!/bin/bash
# bench/boot.sh: boot time of mvm against QEMU, same kernel, same initramfs.
#
#   bench/boot.sh [--accel kvm|shadow] [--runs N] [--mem SIZE] [--cpus N] [--mvm PATH]
#                 [--mvm-args "ARGS"] [--timeout S]
#
# Measures, with bench/tmark, the time from starting the VMM until the guest's
# /init prints MVM_INIT_REACHED (console `quiet`), as the median of N runs
# (default 5; the nested L1 is noisy), and the VMM's memory cost: peak RSS minus the resident pages of
# guest RAM.
#   --accel kvm (default): inside one nested-KVM L1 (tests/kvm/lib.sh) mvm and
#     `qemu-system-x86_64 -M microvm,rtc=on -accel kvm` take turns.
#   --accel shadow: on this host, mvm's interpreter against QEMU's TCG
#     (`-M pc -accel tcg`: microvm can hang in TSC calibration under TCG),
#     the two software CPUs.
set -uo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# shellcheck source=bench/lib.sh
. "$ROOT/bench/lib.sh"
ACCEL=kvm
RUNS=5
TIMEOUT=300
MEM=256M
CPUS=1
MVM_BIN=${MVM:-$ROOT/mvm}
MVM_ARGS=""
while [ $# -gt 0 ]; do
	case $1 in
	--accel) ACCEL=$2; shift 2 ;;
	--runs) RUNS=$2; shift 2 ;;
	--mem) MEM=$2; shift 2 ;;
	--cpus) CPUS=$2; shift 2 ;;
	--mvm) MVM_BIN=$2; shift 2 ;;
	--mvm-args) MVM_ARGS=$2; shift 2 ;;
	--timeout) TIMEOUT=$2; shift 2 ;;
	-h|--help) bench_help "$0"; exit 0 ;;
	*) echo "bench: unknown argument '$1' (try --help)" >&2; exit 2 ;;
	esac
done
case $ACCEL in kvm|shadow) ;; *) echo "bench: --accel takes kvm or shadow" >&2; exit 2 ;; esac
case $RUNS in ''|*[!0-9]*|0) echo "bench: --runs takes a count >= 1" >&2; exit 2 ;; esac
case $MEM in *M) ;; *) echo "bench: --mem takes a size in MiB such as 256M" >&2; exit 2 ;; esac

bench_kvm_setup "$MVM_BIN"

RESULTS=$KVMH_WORK/logs/bench-$ACCEL.txt
: >"$RESULTS"

# --- shadow: both software CPUs on this host -----------------------------------
bench_shadow() {
	local tmark i vmm r append="console=ttyS0 quiet panic=-1" gmin=$((${MEM%M} * 3 / 4))
	tmark=$(kvmh_build_tmark)
	for ((i = 1; i <= RUNS; i++)); do
		for vmm in mvm qemu; do
			if [ "$vmm" = mvm ]; then
				set -- "$MVM_BIN" --accel shadow -k "$KERNEL" -i "$INITRD" -p "$append" -m "$MEM" -c "$CPUS" $MVM_ARGS
			else
				# -M pc, not microvm: under TCG on a loaded host the kernel's
				# PIT calibration of the TSC fails now and then, and microvm has
				# no HPET or ACPI PM timer to fall back on, so it hangs.
				set -- qemu-system-x86_64 -M pc -accel tcg -m "$MEM" -smp "$CPUS" \
					-nodefaults -no-user-config -display none -serial stdio -no-reboot \
					-kernel "$KERNEL" -initrd "$INITRD" -append "$append"
			fi
			r=$("$tmark" -t "$TIMEOUT" -g 300 -G "$gmin" -l "$KVMH_WORK/logs/bench-$vmm.$i.log" MVM_INIT_REACHED "$@" </dev/null)
			echo "BENCH: $vmm run=$i $r" | tee -a "$RESULTS"
		done
	done
}

# --- kvm: both VMMs inside one nested L1 ---------------------------------------
# Extra L1 initramfs content: QEMU with its libraries and firmware, the L1
# side of the benchmark, and its settings.
bench_l1_extra() {
	local r=$1
	bench_l1_qemu "$r"
	cp "$ROOT/bench/l1bench.sh" "$r/bench/l1bench.sh"
	printf 'KERNEL=/l2/bzImage\nINITRD=/l2/initrd.cpio.gz\nMEM=%s\nCPUS=%s\nMVM_ARGS=%q\nTIMEOUT=%s\n' "$MEM" "$CPUS" "$MVM_ARGS" "$TIMEOUT" >"$r/bench/config"
}

bench_kvm() {
	local rd=$KVMH_WORK/l1-bench-initrd.$$.cpio.gz
	kvmh_build_l1 "$MVM_BIN" "$rd" bench_l1_extra
	bench_run_l1 bench "$rd" "$RUNS" "$TIMEOUT" "$RESULTS"
}

if [ "$ACCEL" = kvm ]; then bench_kvm; else bench_shadow; fi

# --- summary ----------------------------------------------------------------------
field() { grep "^BENCH: $1 " "$RESULTS" | grep -v 'marker_ms=-1' | grep -oE "$2=[-0-9.]+" | cut -d= -f2; }
declare -A MED=()
for vmm in mvm qemu; do
	ok=$(field "$vmm" marker_ms | wc -l)
	bad=$(grep "^BENCH: $vmm " "$RESULTS" | grep -c 'marker_ms=-1')
	MED[$vmm]=$(field "$vmm" marker_ms | bench_median)
	printf 'bench: %-4s %s: time to MVM_INIT_REACHED median %s ms (%s runs ok, %s without marker: %s); peak RSS %s kB, guest RAM resident %s kB, VMM overhead %s kB (medians)\n' \
		"$vmm" "$ACCEL" "${MED[$vmm]}" "$ok" "$bad" "$(field "$vmm" marker_ms | paste -sd' ')" \
		"$(field "$vmm" maxrss_kb | bench_median)" "$(field "$vmm" guest_kb | bench_median)" "$(field "$vmm" vmm_kb | bench_median)"
done
if [ "${MED[mvm]}" != - ] && [ "${MED[qemu]}" != - ]; then
	awk -v a="${MED[mvm]}" -v b="${MED[qemu]}" 'BEGIN { printf "bench: ratio mvm/qemu = %.2f (below 1: mvm boots faster)\n", a / b }'
else
	echo "bench: no ratio: one of the VMMs never reached the marker (see $KVMH_WORK/logs)"
	exit 1
fi

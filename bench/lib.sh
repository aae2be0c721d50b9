#!/bin/bash
# bench/lib.sh: pieces the bench/*.sh drivers share; sourced after ROOT is set.
# The KVM helpers (bench_kvm_setup onwards) need tests/kvm/lib.sh, which
# bench_kvm_setup sources.

# The comment block at the top of script $1 (up to `set -uo`): its --help.
bench_help() {
	sed -n '2,/^set -uo/p' "$1" | sed -e '/^set -uo/d' -e 's/^# \{0,1\}//'
}

# Median of the numbers on stdin, one per line; "-" when there are none.
bench_median() {
	sort -n | awk '{ v[NR] = $1 } END { if (NR == 0) print "-"; else if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

# Both VMMs inside one nested L1: tests/kvm/lib.sh, its L2 guest, and checks
# for QEMU and the mvm binary $1.
bench_kvm_setup() {
	KVMH_ROOT=$ROOT
	# shellcheck source=tests/kvm/lib.sh
	. "$ROOT/tests/kvm/lib.sh"
	command -v qemu-system-x86_64 >/dev/null || kvmh_die "qemu-system-x86_64 not found (apt-get install qemu-system-x86)"
	[ -x "$1" ] || kvmh_die "$1 not found: run 'make' first (or pass --mvm PATH)"
	mkdir -p "$KVMH_WORK/logs"
	kvmh_guest
}

# QEMU with its libraries and the firmware microvm loads, into L1 initramfs root $1.
bench_l1_qemu() {
	local r=$1 f
	kvmh_copy_bin "$(command -v qemu-system-x86_64)" "$r" /usr/bin/qemu-system-x86_64
	mkdir -p "$r/usr/share/qemu" "$r/bench"
	for f in bios-microvm.bin qboot.rom linuxboot_dma.bin pvh.bin kvmvapic.bin; do
		[ -e "/usr/share/qemu/$f" ] && cp -L "/usr/share/qemu/$f" "$r/usr/share/qemu/"
	done
}

# bench_run_l1 NAME INITRD RUNS TIMEOUT RESULTS: boot L1 with kvmh.mode=bench,
# its BENCH lines into RESULTS; one retry when QEMU TCG wedges the first L1.
# Returns only when L1 finished the benchmark.
bench_run_l1() {
	local name=$1 rd=$2 runs=$3 tmo=$((180 + $3 * 2 * ($4 + 10))) results=$5 log attempt rc
	for attempt in 1 2; do
		log=$KVMH_WORK/logs/l1-$name-try$attempt.log
		echo "bench: booting L1 (attempt $attempt, log $log)" >&2
		kvmh_boot_l1 "$log" "$rd" "kvmh.mode=bench kvmh.runs=$runs" "$tmo"
		rc=$?
		tr -d '\r' <"$log" | grep -E '^BENCH' | tee -a "$results"
		tr -d '\r' <"$log" | grep -q '^KVMH: DONE' && return 0
		if [ "$rc" = 124 ] && [ "$attempt" = 1 ]; then
			echo "bench: L1 wedged (QEMU TCG), retrying once"
			: >"$results"
			continue
		fi
		kvmh_die "L1 did not finish the benchmark (qemu status $rc, log $log)"
	done
}

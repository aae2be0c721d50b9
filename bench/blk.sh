#!/bin/bash
# bench/blk.sh: virtio-blk throughput of mvm against QEMU, same guest, same disk.
#
#   bench/blk.sh [--runs N] [--size MIB] [--secs S] [--engine libaio|pread]
#                [--mvm PATH] [--mvm-args "ARGS"] [--timeout S]
#
# Inside one nested-KVM L1 (tests/kvm/lib.sh) mvm (`--accel kvm -d DISK`) and
# `qemu-system-x86_64 -M microvm,rtc=on -accel kvm -cpu host` with
# `-drive file=DISK,format=raw,cache=none,aio=native -device virtio-blk-device`
# take turns (N runs each, default 3, alternating) booting the Debian kernel
# with the test initramfs plus bench/randread (built static here).  In the L2
# guest, against /dev/vda, all O_DIRECT at queue depth 1:
#   seq write  --size MiB (default 128) in 1 MiB pwrites + fdatasync  MB/s
#   seq read   the same range in 1 MiB preads                         MB/s
#   (three sequential passes of each per boot)
#   rand read  4 KiB preads at random offsets for --secs s (default 5)  IOPS
# DISK is a RAM disk in L1 (brd, 2 x --size): L1's tmpfs (kernel 6.1) refuses
# O_DIRECT, and a RAM disk leaves the VMMs' own I/O paths as the difference.
# --engine: mvm's disk engine (MVM_BLK_ENGINE; default libaio, O_DIRECT).
# Prints each run, then a table of medians: metric, mvm, qemu, mvm/qemu.
set -uo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# shellcheck source=bench/lib.sh
. "$ROOT/bench/lib.sh"
RUNS=3
SIZE=128
SECS=5
TIMEOUT=300
ENGINE=libaio
MVM_BIN=${MVM:-$ROOT/mvm}
MVM_ARGS=""
while [ $# -gt 0 ]; do
	case $1 in
	--runs) RUNS=$2; shift 2 ;;
	--size) SIZE=$2; shift 2 ;;
	--secs) SECS=$2; shift 2 ;;
	--engine) ENGINE=$2; shift 2 ;;
	--mvm) MVM_BIN=$2; shift 2 ;;
	--mvm-args) MVM_ARGS=$2; shift 2 ;;
	--timeout) TIMEOUT=$2; shift 2 ;;
	-h|--help) bench_help "$0"; exit 0 ;;
	*) echo "bench: unknown argument '$1' (try --help)" >&2; exit 2 ;;
	esac
done
case $ENGINE in libaio|pread) ;; *) echo "bench: --engine takes libaio or pread" >&2; exit 2 ;; esac
for v in RUNS SIZE SECS TIMEOUT; do
	case ${!v} in ''|*[!0-9]*|0) echo "bench: --${v,,} takes a whole number >= 1" >&2; exit 2 ;; esac
done

bench_kvm_setup "$MVM_BIN"

RESULTS=$KVMH_WORK/logs/bench-blk.txt
: >"$RESULTS"

# The guest side: randread plus the script /init runs for mvm.test=blkbench,
# as a second cpio archive appended to the test initramfs (the kernel unpacks
# concatenated archives in turn).
RANDREAD=$KVMH_WORK/randread
if [ ! -x "$RANDREAD" ] || [ "$ROOT/bench/randread.c" -nt "$RANDREAD" ]; then
	${CC:-cc} -O2 -static -Wall -Wextra -Werror -o "$RANDREAD" "$ROOT/bench/randread.c" ||
		kvmh_die "cannot build bench/randread.c statically (needs libc6-dev's libc.a)"
fi
L2RD=$KVMH_WORK/l2-blk.$$.cpio.gz
OVL=$KVMH_WORK/l2-blk-ovl.$$
KVMH_TMP+=("$L2RD" "$OVL")
mkdir -p "$OVL/bin" "$OVL/tests"
cp "$RANDREAD" "$OVL/bin/randread"
cat >"$OVL/tests/blkbench.sh" <<EOF
#!/bin/sh
# Guest half of bench/blk.sh (generated).
[ -b /dev/vda ] || { echo "BLKB_FAIL no /dev/vda: \$(ls /sys/block)"; exit 1; }
# Sequential passes are short: three of each per boot.
for k in 1 2 3; do
	for m in write read; do
		/bin/randread -m \$m -s $SIZE /dev/vda || echo "BLKB_FAIL randread -m \$m"
	done
done
/bin/randread -m rand -t $SECS /dev/vda || echo "BLKB_FAIL randread -m rand"
EOF
{ cat "$INITRD"; (cd "$OVL" && find . | LC_ALL=C sort | cpio -o -H newc -R 0:0 --quiet | gzip -1); } >"$L2RD"

# The L1 side: /bench/l1bench.sh is what l1init.sh runs with kvmh.mode=bench.
bench_l1_extra() {
	local r=$1 brd
	bench_l1_qemu "$r"
	brd=$(find "$MODDIR/kernel" -name 'brd.ko*' -print -quit)
	[ -n "$brd" ] || kvmh_die "brd.ko (RAM disk) not found in $MODDIR"
	case $brd in
	*.xz) xz -dc "$brd" >"$r/mods/brd.ko" ;;
	*.zst) zstd -qdc "$brd" >"$r/mods/brd.ko" ;;
	*) cp "$brd" "$r/mods/brd.ko" ;;
	esac
	cp "$L2RD" "$r/l2/initrd-blk.cpio.gz"
	printf 'MEM=256M\nSIZE=%s\nMVM_ARGS=%q\nTIMEOUT=%s\nexport MVM_BLK_ENGINE=%s\n' "$SIZE" "$MVM_ARGS" "$TIMEOUT" "$ENGINE" >"$r/bench/config"
	cat >"$r/bench/l1bench.sh" <<'EOF'
#!/bin/sh
# L1 half of bench/blk.sh (generated): mvm and QEMU alternate on one RAM disk.
RUNS=${1:-3}
[ -n "$RUNS" ] || RUNS=3
. /bench/config
insmod /mods/brd.ko rd_nr=1 rd_size=$((SIZE * 2 * 1024)) || echo "BENCH-ERR insmod brd failed"
DISK=/dev/ram0
# brd allocates its pages on first write: fill it now, not in mvm's first run.
dd if=/dev/zero of=$DISK bs=1M count=$((SIZE * 2)) 2>/dev/null
K=/l2/bzImage
I=/l2/initrd-blk.cpio.gz
APPEND="console=ttyS0 quiet panic=-1 mvm.test=blkbench"
i=0
while [ "$i" -lt "$RUNS" ]; do
	i=$((i + 1))
	for vmm in mvm qemu; do
		if [ "$vmm" = mvm ]; then
			set -- /bin/mvm --accel kvm -k "$K" -i "$I" -p "$APPEND" -m "$MEM" -c 1 -d "$DISK" $MVM_ARGS
		else
			set -- /usr/bin/qemu-system-x86_64 -M microvm,rtc=on -accel kvm -cpu host \
				-m "$MEM" -smp 1 -nodefaults -no-user-config -display none \
				-serial stdio -no-reboot -kernel "$K" -initrd "$I" -append "$APPEND" \
				-drive "file=$DISK,if=none,id=d0,format=raw,cache=none,aio=native" \
				-device virtio-blk-device,drive=d0
		fi
		r=$(/bin/tmark -t "$TIMEOUT" -g 3000 -l "/tmp/$vmm.$i.log" MVM_TEST_END "$@" </dev/null)
		tr -d '\r' <"/tmp/$vmm.$i.log" | grep '^RANDREAD ' | sed "s/^/BENCH: $vmm run=$i /"
		echo "BENCH-VMM: $vmm run=$i $r"
		if ! tr -d '\r' <"/tmp/$vmm.$i.log" | grep -q '^RANDREAD mode=rand'; then
			tr -d '\r' <"/tmp/$vmm.$i.log" | tail -n 20 | sed "s/^/BENCH-LOG $vmm| /"
		fi
	done
done
EOF
	chmod 755 "$r/bench/l1bench.sh"
}

RD=$KVMH_WORK/l1-blk-initrd.$$.cpio.gz
kvmh_build_l1 "$MVM_BIN" "$RD" bench_l1_extra
bench_run_l1 blk "$RD" "$RUNS" "$TIMEOUT" "$RESULTS"

# --- summary ----------------------------------------------------------------------
# vals VMM MODE KEY: that value of every run.
vals() { grep "^BENCH: $1 run=[0-9]* RANDREAD mode=$2 " "$RESULTS" | grep -oE " $3=[0-9.]+" | cut -d= -f2; }
echo
echo "bench: virtio-blk in the L2 guest, O_DIRECT, queue depth 1, ${SIZE} MiB sequential, ${SECS} s random; RAM disk in L1; mvm engine $ENGINE; medians of $RUNS boots each (sequential: 3 passes per boot)"
printf '%-26s %12s %12s %10s   %s\n' metric mvm qemu mvm/qemu "runs (mvm | qemu)"
status=0
for row in "write MBps seq write 1M (MB/s)" "read MBps seq read 1M (MB/s)" "rand iops rand read 4K (IOPS)"; do
	set -- $row
	mode=$1 key=$2
	shift 2
	a=$(vals mvm "$mode" "$key" | bench_median)
	b=$(vals qemu "$mode" "$key" | bench_median)
	ratio=-
	if [ "$a" != - ] && [ "$b" != - ]; then
		ratio=$(awk -v a="$a" -v b="$b" 'BEGIN { printf "%.2f", a / b }')
	else
		status=1
	fi
	printf '%-26s %12s %12s %10s   %s | %s\n' "$*" "$a" "$b" "$ratio" \
		"$(vals mvm "$mode" "$key" | paste -sd' ')" "$(vals qemu "$mode" "$key" | paste -sd' ')"
done
[ "$status" = 0 ] || echo "bench: some figures are missing: see the BENCH-LOG lines above and $KVMH_WORK/logs/l1-blk-try*.log"
exit $status

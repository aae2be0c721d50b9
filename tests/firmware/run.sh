#!/bin/sh
# Run every firmware guest and compare its serial output with the expected
# transcript.  POSIX sh, so it also runs under busybox inside the nested-KVM L1.
#
#   tests/firmware/run.sh [--accel shadow|kvm|auto] [--mvm PATH] [--peer qemu]
#                         [--fw DIR] [--tag NAME] [--timeout SECONDS] [--update]
#                         [PROGRAM...]
#
# Default: $MVM or ./mvm with --accel auto (kvm when /dev/kvm is usable, else
# shadow); images from $BUILD/firmware (built first with make), or --fw DIR.
# --peer qemu runs the same images under qemu-system-x86_64 (TCG), the oracle
# the transcripts were made with.
#
# A program passes when its output equals <prog>.<tag>.expected next to this
# script if that exists, else <prog>.expected, and the exit status is 1 (an
# isa-debug-exit write of 0).  The tag is the peer or accel name unless --tag
# says otherwise.  A tagged transcript records what differs on that peer:
# CPUID-dependent lines, or a known deviation of the peer written as FAIL
# lines, in which case the exit status must be 3 (code 1).  Known ones:
#   qemu: QEMU 7.2 TCG reports reserved-bit page faults without P
#         (paging, paging64); its MMU also writes the accessed bit of PAE
#         PDPTEs.
#   kvm:  the nested setup of tests/kvm (L0 QEMU TCG, npt=1) inherits both;
#         with npt=0 or on real hardware use --tag generic.
#   shadow: no 1G pages, SMEP or SMAP in its CPUID (paging64); no hypercall
#         for OSI under qemu/kvm (osi).
# --update rewrites the selected transcripts from this run (review the diff).
#
# A program that needs more than the default machine has <prog>.mvm-args next
# to this script: one line of extra mvm options, where @DISK@ stands for a
# fresh zero-filled 1 MiB image in the temporary directory (e.g. hostile:
# "-d @DISK@").  Such programs need mvm's devices and are skipped with
# --peer qemu.
set -u
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
accel=auto mvm=${MVM:-$root/mvm} peer= fwdir= tag= timeout=60 update=0
progs=
while [ $# -gt 0 ]; do
	case $1 in
	--accel) accel=$2; shift 2 ;;
	--mvm) mvm=$2; shift 2 ;;
	--peer) peer=$2; shift 2 ;;
	--fw) fwdir=$2; shift 2 ;;
	--tag) tag=$2; shift 2 ;;
	--timeout) timeout=$2; shift 2 ;;
	--update) update=1; shift ;;
	-h|--help) sed -n '2,39p' "$0"; exit 0 ;;
	-*) echo "run.sh: unknown option $1 (try --help)" >&2; exit 2 ;;
	*) progs="$progs $1"; shift ;;
	esac
done
case $peer in
''|qemu) ;;
*) echo "run.sh: --peer takes only qemu" >&2; exit 2 ;;
esac
if [ -z "$progs" ]; then
	for e in "$here"/*.expected; do
		b=$(basename "$e")
		progs="$progs ${b%%.*}"
	done
	progs=$(printf '%s\n' $progs | sort -u)
fi
if [ -z "$fwdir" ]; then
	# Build the images (cheap when up to date) into the tree's build dir.
	fwdir=$root/${BUILD:-build}/firmware
	make -s -C "$root" BUILD="${BUILD:-build}" firmware >/dev/null ||
		{ echo "run.sh: make firmware failed" >&2; exit 2; }
fi
if [ "$accel" = auto ]; then
	# Resolve as mvm does, so the right tagged transcript is used.
	# PVM's /dev/kvm (kvm_pvm) runs only PVM guests: mvm takes shadow there.
	if [ -r /dev/kvm ] && [ -w /dev/kvm ] && [ ! -e /sys/module/kvm_pvm ]; then accel=kvm; else accel=shadow; fi
fi
if [ -n "$peer" ]; then
	command -v qemu-system-x86_64 >/dev/null ||
		{ echo "run.sh: qemu-system-x86_64 not found: apt-get install qemu-system-x86" >&2; exit 2; }
	: "${tag:=$peer}"
else
	[ -x "$mvm" ] || { echo "run.sh: $mvm is not executable: build it with make, or pass --mvm" >&2; exit 2; }
	: "${tag:=$accel}"
fi

run_one() {
	if [ -n "$peer" ]; then
		timeout "$timeout" qemu-system-x86_64 -nodefaults -cpu max -m 128 -no-reboot \
			-display none -serial stdio -kernel "$1" \
			-device isa-debug-exit,iobase=0xf4,iosize=0x04 -device pc-testdev \
			</dev/null 2>/dev/null
	else
		# $2: extra options from <prog>.mvm-args, split into words on purpose.
		# shellcheck disable=SC2086
		timeout "$timeout" "$mvm" --accel "$accel" -m 128M --console serial \
			-k "$1" $2 ${MVM_EXTRA_ARGS:-} </dev/null 2>/dev/null
	fi
}

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
pass=0 fail=0
for p in $progs; do
	elf=$fwdir/$p.elf
	exp=$here/$p.$tag.expected
	[ -f "$exp" ] || exp=$here/$p.expected
	if [ ! -f "$exp" ] && [ "$update" = 0 ]; then
		echo "FAIL $p: no transcript $p.$tag.expected or $p.expected"
		fail=$((fail + 1))
		continue
	fi
	if [ ! -f "$elf" ]; then
		echo "FAIL $p: $elf missing (make firmware)"
		fail=$((fail + 1))
		continue
	fi
	extra=
	if [ -f "$here/$p.mvm-args" ]; then
		if [ -n "$peer" ]; then
			echo "SKIP $p: needs mvm's devices ($p.mvm-args)"
			continue
		fi
		dd if=/dev/zero of="$tmp/disk.img" bs=1024 count=1024 2>/dev/null
		extra=$(sed "s|@DISK@|$tmp/disk.img|g" "$here/$p.mvm-args")
	fi
	{ run_one "$elf" "$extra"; echo $? >"$tmp/rc"; } | tr -d '\r' >"$tmp/$p.out"
	rc=$(cat "$tmp/rc")
	[ "$update" = 0 ] || cp "$tmp/$p.out" "$exp"
	want=1
	grep -q '^FAIL ' "$exp" 2>/dev/null && want=3
	if [ "$rc" = "$want" ] && cmp -s "$exp" "$tmp/$p.out"; then
		echo "PASS $p"
		pass=$((pass + 1))
	else
		echo "FAIL $p (exit status $rc, want $want)"
		diff -u "$exp" "$tmp/$p.out" | sed -n '3,40p' | sed 's/^/    /'
		fail=$((fail + 1))
	fi
done
echo "firmware: $pass passed, $fail failed"
[ "$fail" = 0 ]

# shellcheck shell=bash
# tests/kvm/lib.sh: shared by tests/kvm/run.sh and bench/boot.sh (source it).
#
# Builds the L1 initramfs (busybox + kvm modules + mvm + the L2 guest) and boots
# it under QEMU TCG with nested SVM, behind a no-output watchdog.  Why nested:
# no machine here has /dev/kvm, but QEMU's TCG emulates AMD SVM with nested
# paging, so a Linux guest under TCG can load kvm_amd and offer a real one.
#
# Caller sets before sourcing: KVMH_ROOT (repo), and may set KVMH_CACHE.

KVMH_ROOT=${KVMH_ROOT:?set KVMH_ROOT before sourcing lib.sh}
KVMH_CACHE=${KVMH_CACHE:-${MVM_CACHE:-$KVMH_ROOT/.cache}}
KVMH_WORK=$KVMH_CACHE/kvm
# QEMU settings that survived stress testing: 1 L1 vCPU (-smp 2 wedged in TCG
# text patching), nested paging, and a periodic tick in L1 (with tickless
# TSC-deadline timers an L1 once went idle in HLT and never woke up).
KVMH_QEMU=${KVMH_QEMU:-qemu-system-x86_64}
KVMH_CPU=${KVMH_CPU:-EPYC,+svm,+npt}
KVMH_L1_MEM=${KVMH_L1_MEM:-2G}
KVMH_L1_APPEND="console=ttyS0 panic=-1 nokaslr rdinit=/init quiet lapic=notscdeadline nohz=off highres=off"
# Seconds without any L1 console output before the L1 counts as wedged.  L1
# prints a heartbeat every 10 s, so only a dead L1 stays silent this long.
KVMH_STALL=${KVMH_STALL:-60}

kvmh_die() { echo "kvm: error: $*" >&2; exit 1; }

# A killed or interrupted run must not leave an L1 QEMU spinning.
KVMH_QEMU_PID=""
KVMH_TMP=()	# per-run files (initramfs images), so runs sharing a cache do not collide
kvmh_cleanup() {
	[ -z "$KVMH_QEMU_PID" ] || kill "$KVMH_QEMU_PID" 2>/dev/null
	[ ${#KVMH_TMP[@]} -eq 0 ] || rm -rf "${KVMH_TMP[@]}"
}
trap kvmh_cleanup EXIT
trap 'exit 130' INT TERM

# kvmh_guest: fetch the kernel + L2 initramfs, sets KERNEL INITRD KVER MODDIR.
kvmh_guest() {
	local env
	env=$(MVM_CACHE=$KVMH_CACHE "$KVMH_ROOT/scripts/guest.sh" --print-env) ||
		kvmh_die "scripts/guest.sh failed"
	eval "$env"
}

# Module load order from modinfo, dependencies first.  Prints "name file" lines.
kvmh_mod_order() {
	local -A seen=()
	_kvmh_add() {
		local n=$1 k f d
		k=$(echo "$n" | tr - _)
		[ -z "${seen[$k]+x}" ] || return 0
		seen[$k]=1
		f=$(find "$MODDIR/kernel" \( -name "$n.ko*" -o -name "$(echo "$n" | tr _- -_).ko*" \) -print -quit)
		[ -n "$f" ] || return 0		# built in
		for d in $(modinfo -F depends "$f" | tr , ' '); do _kvmh_add "$d"; done
		echo "$k $f"
	}
	local m
	for m in "$@"; do _kvmh_add "$m"; done
}

# kvmh_copy_bin BIN ROOT DEST: copy a dynamic executable and every shared
# library ldd names (at the same absolute paths) into ROOT.
kvmh_copy_bin() {
	local bin=$1 root=$2 dest=$3 lib
	mkdir -p "$root$(dirname "$dest")"
	cp -L "$bin" "$root$dest"
	for lib in $(ldd "$bin" 2>/dev/null | grep -oE '/[^ ]+' ); do
		[ -e "$root$lib" ] && continue
		mkdir -p "$root$(dirname "$lib")"
		cp -L "$lib" "$root$lib"
	done
}

kvmh_populate_busybox() {
	local r=$1 bb a
	bb=$(command -v busybox) || kvmh_die "busybox not found: apt-get install busybox-static"
	mkdir -p "$r/bin" "$r/sbin"
	cp "$bb" "$r/bin/busybox"
	for a in $("$bb" --list); do
		[ "$a" = busybox ] || [ -e "$r/bin/$a" ] || ln -s busybox "$r/bin/$a"
	done
}

# kvmh_build_tmark: the marker timer, static so it runs in L1 without libs.
kvmh_build_tmark() {
	local src=$KVMH_ROOT/bench/tmark.c out=$KVMH_WORK/tmark
	if [ ! -x "$out" ] || [ "$src" -nt "$out" ]; then
		${CC:-cc} -O2 -static -Wall -Wextra -Werror -o "$out" "$src" ||
			kvmh_die "cannot build $src statically (needs libc6-dev's libc.a)"
	fi
	echo "$out"
}

# kvmh_build_l1 MVM_BIN OUT [extra setup function]: the L1 initramfs.
kvmh_build_l1() {
	local mvm=$1 out=$2 extra=${3:-} r=$KVMH_WORK/l1root.$$ name f
	KVMH_TMP+=("$r" "$out")
	rm -rf "$r"
	mkdir -p "$r"/{proc,sys,dev,tmp,mods,l2,cases,out}
	kvmh_populate_busybox "$r"
	cp "$KVMH_ROOT/tests/kvm/l1init.sh" "$r/init"
	cp "$KVMH_ROOT/tests/kvm/case_lib.sh" "$r/case_lib.sh"
	chmod 755 "$r/init"
	: >"$r/mods/order"
	while read -r name f; do
		case $f in
		*.xz) xz -dc "$f" >"$r/mods/$name.ko" ;;
		*.zst) zstd -qdc "$f" >"$r/mods/$name.ko" ;;
		*) cp "$f" "$r/mods/$name.ko" ;;
		esac
		echo "$name" >>"$r/mods/order"
	done < <(kvmh_mod_order kvm_amd tun loop)	# loop: the durability case's disk
	grep -qx kvm_amd "$r/mods/order" || kvmh_die "kvm-amd.ko not found in $MODDIR"
	# mvm links libfdt, libseccomp and libaio dynamically: ship them (and the
	# loader) rather than a second, static build, so L1 tests the binary that
	# `make` produced.
	kvmh_copy_bin "$mvm" "$r" /bin/mvm
	# Host-side tools of the virtio_blk case (mkfs.ext4 keeps its name: mke2fs
	# picks the file system type from argv[0]).
	for f in mkfs.ext4 debugfs e2fsck; do
		f=$(PATH=$PATH:/sbin:/usr/sbin command -v "$f") && kvmh_copy_bin "$f" "$r" "/sbin/${f##*/}"
	done
	[ ! -f /etc/mke2fs.conf ] || { mkdir -p "$r/etc"; cp /etc/mke2fs.conf "$r/etc/"; }
	cp "$(kvmh_build_tmark)" "$r/bin/tmark"
	cp "$KERNEL" "$r/l2/bzImage"
	cp "$INITRD" "$r/l2/initrd.cpio.gz"
	cp "$KVMH_ROOT"/tests/kvm/cases/*.sh "$r/cases/"
	# The firmware guests and their transcripts, for the firmware case.
	if ls "$KVMH_ROOT/${BUILD:-build}"/firmware/*.elf >/dev/null 2>&1; then
		mkdir -p "$r/fw/elf"
		cp "$KVMH_ROOT/${BUILD:-build}"/firmware/*.elf "$r/fw/elf/"
		cp -r "$KVMH_ROOT/tests/firmware" "$r/fw/tests"
	fi
	[ -z "$extra" ] || "$extra" "$r"
	(cd "$r" && find . | LC_ALL=C sort | cpio -o -H newc -R 0:0 --quiet | gzip -1) >"$out"
	rm -rf "$r"
}

# kvmh_symbolise INITRD RIP...: name the kernel functions a wedged vCPU sat
# in.  Debian's System.map is a stub, so a second, short L1 boot looks them
# up in /proc/kallsyms (L1 boots with nokaslr: the addresses are stable).
kvmh_symbolise() {
	local initrd=$1
	shift
	[ $# -gt 0 ] || return 0
	timeout 120 "$KVMH_QEMU" -accel tcg,thread=multi -cpu "$KVMH_CPU" -m "$KVMH_L1_MEM" -smp 1 \
		-display none -serial stdio -no-reboot -nodefaults \
		-kernel "$KERNEL" -initrd "$initrd" \
		-append "$KVMH_L1_APPEND kvmh.lookup=$(IFS=,; echo "$*")" </dev/null 2>/dev/null |
		tr -d '\r' | sed -n 's/^KVMH: SYM //p'
}

# kvmh_boot_l1 LOG INITRD APPEND TIMEOUT: boot L1, its console into LOG.
# Returns qemu's status; 124 when the watchdog killed a silent L1 (after
# dumping the vCPU registers through the monitor into LOG.mon); 125 when L1
# was alive but overran TIMEOUT.
kvmh_boot_l1() {
	local log=$1 initrd=$2 append=$3 tmo=$4 mon pid last=-1 same=0 start=$SECONDS sz rips
	mon=$KVMH_WORK/mon.$$.sock
	rm -f "$mon" "$log.mon"
	: >"$log"
	"$KVMH_QEMU" -accel tcg,thread=multi -cpu "$KVMH_CPU" -m "$KVMH_L1_MEM" -smp 1 \
		-display none -serial stdio -no-reboot -nodefaults \
		-kernel "$KERNEL" -initrd "$initrd" -append "$KVMH_L1_APPEND $append" \
		-monitor "unix:$mon,server,nowait" </dev/null >>"$log" 2>&1 &
	pid=$!
	KVMH_QEMU_PID=$pid
	while kill -0 "$pid" 2>/dev/null; do
		sleep 1
		sz=$(stat -c %s "$log")
		if [ "$sz" = "$last" ]; then same=$((same + 1)); else same=0; last=$sz; fi
		if [ "$same" -ge "$KVMH_STALL" ] || [ $((SECONDS - start)) -ge "$tmo" ]; then
			echo "=== WATCHDOG: no L1 output for ${same}s, $((SECONDS - start))s in total ===" >>"$log"
			if command -v socat >/dev/null; then
				for q in "info cpus" "info registers" "info registers" "info registers"; do
					printf '%s\n' "$q" | socat -t2 - "UNIX-CONNECT:$mon" 2>&1 | tr -d '\r' >>"$log.mon"
				done
				rips=$(grep -oE 'RIP=[0-9a-f]{16}' "$log.mon" | cut -d= -f2 | sort -u)
				kill "$pid" 2>/dev/null
				wait "$pid" 2>/dev/null
				kvmh_symbolise "$initrd" $rips | sed 's/^/WATCHDOG RIP /' >>"$log"
			fi
			kill "$pid" 2>/dev/null
			wait "$pid" 2>/dev/null
			rm -f "$mon"
			[ "$same" -ge "$KVMH_STALL" ] && return 124
			return 125
		fi
	done
	wait "$pid"
	local rc=$?
	KVMH_QEMU_PID=""
	rm -f "$mon"
	return $rc
}

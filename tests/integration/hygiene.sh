#!/bin/bash
# Process hygiene of mvm itself (issue 7):
#
#  (a) every descriptor mvm opens is close-on-exec: a running mvm (guest
#      firmware/hostile_idle, which makes a few exits and then spins) is
#      inspected through /proc/<pid>/fdinfo, once with a -d disk and once
#      without.  mvm starts with only fds 0-2 open, so everything else is
#      its own.
#  (b) no temporary files are left behind by runs that succeed and runs that
#      fail (bad options, missing files, garbage kernel, killed guests), nor
#      by the unit-test binaries.  As root with unshare(1), those runs get a
#      private /tmp (a bind mount in a new mount namespace), so the check is
#      exact even while other processes use /tmp; otherwise /tmp listings
#      are compared before and after (concurrent processes may then add
#      entries).  $TMPDIR always points to a fresh directory that must stay
#      empty.
#  (c) bounded memory: 100 MB pushed into mvm's stdin while the guest never
#      reads its serial port must leave VmHWM under guest RAM + 64 MiB and
#      grow it by less than 64 MiB.
#
#   MVM=path BUILD=dir ACCEL=shadow|kvm tests/integration/hygiene.sh
#   HYGIENE_UNIT=0 skips running the unit binaries in (b); HYGIENE_NS=0 forces
#   the /tmp listing comparison even as root.
#
# Prints one PASS/FAIL line per check and "hygiene: N passed, M failed".
set -u
cd "$(dirname "$0")/../.."
MVM=${MVM:-./mvm}
BUILD=${BUILD:-build}
ACCEL=${ACCEL:-shadow}
FW=$BUILD/firmware
GUEST_MB=128
pass=0 fail=0

ok() { pass=$((pass + 1)); echo "PASS $*"; }
bad() { fail=$((fail + 1)); echo "FAIL $*"; }

if [ "${1:-}" != --inner ]; then
	[ -x "$MVM" ] || { echo "hygiene: $MVM is not executable: build it or set MVM" >&2; exit 2; }
	make -s BUILD="$BUILD" firmware >/dev/null 2>&1 ||
		{ echo "hygiene: make firmware failed" >&2; exit 2; }
	for f in hostile_idle hostile trace; do
		[ -f "$FW/$f.elf" ] || { echo "hygiene: $FW/$f.elf missing" >&2; exit 2; }
	done
fi

# Outside /tmp on purpose: (b) hides /tmp behind a private directory.
mkwork() { mktemp -d "$PWD/$BUILD/hygiene.XXXXXX"; }

# Start "$MVM" "$@" in the background with nothing but fds 0-2 (the caller's
# redirections) open, so any other descriptor in it is mvm's own.
mvm_pid=
start_mvm() {
	(
		for f in /proc/$BASHPID/fd/*; do
			n=${f##*/}
			[ "$n" -gt 2 ] 2>/dev/null && eval "exec $n>&-"
		done
		exec "$MVM" "$@"
	) &
	mvm_pid=$!
}

stop_mvm() {
	[ -n "$mvm_pid" ] || return 0
	kill "$mvm_pid" 2>/dev/null
	for _ in $(seq 50); do
		kill -0 "$mvm_pid" 2>/dev/null || break
		sleep 0.1
	done
	kill -KILL "$mvm_pid" 2>/dev/null
	wait "$mvm_pid" 2>/dev/null
	mvm_pid=
}

# Wait until @file has "idle: ready" (the guest is up); 1 on timeout or exit.
wait_ready() {
	for _ in $(seq 300); do
		grep -q '^idle: ready' "$1" 2>/dev/null && return 0
		kill -0 "$mvm_pid" 2>/dev/null || return 1
		sleep 0.1
	done
	return 1
}

# ---- (a) close-on-exec --------------------------------------------------------
check_fds() {
	local what=$1; shift
	local out=$work/fds.out n flags target bad_fds= count=0 saw_disk=0
	start_mvm --accel "$ACCEL" -m ${GUEST_MB}M --console serial -k "$FW/hostile_idle.elf" "$@" \
		</dev/null >"$out" 2>&1
	if ! wait_ready "$out"; then
		bad "fds $what: guest never became ready"
		sed 's/^/    /' "$out" | head -5
		stop_mvm
		return
	fi
	for f in /proc/$mvm_pid/fd/*; do
		n=${f##*/}
		[ "$n" -gt 2 ] || continue
		target=$(readlink "$f" 2>/dev/null) || continue
		flags=$(sed -n 's/^flags:[[:space:]]*//p' "/proc/$mvm_pid/fdinfo/$n" 2>/dev/null)
		[ -n "$flags" ] || continue
		count=$((count + 1))
		[ "$target" = "$work/disk.img" ] && saw_disk=1
		# fdinfo flags are octal; O_CLOEXEC is 02000000.
		if [ $((0$flags & 02000000)) = 0 ]; then
			bad_fds="$bad_fds $n($target)"
		fi
	done
	stop_mvm
	if [ -n "$bad_fds" ]; then
		bad "fds $what: not close-on-exec:$bad_fds"
	else
		ok "fds $what: all $count descriptors mvm opened are close-on-exec"
	fi
	if [ $# -gt 0 ]; then
		[ $saw_disk = 1 ] && ok "fds $what: the disk image is among them" ||
			bad "fds $what: the disk image is not open (is -d wired up?)"
	fi
}

# ---- (b) temporary files --------------------------------------------------------
# Runs mvm (and the unit binaries) in ways that succeed and fail; a run whose
# exit status is not the expected one, or a guest that never got ready, is
# recorded in $work/b-wrong (the caller fails on it: that file survives the
# mount namespace the runs may happen in).
b_runs() {
	local tmpd=$1 img=$work/disk.img junk=$work/junk.bin rc
	export TMPDIR=$tmpd
	run() {
		local want=$1; shift
		timeout 60 "$MVM" "$@" </dev/null >/dev/null 2>&1
		rc=$?
		[ "$rc" = "$want" ] || echo "mvm $* exited $rc (expected $want)" >>"$work/b-wrong"
	}
	head -c 5000 /dev/urandom >"$junk"
	run 1 --accel "$ACCEL" -m ${GUEST_MB}M --console serial -k "$FW/trace.elf"
	run 1 --accel "$ACCEL" -m ${GUEST_MB}M --console serial -k "$FW/hostile.elf" -d "$img"
	run 1 --accel "$ACCEL" -m ${GUEST_MB}M --console serial -k "$FW/trace.elf" --dump-dtb "$work/x.dtb"
	run 2 --accel "$ACCEL" -m ${GUEST_MB}M -k "$work/no-such-kernel"
	run 2 --accel "$ACCEL" -m ${GUEST_MB}M -k "$FW/trace.elf" -d "$work/no-such-disk.img"
	run 2 --accel "$ACCEL" -m ${GUEST_MB}M -k "$junk"
	run 2 --no-such-option
	run 2 --accel "$ACCEL" -m 1K -k "$FW/trace.elf"
	# Killed while running, politely and not.
	for sig in TERM KILL; do
		start_mvm --accel "$ACCEL" -m ${GUEST_MB}M --console serial -k "$FW/hostile_idle.elf" \
			-d "$img" </dev/null >"$work/kill.out" 2>&1
		wait_ready "$work/kill.out" || echo "SIG$sig run: the guest never got ready" >>"$work/b-wrong"
		kill -$sig "$mvm_pid" 2>/dev/null
		wait "$mvm_pid" 2>/dev/null
		mvm_pid=
	done
	if [ "${HYGIENE_UNIT:-1}" = 1 ]; then
		local n=0
		for t in "$BUILD"/tests/test_*; do
			[ -x "$t" ] && [ -f "$t" ] || continue
			case $t in *.d) continue ;; esac
			timeout 300 "$t" >/dev/null 2>&1
			n=$((n + 1))
		done
		echo "    ran $n unit binaries"
	fi
}

if [ "${1:-}" = --inner ]; then
	# In the private mount namespace: /tmp is already the private directory.
	work=$2
	b_runs "$3"
	exit 0
fi

work=$(mkwork) || { echo "hygiene: cannot create a work directory in $BUILD" >&2; exit 2; }
trap 'stop_mvm; rm -rf "$work"' EXIT
dd if=/dev/zero of="$work/disk.img" bs=1024 count=1024 2>/dev/null

check_fds "(no disk)"
check_fds "(with -d)" -d "$work/disk.img"

privtmp=$work/private-tmp
privtmpdir=$work/private-tmpdir
mkdir -p "$privtmp" "$privtmpdir"
if [ "${HYGIENE_NS:-1}" = 1 ] && [ "$(id -u)" = 0 ] && unshare -m true 2>/dev/null; then
	echo "    /tmp: private per-run directory (mount namespace)"
	unshare -m bash -c 'mount --make-rprivate / 2>/dev/null; mount --bind "$1" /tmp || exit 9; shift; exec "$@"' \
		_ "$privtmp" env MVM="$MVM" BUILD="$BUILD" ACCEL="$ACCEL" "$0" --inner "$work" "$privtmpdir"
	left=$(ls -A "$privtmp")
else
	echo "    /tmp: compared by listing (no mount namespace; other processes may add entries)"
	before=$(ls -A /tmp | sort)
	b_runs "$privtmpdir"
	left=$(comm -13 <(printf '%s\n' "$before") <(ls -A /tmp | sort))
fi
[ -z "$left" ] && ok "temp files: nothing left in /tmp after good, failing and killed runs" ||
	bad "temp files: left in /tmp: $(echo $left)"
left=$(ls -A "$privtmpdir")
[ -z "$left" ] && ok "temp files: nothing left in \$TMPDIR" ||
	bad "temp files: left in \$TMPDIR: $(echo $left)"
if [ -s "$work/b-wrong" ]; then
	bad "temp files: runs did not end as expected: $(tr '\n' ';' <"$work/b-wrong")"
else
	ok "temp files: every good, failing and killed run ended as expected"
fi

# ---- (c) bounded memory under a stdin flood ---------------------------------------
hwm() { sed -n 's/^VmHWM:[[:space:]]*\([0-9]*\) kB/\1/p' "/proc/$1/status" 2>/dev/null; }
rchar() { sed -n 's/^rchar: //p' "/proc/$1/io" 2>/dev/null; }

mkfifo "$work/stdin"
exec 7<>"$work/stdin"	# read-write: opening the read end below does not block
start_mvm --accel "$ACCEL" -m ${GUEST_MB}M --console serial -k "$FW/hostile_idle.elf" \
	<"$work/stdin" >"$work/flood.out" 2>&1
if wait_ready "$work/flood.out"; then
	h0=$(hwm "$mvm_pid")
	head -c 100000000 /dev/zero >&7 &
	writer=$!
	last=-1 still=0 peak=$h0
	for _ in $(seq 300); do
		sleep 0.1
		kill -0 "$mvm_pid" 2>/dev/null || break
		h=$(hwm "$mvm_pid"); [ -n "$h" ] && [ "$h" -gt "$peak" ] && peak=$h
		kill -0 "$writer" 2>/dev/null || break
		r=$(rchar "$mvm_pid")
		# mvm stopped taking input (back-pressure): long enough to see growth.
		if [ "$r" = "$last" ]; then still=$((still + 1)); [ $still -ge 20 ] && break; else still=0; fi
		last=$r
	done
	alive=0; kill -0 "$mvm_pid" 2>/dev/null && alive=1
	consumed=$(rchar "$mvm_pid")
	kill "$writer" 2>/dev/null; wait "$writer" 2>/dev/null
	exec 7>&-
	stop_mvm
	[ $alive = 1 ] && ok "flood: mvm still running after the stdin flood" ||
		bad "flood: mvm died during the stdin flood"
	limit=$(( (GUEST_MB + 64) * 1024 ))
	echo "    VmHWM ${h0} kB before, ${peak} kB peak; mvm read ${consumed:-?} bytes of input"
	[ "$peak" -lt "$limit" ] && ok "flood: VmHWM under guest RAM + 64 MiB" ||
		bad "flood: VmHWM ${peak} kB >= ${limit} kB"
	[ $((peak - h0)) -lt $((64 * 1024)) ] && ok "flood: memory grew by less than 64 MiB" ||
		bad "flood: memory grew by $((peak - h0)) kB"
else
	exec 7>&-
	bad "flood: guest never became ready"
	stop_mvm
fi

echo "hygiene: $pass passed, $fail failed"
[ "$fail" = 0 ]

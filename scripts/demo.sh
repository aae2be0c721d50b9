#!/bin/bash
# demo.sh: boot Debian's cloud kernel + a busybox initramfs with ./mvm and land
# at a shell on the serial console (`make demo` runs this after building mvm).
#
#   scripts/demo.sh [extra mvm options...]
#
# Environment: MVM (binary, default ./mvm), MVM_ACCEL (default auto),
# MVM_CPUS (1), MVM_MEM (256M), MVM_APPEND (more kernel parameters),
# MVM_CACHE (where scripts/guest.sh keeps the kernel and initramfs).
#
# With a terminal on stdin you type into the guest; 'poweroff -f' ends it.
# Without one (CI, a pipe, a file), the demo waits for the guest's shell, types
# stdin into it, then 'poweroff -f', so `echo 'uname -a' | make demo` works and
# `make demo </dev/null` boots, reaches the shell and powers off.  The exit
# status is mvm's (0: guest powered off).
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
MVM_BIN=${MVM:-$ROOT/mvm}
[ -x "$MVM_BIN" ] || { echo "demo: $MVM_BIN not found: run 'make' first" >&2; exit 1; }

eval "$("$ROOT/scripts/guest.sh" --print-env)"
args=(--accel "${MVM_ACCEL:-auto}" -k "$KERNEL" -i "$INITRD"
	-p "console=ttyS0 quiet panic=-1 ${MVM_APPEND:-}"
	-m "${MVM_MEM:-256M}" -c "${MVM_CPUS:-1}" "$@")

if [ -t 0 ]; then
	echo "demo: booting $(basename "$KERNEL") with $MVM_BIN; type 'poweroff -f' in the guest to quit" >&2
	exec "$MVM_BIN" "${args[@]}"
fi

# No terminal: drive the guest's shell from our stdin through a FIFO, so no
# input is sent before the shell exists to read it.
tmp=$(mktemp -d)
mvm=""
trap '[ -z "$mvm" ] || kill "$mvm" 2>/dev/null; rm -rf "$tmp"' EXIT
trap 'exit 130' INT TERM
mkfifo "$tmp/in"
"$MVM_BIN" "${args[@]}" <"$tmp/in" >"$tmp/out" 2>&1 &
mvm=$!
exec 3>"$tmp/in"
tail -n +1 -f --pid="$mvm" "$tmp/out" &
tailpid=$!
deadline=$((SECONDS + ${MVM_DEMO_TIMEOUT:-600}))
until grep -q MVM_SHELL_READY "$tmp/out" 2>/dev/null; do
	if ! kill -0 "$mvm" 2>/dev/null; then
		break
	fi
	if [ "$SECONDS" -ge "$deadline" ]; then
		echo "demo: no guest shell after ${MVM_DEMO_TIMEOUT:-600}s; stopping mvm" >&2
		kill "$mvm"
		break
	fi
	sleep 0.2
done
if kill -0 "$mvm" 2>/dev/null; then
	cat >&3 || true
	printf '\npoweroff -f\n' >&3
fi
rc=0
wait "$mvm" || rc=$?
mvm=""
exec 3>&-
wait "$tailpid" 2>/dev/null || true
[ "$rc" = 0 ] || echo "demo: mvm exited with status $rc" >&2
exit "$rc"

#!/bin/sh
#@ desc: the `make demo` path: no mvm.test=, the guest starts a shell on ttyS0; commands typed on stdin run, `poweroff -f` ends mvm with 0
#@ where: l1
#@ order: 30
#@ timeout: 150
#@ exit: 0
#@ expect: ^MVM_SHELL_READY
#@ expect: ^DEMO_ANSWER=42
#@ expect: ^DEMO_OK$
#@ reject: Kernel panic
# Like scripts/demo.sh without a terminal: input goes in only once the
# guest's shell exists, through a FIFO held open by this script.
fail() { echo "DEMO_FAIL $*"; exit 1; }
rm -f /tmp/demo.in /tmp/demo.out
mkfifo /tmp/demo.in
timeout -s KILL 120 "$MVM" --accel "${ACCEL:-kvm}" -c 1 -m 256M -k "$KERNEL" -i "$INITRD" \
	-p "console=ttyS0 panic=-1 quiet" $MVM_ARGS </tmp/demo.in >/tmp/demo.out 2>&1 &
pid=$!
exec 3>/tmp/demo.in
n=0
until grep -q MVM_SHELL_READY /tmp/demo.out; do
	kill -0 $pid 2>/dev/null || break
	n=$((n + 1))
	[ $n -lt 1000 ] || break
	sleep 0.1
done
echo 'echo DEMO_ANSWER=$((6 * 7))' >&3
echo 'poweroff -f' >&3
wait $pid
rc=$?
exec 3>&-
tr -d '\r' </tmp/demo.out
[ "$rc" = 0 ] || fail "mvm exit status $rc"
# The shell echoes the typed line too; the answer has to be on a line of its own.
tr -d '\r' </tmp/demo.out | grep -q '^DEMO_ANSWER=42' || fail "no answer from the guest shell"
echo DEMO_OK

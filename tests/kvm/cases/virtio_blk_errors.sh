#!/bin/sh
#@ desc: virtio-blk set-up errors: a missing disk file and an unknown engine exit 2 with a one-line message
#@ where: l1
#@ timeout: 30
#@ exit: 0
#@ expect: ^VBLKERR_OK$
fail() { echo "VBLKERR_FAIL $*"; exit 1; }
"$MVM" --accel "${ACCEL:-kvm}" -m 256M -k "$KERNEL" -d /nonexistent.img </dev/null >/tmp/e.out 2>&1
rc=$?
cat /tmp/e.out
[ "$rc" = 2 ] || fail "missing disk: status $rc, expected 2"
grep -q 'nonexistent.img' /tmp/e.out || fail "missing disk: message does not name the file"
dd if=/dev/zero of=/tmp/e.img bs=1M count=1 2>/dev/null
MVM_BLK_ENGINE=bogus "$MVM" --accel "${ACCEL:-kvm}" -m 256M -k "$KERNEL" -d /tmp/e.img </dev/null >/tmp/e.out 2>&1
rc=$?
cat /tmp/e.out
rm -f /tmp/e.img
[ "$rc" = 2 ] || fail "unknown engine: status $rc, expected 2"
echo VBLKERR_OK

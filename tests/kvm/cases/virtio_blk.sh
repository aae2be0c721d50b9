#!/bin/sh
#@ desc: virtio-blk: guest writes files on an ext4 image (host mkfs.ext4), host debugfs reads them back, e2fsck -fn clean; a ,ro disk stays untouched; libaio and pread engines
#@ where: l1
#@ timeout: 600
#@ exit: 0
#@ expect: ^VBLK_OK libaio$
#@ expect: ^VBLK_OK pread$
#@ reject: Kernel panic
#@ reject: VBLK_FAIL
# One file, two roles: on L1 (no mvm.test= on the command line) it builds
# the images, runs mvm and checks the result; inside the L2 guest, started
# with mvm.test=virtio_blk, it is the guest half.
if grep -q 'mvm.test=virtio_blk' /proc/cmdline; then
	fail() { echo "VBLK_FAIL guest: $*"; exit 1; }
	[ -b /dev/vda ] && [ -b /dev/vdb ] || fail "no /dev/vda or /dev/vdb: $(ls /sys/block)"
	[ "$(cat /sys/block/vdb/ro)" = 1 ] || fail "/dev/vdb is not read-only"
	[ "$(cat /sys/block/vda/ro)" = 0 ] || fail "/dev/vda is read-only"
	mkdir -p /mnt
	mount -t ext4 /dev/vda /mnt || fail "mount /dev/vda"
	echo "written by the mvm guest" >/mnt/hello.txt
	mkdir /mnt/dir
	dd if=/dev/urandom of=/mnt/dir/big bs=64k count=256 2>/dev/null || fail "dd big"
	md5sum /mnt/dir/big | cut -d' ' -f1 >/mnt/big.md5
	sync
	umount /mnt || fail "umount"
	# The read-only disk: a write must not reach it.
	if dd if=/dev/zero of=/dev/vdb bs=4096 count=1 2>/dev/null; then
		fail "write to the ,ro disk succeeded"
	fi
	dd if=/dev/vdb of=/dev/null bs=64k count=16 2>/dev/null || fail "read of the ,ro disk"
	echo "VBLK_GUEST_DONE $(cat /sys/block/vda/serial 2>/dev/null)"
	exit 0
fi

fail() { echo "VBLK_FAIL host: $*"; exit 1; }
img=/tmp/vblk.img
roimg=/tmp/vblk-ro.img
for eng in libaio pread; do
	rm -f "$img" "$roimg"
	dd if=/dev/zero of="$img" bs=1M count=0 seek=64 2>/dev/null
	mkfs.ext4 -q -F "$img" || fail "mkfs.ext4"
	dd if=/dev/urandom of="$roimg" bs=1M count=4 2>/dev/null
	ro_sum=$(md5sum "$roimg" | cut -d' ' -f1)
	MVM_BLK_ENGINE=$eng timeout -s KILL 280 "$MVM" --accel "${ACCEL:-kvm}" -c 1 -m 256M -k "$KERNEL" \
		-i "$INITRD" -p "console=ttyS0 panic=-1 quiet mvm.test=virtio_blk" \
		-d "$img" -d "$roimg,ro" </dev/null >/tmp/vblk.out 2>&1
	rc=$?
	sed "s/^/[$eng] /" /tmp/vblk.out
	[ "$rc" = 0 ] || fail "$eng: mvm exit status $rc"
	grep -q '^VBLK_GUEST_DONE mvm-disk0' /tmp/vblk.out || fail "$eng: guest half did not finish"
	debugfs -R "cat /hello.txt" "$img" 2>/dev/null | grep -qx "written by the mvm guest" ||
		fail "$eng: debugfs does not find /hello.txt"
	debugfs -R "dump /dir/big /tmp/vblk.big" "$img" 2>/dev/null
	want=$(debugfs -R "cat /big.md5" "$img" 2>/dev/null)
	got=$(md5sum /tmp/vblk.big | cut -d' ' -f1)
	[ -n "$want" ] && [ "$want" = "$got" ] || fail "$eng: /dir/big md5 $got, guest said $want"
	e2fsck -fn "$img" >/tmp/vblk.fsck 2>&1 || { cat /tmp/vblk.fsck; fail "$eng: e2fsck -fn"; }
	[ "$(md5sum "$roimg" | cut -d' ' -f1)" = "$ro_sum" ] || fail "$eng: the ,ro image changed"
	rm -f /tmp/vblk.big
	echo "VBLK_OK $eng"
done
rm -f "$img" "$roimg"

#!/bin/sh
#@ desc: user-space work and a virtio disk: dd|md5sum of 8 MiB, an ext4 disk made on the host mounted in the guest, poweroff -f ends with 0
#@ order: 25
#@ where: l1
#@ timeout: 200
#@ exit: 0
#@ expect: ^MVM_INIT_REACHED
#@ expect: ^MVM_MD5=[0-9a-f]{32}$
#@ expect: ^MVM_DISK=hello-from-host$
#@ expect: ^MVM_TEST_END shadow_io rc=0$
#@ reject: Kernel panic
# One file, two roles (as virtio_blk.sh): inside the guest, started with
# mvm.test=shadow_io, it is the guest half; where mvm runs it makes the disk
# and boots the guest.
if grep -q 'mvm.test=shadow_io' /proc/cmdline; then
	echo "MVM_MD5=$(dd if=/dev/urandom bs=1M count=8 2>/dev/null | md5sum | cut -d' ' -f1)"
	mkdir -p /mnt && mount -t ext4 /dev/vda /mnt && echo "MVM_DISK=$(cat /mnt/hello)"
	umount /mnt
	exit 0
fi
d=${TMPD:-/tmp}/shadow_io.d
img=${TMPD:-/tmp}/shadow_io.img
rm -rf "$d" "$img"; mkdir -p "$d"; echo hello-from-host >"$d/hello"
mkfs.ext4 -q -F -d "$d" "$img" 16M || exit 1
"$MVM" --accel "${ACCEL:-kvm}" -c 1 -m 256M -k "$KERNEL" -i "$INITRD" -d "$img" \
	-p "console=ttyS0 panic=-1 quiet mvm.test=shadow_io"
rc=$?
rm -rf "$d" "$img"
exit $rc

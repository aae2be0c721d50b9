#!/bin/sh
#@ desc: --virtio-cmdline: the command line carries virtio_mmio.device=512@0xd0000000:5 (rng, the only device); a kernel with CONFIG_VIRTIO_MMIO_CMDLINE_DEVICES (Debian's has not) must create virtio-mmio.N from it
#@ mvm: -c 1 -m 256M --virtio-cmdline
#@ append: quiet
#@ timeout: 120
#@ exit: 0
#@ expect: ^MVM_INIT_REACHED
#@ expect: ^VCMD_OK$
#@ reject: Kernel panic
#@ reject: VCMD_FAIL
grep -qw 'virtio_mmio.device=512@0xd0000000:5' /proc/cmdline ||
	{ echo "VCMD_FAIL no virtio_mmio.device=512@0xd0000000:5 in: $(cat /proc/cmdline)"; exit 1; }
if [ -e /sys/module/virtio_mmio/parameters/device ]; then
	# virtio_mmio names the devices it creates from the command line virtio-mmio.N.
	ls -d /sys/bus/platform/devices/virtio-mmio.* >/dev/null 2>&1 ||
		{ echo "VCMD_FAIL no virtio-mmio.N platform device"; exit 1; }
else
	echo "VCMD_NOTE this kernel has no CONFIG_VIRTIO_MMIO_CMDLINE_DEVICES; the device came from ACPI"
fi
dd if=/dev/hwrng bs=16 count=1 2>/dev/null | od -An -tx1 | grep -q . || { echo "VCMD_FAIL hwrng"; exit 1; }
echo VCMD_OK

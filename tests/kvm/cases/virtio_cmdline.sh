#!/bin/sh
#@ desc: --virtio-cmdline: devices announced as virtio_mmio.device= on the command line work (rng)
#@ mvm: -c 1 -m 256M --virtio-cmdline
#@ append: quiet
#@ timeout: 120
#@ exit: 0
#@ expect: ^MVM_INIT_REACHED
#@ expect: ^VCMD_OK$
#@ reject: Kernel panic
grep -o 'virtio_mmio.device=[^ ]*' /proc/cmdline || { echo "VCMD_FAIL no virtio_mmio.device= in /proc/cmdline"; exit 1; }
dd if=/dev/hwrng bs=16 count=1 2>/dev/null | od -An -tx1 | grep -q . || { echo "VCMD_FAIL hwrng"; exit 1; }
echo VCMD_OK

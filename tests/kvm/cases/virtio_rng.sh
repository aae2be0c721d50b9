#!/bin/sh
#@ desc: virtio-rng: /dev/hwrng is virtio_rng and returns changing bytes
#@ mvm: -c 1 -m 256M
#@ append: quiet
#@ timeout: 120
#@ exit: 0
#@ expect: ^MVM_INIT_REACHED
#@ expect: ^RNG_OK$
#@ reject: Kernel panic
#@ reject: RNG_FAIL
cur=$(cat /sys/class/misc/hw_random/rng_current 2>/dev/null)
case $cur in virtio_rng*) ;; *) echo "RNG_FAIL rng_current is '$cur'"; exit 1 ;; esac
a=$(dd if=/dev/hwrng bs=32 count=1 2>/dev/null | od -An -tx1 | tr -d ' \n')
b=$(dd if=/dev/hwrng bs=32 count=1 2>/dev/null | od -An -tx1 | tr -d ' \n')
echo "rng: $a"
[ ${#a} = 64 ] && [ "$a" != "$b" ] && [ "$a" != "$(printf '0%.0s' $(seq 64))" ] || { echo "RNG_FAIL"; exit 1; }
echo RNG_OK

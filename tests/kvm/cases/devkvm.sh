#!/bin/sh
#@ desc: L1 offers a real /dev/kvm (kvm_amd loaded under QEMU TCG's nested SVM)
#@ order: 10
#@ where: l1
#@ timeout: 30
#@ exit: 0
#@ expect: ^DEVKVM_OK$
test -c /dev/kvm || { echo "no /dev/kvm: kvm_amd did not load (see the insmod lines above)"; exit 1; }
echo "kvm_amd npt=$(cat /sys/module/kvm_amd/parameters/npt)"
echo DEVKVM_OK

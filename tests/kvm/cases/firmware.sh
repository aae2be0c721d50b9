#!/bin/sh
#@ desc: the firmware guests (mode switches, paging, TLB, self-modifying code, IO/MMIO exits) under KVM, against the same transcripts as the shadow backend
#@ order: 5
#@ where: l1
#@ timeout: 300
#@ exit: 0
#@ expect: ^firmware: [1-9][0-9]* passed, 0 failed
if [ ! -d /fw/elf ]; then
	echo "no firmware in the L1 initramfs: run make firmware first"
	exit 1
fi
# With nested paging, L1's page tables are walked by QEMU TCG, whose
# reserved-bit #PF lacks the P bit (the .kvm transcripts record that); with
# npt=0 KVM's own shadow MMU reports faults as the architecture says.
tag=kvm
case $(cat /sys/module/kvm_amd/parameters/npt 2>/dev/null) in 0|N) tag=generic ;; esac
sh /fw/tests/run.sh --accel "${ACCEL:-kvm}" --mvm "$MVM" --fw /fw/elf --tag "$tag"

#!/bin/sh
#@ desc: the firmware guests (mode switches, paging, TLB, self-modifying code, IO/MMIO exits) under KVM, against the same transcripts as the shadow backend
#@ order: 5
#@ where: l1
#@ timeout: 300
#@ exit: 0
#@ expect: ^firmware: [0-9]+ passed, 0 failed
if [ ! -d /fw/elf ]; then
	echo "no firmware in the L1 initramfs: run make firmware first"
	exit 1
fi
sh /fw/tests/run.sh --accel "${ACCEL:-kvm}" --mvm "$MVM" --fw /fw/elf --tag kvm

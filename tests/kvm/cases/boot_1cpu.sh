#!/bin/sh
#@ desc: Debian kernel + busybox initramfs, 1 vCPU, full console log (no quiet: a failure shows how far the boot got), reaches /init; `poweroff -f` ends mvm with status 0
#@ order: 20
#@ mvm: -c 1 -m 256M
#@ timeout: 120
#@ exit: 0
#@ expect: ^MVM_INIT_REACHED
#@ expect: ^MVM_CPUS=1$
#@ expect: ^MVM_POWEROFF_NEXT$
#@ reject: Kernel panic
#@ reject: ^MVM_TEST_END
echo "MVM_CPUS=$(grep -c ^processor /proc/cpuinfo)"
echo MVM_POWEROFF_NEXT
poweroff -f

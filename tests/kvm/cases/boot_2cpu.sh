#!/bin/sh
#@ desc: 2 vCPUs: the guest sees two processors in /proc/cpuinfo and both come online
#@ order: 20
#@ mvm: -c 2 -m 256M
#@ append: quiet
#@ timeout: 150
#@ exit: 0
#@ expect: ^MVM_INIT_REACHED
#@ expect: ^MVM_CPUS=2$
#@ expect: ^MVM_ONLINE=0-1$
#@ expect: ^MVM_TEST_END boot_2cpu rc=0$
#@ reject: Kernel panic
echo "MVM_CPUS=$(grep -c ^processor /proc/cpuinfo)"
echo "MVM_ONLINE=$(cat /sys/devices/system/cpu/online)"

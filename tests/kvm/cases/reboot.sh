#!/bin/sh
#@ desc: `reboot -f` in the guest ends mvm with the reboot status 3 (MVM_EXIT_REBOOT)
#@ order: 20
#@ mvm: -c 1 -m 256M
#@ append: quiet
#@ timeout: 120
#@ exit: 3
#@ expect: ^MVM_INIT_REACHED
#@ expect: ^MVM_REBOOT_NEXT$
#@ reject: Kernel panic
#@ reject: ^MVM_TEST_END
echo MVM_REBOOT_NEXT
reboot -f

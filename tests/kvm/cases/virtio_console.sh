#!/bin/sh
#@ desc: --console virtio: the guest console is hvc0; a line typed on stdin comes back through it
#@ mvm: -c 1 -m 256M --console virtio
#@ append: quiet console=hvc0
#@ stdin: hello-hvc0
#@ timeout: 120
#@ exit: 0
#@ expect: ^MVM_INIT_REACHED
#@ expect: ^HVC_ACTIVE .*hvc0
#@ expect: ^HVC_PROMPT
#@ expect: ^HVC_ROUNDTRIP hello-hvc0$
#@ reject: Kernel panic
echo "HVC_ACTIVE $(cat /sys/class/tty/console/active)"
# Input waits until the guest has written to the port (see console.c); keep
# the tty open between prompt and read, as a shell does (a last close drops
# typed-ahead input).
exec 3<>/dev/hvc0
echo "HVC_PROMPT" >&3
IFS= read -r line <&3
echo "HVC_ROUNDTRIP $line"

#!/bin/sh
#@ desc: --console virtio: hvc0 is the console; a line typed on stdin comes back through it
#@ mvm: -c 1 -m 256M --console virtio
#@ append: quiet console=hvc0
#@ stdin: hello-hvc0
#@ timeout: 120
#@ exit: 0
#@ expect: ^HVC_ACTIVE .*hvc0
#@ expect: ^HVC_PROMPT
#@ expect: ^HVC_ROUNDTRIP hello-hvc0
#@ reject: Kernel panic
# With --console virtio only hvc0 reaches mvm's stdout (the UART is mute), so
# everything goes there.  Input waits until the guest has written to the
# port (see src/devices/virtio/console.c); the tty stays open between prompt
# and read, as a shell's does (a last close drops typed-ahead input).
exec 3<>/dev/hvc0
echo "HVC_ACTIVE $(cat /sys/class/tty/console/active)" >&3
echo "HVC_PROMPT" >&3
IFS= read -r line <&3
echo "HVC_ROUNDTRIP $line" >&3

#!/bin/sh
#@ desc: virtio-net over a tap: the guest pings the host side of the tap, small and fragmented (multi-buffer) packets
#@ where: l1
#@ timeout: 300
#@ exit: 0
#@ expect: ^VNET_OK$
#@ reject: Kernel panic
#@ reject: VNET_FAIL
if grep -q 'mvm.test=virtio_net' /proc/cmdline; then
	fail() { echo "VNET_FAIL guest: $*"; exit 1; }
	ip link set eth0 up || fail "no eth0: $(ls /sys/class/net)"
	ip addr add 10.77.0.2/24 dev eth0
	grep -qi '52:54:00:12:34:99' /sys/class/net/eth0/address || fail "MAC $(cat /sys/class/net/eth0/address)"
	ping -c 3 -W 5 10.77.0.1 || fail "ping"
	ping -c 2 -W 5 -s 6000 10.77.0.1 || fail "ping -s 6000"
	echo VNET_GUEST_DONE
	exit 0
fi

fail() { echo "VNET_FAIL host: $*"; exit 1; }
tap=mvmtap0
tunctl -t "$tap" >/dev/null || fail "tunctl -t $tap (is the tun module loaded?)"
ip addr add 10.77.0.1/24 dev "$tap"
ip link set "$tap" up
timeout -s KILL 250 "$MVM" --accel kvm -c 1 -m 256M -k "$KERNEL" -i "$INITRD" \
	-p "console=ttyS0 panic=-1 quiet mvm.test=virtio_net" -n "tap=$tap,mac=52:54:00:12:34:99" \
	</dev/null >/tmp/vnet.out 2>&1
rc=$?
cat /tmp/vnet.out
tunctl -d "$tap" >/dev/null
[ "$rc" = 0 ] || fail "mvm exit status $rc"
grep -q '^VNET_GUEST_DONE' /tmp/vnet.out || fail "guest half did not finish"
# A tap that cannot be opened ("lo" exists and is no tap) is a set-up error.
timeout -s KILL 60 "$MVM" --accel kvm -m 64M -k "$KERNEL" -n tap=lo </dev/null >/tmp/vnet.err 2>&1
rc=$?
cat /tmp/vnet.err
grep -q 'cannot open tap lo' /tmp/vnet.err || fail "no 'cannot open tap' message"
[ "$rc" = 2 ] || fail "unusable tap: status $rc, expected 2"
echo VNET_OK

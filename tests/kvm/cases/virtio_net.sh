#!/bin/sh
#@ desc: virtio-net over a tap: ping (small and fragmented), 4 MiB over TCP each way with md5 check (GSO/TSO through the tap, mergeable RX buffers), unusable tap refused
#@ where: l1
#@ timeout: 300
#@ exit: 0
#@ expect: ^VNET_OK$
#@ reject: Kernel panic
#@ reject: VNET_FAIL
# One file, two roles: the L1 half sets up the tap and runs mvm; inside the
# guest (mvm.test=virtio_net on its command line) it is the guest half.
# busybox nc moves the bulk data; a listener gets a stdin that never ends
# (sleep |), because busybox nc closes the connection when its stdin does.
if grep -q 'mvm.test=virtio_net' /proc/cmdline; then
	fail() { echo "VNET_FAIL guest: $*"; exit 1; }
	ip link set eth0 up || fail "no eth0: $(ls /sys/class/net)"
	ip addr add 10.77.0.2/24 dev eth0
	grep -qi '52:54:00:12:34:99' /sys/class/net/eth0/address || fail "MAC $(cat /sys/class/net/eth0/address)"
	sleep 300 | nc -l -p 5002 >/tmp/h2g.bin &
	lpid=$!
	ping -c 3 -W 5 10.77.0.1 || fail "ping"
	ping -c 2 -W 5 -s 6000 10.77.0.1 || fail "ping -s 6000"
	dd if=/dev/urandom of=/tmp/g2h.bin bs=64k count=64 2>/dev/null
	echo "VNET_G2H_MD5 $(md5sum </tmp/g2h.bin | cut -d' ' -f1)"
	nc 10.77.0.1 5001 </tmp/g2h.bin || fail "nc to the host"
	n=0
	while kill -0 "$lpid" 2>/dev/null && [ $n -lt 120 ]; do sleep 1; n=$((n + 1)); done
	echo "VNET_H2G_MD5 $(md5sum </tmp/h2g.bin | cut -d' ' -f1) $(wc -c </tmp/h2g.bin)"
	echo VNET_GUEST_DONE
	exit 0
fi

fail() { echo "VNET_FAIL host: $*"; exit 1; }
tap=mvmtap0
tunctl -t "$tap" >/dev/null || fail "tunctl -t $tap (is the tun module loaded?)"
ip addr add 10.77.0.1/24 dev "$tap"
ip link set "$tap" up
dd if=/dev/urandom of=/tmp/h2g.bin bs=64k count=64 2>/dev/null
h2g=$(md5sum </tmp/h2g.bin | cut -d' ' -f1)
# The listener's stdin: a FIFO this shell holds open and never writes (a
# "sleep |" would keep the harness's output pipe open after the case ends).
rm -f /tmp/vnet.fifo
mkfifo /tmp/vnet.fifo
nc -l -p 5001 </tmp/vnet.fifo >/tmp/g2h.bin 2>/dev/null &
listener=$!
exec 7>/tmp/vnet.fifo
# Send once the guest listens (refused or unroutable until then).
( for i in $(seq 120); do nc -w 2 10.77.0.2 5002 </tmp/h2g.bin && break; sleep 1; done ) \
	>/dev/null 2>&1 &
sender=$!
timeout -s KILL 250 "$MVM" --accel "${ACCEL:-kvm}" -c 1 -m 256M -k "$KERNEL" -i "$INITRD" \
	-p "console=ttyS0 panic=-1 quiet mvm.test=virtio_net" -n "tap=$tap,mac=52:54:00:12:34:99" \
	</dev/null >/tmp/vnet.out 2>&1
rc=$?
kill "$sender" "$listener" 2>/dev/null
exec 7>&-
rm -f /tmp/vnet.fifo
cat /tmp/vnet.out
tunctl -d "$tap" >/dev/null
[ "$rc" = 0 ] || fail "mvm exit status $rc"
grep -q '^VNET_GUEST_DONE' /tmp/vnet.out || fail "guest half did not finish"
want=$(sed -n 's/^VNET_G2H_MD5 //p' /tmp/vnet.out | tr -d '\r')
got=$(md5sum </tmp/g2h.bin | cut -d' ' -f1)
[ -n "$want" ] && [ "$want" = "$got" ] || fail "guest->host: md5 $got ($(wc -c </tmp/g2h.bin) bytes), guest sent $want"
got=$(sed -n 's/^VNET_H2G_MD5 \([0-9a-f]*\).*/\1/p' /tmp/vnet.out)
[ "$got" = "$h2g" ] || fail "host->guest: guest got md5 $got, host sent $h2g"
rm -f /tmp/h2g.bin /tmp/g2h.bin
# A tap that cannot be opened ("lo" exists and is no tap) is a set-up error.
timeout -s KILL 60 "$MVM" --accel "${ACCEL:-kvm}" -m 256M -k "$KERNEL" -n tap=lo </dev/null >/tmp/vnet.err 2>&1
rc=$?
cat /tmp/vnet.err
grep -q 'cannot open tap lo' /tmp/vnet.err || fail "no 'cannot open tap' message"
[ "$rc" = 2 ] || fail "unusable tap: status $rc, expected 2"
echo VNET_OK

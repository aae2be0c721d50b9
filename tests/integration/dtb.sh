#!/bin/bash
# --dump-dtb: dtc must parse the blob, and its nodes must match the machine
# the command line asked for (vCPUs, memory, serial, one virtio-mmio node per
# device with its registers and interrupt).
set -u
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
MVM=${MVM:-$ROOT/mvm}
case $MVM in /*) ;; *) MVM=$ROOT/$MVM ;; esac
FW=$ROOT/${BUILD:-build}/firmware/trace.elf
T=$(mktemp -d /tmp/mvm-dtb.XXXXXX)
trap 'rm -rf "$T"' EXIT
pass=0 fail=0
check() { if eval "$2"; then pass=$((pass + 1)); echo "PASS dtb: $1"; else fail=$((fail + 1)); echo "FAIL dtb: $1"; fi; }

truncate -s 4M "$T/a.img"; truncate -s 8M "$T/b.img"
# A tap needs CAP_NET_ADMIN: make it in a private network namespace when we can.
net=() ndev=0
if unshare -n true 2>/dev/null; then
	wrap=(unshare -n sh -c 'ip tuntap add mvmdtb0 mode tap && exec "$@"' sh)
	net=(-n tap=mvmdtb0,mac=52:54:00:12:34:56) ndev=1
else
	wrap=()
	echo "SKIP dtb: virtio-net node (no network namespace)"
fi
"${wrap[@]}" "$MVM" --accel shadow -c 3 -m 192M -k "$FW" -d "$T/a.img" -d "$T/b.img,ro" \
	"${net[@]}" --console virtio --dump-dtb "$T/m.dtb" </dev/null >/dev/null 2>"$T/err"
check "mvm ran with --dump-dtb" '[ -s "$T/m.dtb" ]'
dtc -I dtb -O dts -o "$T/m.dts" "$T/m.dtb" 2>"$T/dtc.err"
check "dtc parses the blob without warnings" '[ -s "$T/m.dts" ] && [ ! -s "$T/dtc.err" ]'
check "3 cpu nodes for -c 3" '[ "$(grep -c "^\s*cpu@" "$T/m.dts")" = 3 ]'
check "memory node of 192 MiB" 'grep -A2 "memory@0" "$T/m.dts" | grep -q "reg = <0x00 0x00 0x00 0xc000000>"'
check "serial node at I/O port 0x3f8, IRQ 4" 'grep -A4 "serial@i3f8" "$T/m.dts" | grep -q "reg = <0x01 0x3f8 0x08>" && grep -A4 "serial@i3f8" "$T/m.dts" | grep -q "interrupts = <0x04 "'
# 2 disks + net + console + rng, each a virtio,mmio node with reg and interrupts
want=$((2 + ndev + 1 + 1))
check "$want virtio,mmio nodes for 2 disks, $ndev net, console and rng" \
	'[ "$(grep -c "compatible = \"virtio,mmio\"" "$T/m.dts")" = $want ]'
check "every virtio node has reg and interrupts" \
	'[ "$(awk "/virtio_mmio@/,/};/" "$T/m.dts" | grep -c "interrupts = ")" = $want ] &&
	 [ "$(awk "/virtio_mmio@/,/};/" "$T/m.dts" | grep -c "reg = ")" = $want ]'
check "chosen bootargs present" 'grep -q "bootargs" "$T/m.dts"'
echo "dtb: $pass passed, $fail failed"
[ "$fail" = 0 ]

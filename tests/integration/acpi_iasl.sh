#!/bin/bash
# Checks mvm's ACPI tables and device tree with the reference tools.
#
#   tests/integration/acpi_iasl.sh            (after `make`; uses build/libmvm.a)
#   BUILD=build-asan tests/integration/acpi_iasl.sh
#   MVM_LIB=path/to/libmvm.a tests/integration/acpi_iasl.sh
#
# Builds tests/tools/acpidump.c against $BUILD/libmvm.a, which writes the
# tables of a fake machine (COM1, three virtio-mmio devices) for 1, 2 and 64
# vCPUs, then for each machine:
#   - RSDP: signature and both checksums (iasl 20200925 cannot disassemble a
#     binary RSDP at all, not even one it compiled itself)
#   - XSDT, FACP, APIC, DSDT: `iasl -d` must print no error or warning, and
#     the disassembly compiled again (`iasl -on`) must give back the same
#     bytes, header checksum and compiler id aside
#   - acpiexec loads the tables and evaluates \_S5_ and every _CRS without an
#     ACPI error
#   - `dtc -I dtb -O dts` parses the FDT without a warning
#   - objdump: the real-mode reset stub at F000:FFF0 writes 1 to port 0x602
# Needs acpica-tools (iasl, acpiexec), device-tree-compiler, binutils.
#
# Optional, when MVM_TEST_KERNEL names a Debian bzImage: boot it under QEMU's
# microvm machine (TCG, acpi=off, so our tables are the only ones: loaded
# at 0xe0000, where the kernel's BIOS-area scan finds the RSDP), 2 vCPUs,
# with isa-debug-exit on our PM ports; checks both CPUs come up from the
# MADT, COM1 comes from the DSDT on IOAPIC pin 4, `poweroff -f` writes
# SLP_EN|SLP_TYP=5 to 0x600 and `reboot -f` (with reboot=a) writes 1 to 0x602.
# MVM_TEST_MODULES may name a directory holding virtio_ring.ko virtio.ko
# virtio_mmio.ko virtio-rng.ko from that kernel: then a virtio-rng device
# must be found through its LNRO0005 node and deliver entropy.
# Prints "acpi_iasl: N passed, M failed"; exit status 0 only when M is 0.
set -u
cd "$(dirname "$0")/../.."
BUILD=${BUILD:-build}
LIB=${MVM_LIB:-$BUILD/libmvm.a}
CC=${CC:-cc}
pass=0 fail=0

ok() { pass=$((pass + 1)); }
bad() { fail=$((fail + 1)); echo "acpi_iasl: FAIL: $*"; }

for tool in iasl acpiexec dtc; do
	if ! command -v $tool >/dev/null; then
		echo "acpi_iasl: $tool not found: install acpica-tools and device-tree-compiler (scripts/deps.sh)"
		exit 1
	fi
done
if [ ! -f "$LIB" ]; then
	echo "acpi_iasl: $LIB missing: run 'make BUILD=$BUILD $LIB' first"
	exit 1
fi

tmp=$(mktemp -d /tmp/mvm-acpi-iasl.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
libs="$(pkg-config --libs libfdt 2>/dev/null || echo -lfdt) -lseccomp -laio -pthread"
if ! $CC -std=gnu11 -O1 -g -Wall -Wextra -Werror -Wno-unused-parameter -D_GNU_SOURCE \
	-Isrc ${TOOL_CFLAGS:-} -o "$tmp/acpidump" tests/tools/acpidump.c "$LIB" $libs; then
	echo "acpi_iasl: cannot build tests/tools/acpidump.c against $LIB"
	exit 1
fi

# Sum of the first $2 bytes of file $1, modulo 256.
sum8() { od -An -v -tu1 -N "$2" "$1" | awk '{ for (i = 1; i <= NF; i++) s += $i } END { print s % 256 }'; }

for ncpus in 1 2 64; do
	d=$tmp/cpus$ncpus
	mkdir -p "$d"
	if ! "$tmp/acpidump" "$d" $ncpus >"$d/acpidump.log" 2>&1; then
		bad "acpidump for $ncpus vCPUs: $(cat "$d/acpidump.log")"
		continue
	fi

	r=$d/rsdp.dat
	if [ "$(head -c 8 "$r")" = "RSD PTR " ] && [ "$(sum8 "$r" 20)" = 0 ] &&
	   [ "$(sum8 "$r" 36)" = 0 ] && [ "$(stat -c %s "$r")" = 36 ]; then
		ok
	else
		bad "RSDP signature or checksums ($ncpus vCPUs)"
	fi

	for t in xsdt facp apic dsdt; do
		f=$d/$t.dat
		if [ ! -s "$f" ]; then
			bad "$t missing ($ncpus vCPUs)"
			continue
		fi
		out=$(cd "$d" && iasl -d "$t.dat" 2>&1); rc=$?
		if [ $rc != 0 ] || grep -qiE 'error|warning' <<<"$out" ||
		   grep -qi 'incorrect' "$d/$t.dsl" 2>/dev/null; then
			bad "iasl -d $t ($ncpus vCPUs):"
			printf '%s\n' "$out" | grep -iE 'error|warning' | sed 's/^/    /'
			grep -i 'incorrect' "$d/$t.dsl" | sed 's/^/    /'
			continue
		fi
		ok
		out=$(cd "$d" && iasl -on -p "${t}_rt" "$t.dsl" 2>&1); rc=$?
		if [ $rc != 0 ] || ! grep -q '0 Errors, 0 Warnings' <<<"$out"; then
			bad "recompiling the disassembled $t ($ncpus vCPUs): $(grep -E 'Error|Warning' <<<"$out")"
			continue
		fi
		# Bytes 9 (checksum) and 28-35 (compiler id, revision) are iasl's own.
		if cmp -s -n 9 "$f" "$d/${t}_rt.aml" &&
		   cmp -s <(head -c 28 "$f" | tail -c 18) <(head -c 28 "$d/${t}_rt.aml" | tail -c 18) &&
		   cmp -s <(tail -c +37 "$f") <(tail -c +37 "$d/${t}_rt.aml"); then
			ok
		else
			bad "$t does not survive an iasl round trip ($ncpus vCPUs)"
		fi
	done

	crs=$(grep -o 'Device ([A-Z0-9_]*)' "$d/dsdt.dsl" | sed 's/Device (\(.*\))/\1/' |
	      grep -v '^C0' | sed 's/.*/evaluate \\_SB.&._CRS/' | paste -sd ';')
	out=$(cd "$d" && timeout 60 acpiexec -b "evaluate \\_S5_;$crs" dsdt.dat facp.dat apic.dat 2>&1)
	if grep -qiE 'ACPI Error|Exception|AE_' <<<"$out" ||
	   ! grep -A3 'Package\] Contains 4 Elements' <<<"$out" | grep -q '= 0000000000000005' ||
	   [ "$(grep -c 'returned object' <<<"$out")" != $((1 + $(tr ';' '\n' <<<"$crs" | grep -c CRS))) ]; then
		bad "acpiexec ($ncpus vCPUs):"
		grep -iE 'error|exception|AE_' <<<"$out" | head -5 | sed 's/^/    /'
	else
		ok
	fi

	out=$(dtc -I dtb -O dts -o "$d/mvm.dts" "$d/mvm.dtb" 2>&1); rc=$?
	if [ $rc != 0 ] || [ -n "$out" ]; then
		bad "dtc ($ncpus vCPUs): $out"
	elif [ "$(grep -c 'device_type = "cpu"' "$d/mvm.dts")" != "$ncpus" ]; then
		bad "dtc: expected $ncpus cpu nodes"
	else
		ok
	fi
done

dis=$(objdump -D -b binary -m i8086 --start-address=0x1fff0 --stop-address=0x1fffa \
      "$tmp/cpus1/region.bin" 2>&1)
if grep -q 'mov *$0x1,%al' <<<"$dis" && grep -q 'mov *$0x602,%dx' <<<"$dis" &&
   grep -q 'out *%al,(%dx)' <<<"$dis" && grep -q 'hlt' <<<"$dis"; then
	ok
else
	bad "reset stub at 0xffff0:"; printf '%s\n' "$dis" | tail -6
fi

# --- optional: a real kernel on our tables -----------------------------------
qemu_boot() {	# $1 = extra append, $2 = debug-exit port; prints the log, returns QEMU's status
	timeout 120 qemu-system-x86_64 -M microvm,acpi=off,ioapic2=off,pit=on,pic=on,rtc=on,auto-kernel-cmdline=off,x-option-roms=off \
		-cpu max -smp 2 -m 256M -nodefaults -no-user-config -nographic -serial stdio -display none \
		-kernel "$MVM_TEST_KERNEL" -initrd "$tmp/initrd.gz" \
		-append "console=ttyS0 panic=-1 tsc_early_khz=2000000 $1" \
		-device loader,file="$tmp/region4k.bin",addr=0xe0000,force-raw=on \
		-device virtio-rng-device -device isa-debug-exit,iobase=$2,iosize=1 2>&1
}
if [ -n "${MVM_TEST_KERNEL:-}" ]; then
	bb=$(command -v busybox)
	if [ ! -f "$MVM_TEST_KERNEL" ] || ! command -v qemu-system-x86_64 >/dev/null ||
	   [ -z "$bb" ] || ! file -L "$bb" | grep -q 'statically linked'; then
		bad "MVM_TEST_KERNEL set, but the kernel, qemu-system-x86_64 or a static busybox is missing"
	else
		mkdir -p "$tmp/microvm"
		"$tmp/acpidump" "$tmp/microvm" 2 microvm >/dev/null 2>&1 || bad "acpidump microvm"
		# Only the tables: qboot lives at 0xf0000.
		head -c 4096 "$tmp/microvm/region.bin" >"$tmp/region4k.bin"
	fi
	if [ "$fail" != 0 ]; then
		echo "acpi_iasl: skipping the QEMU boots after earlier failures"
	else
		ir=$tmp/initramfs
		mkdir -p "$ir/bin" "$ir/m" "$ir/proc" "$ir/sys" "$ir/dev"
		cp "$bb" "$ir/bin/busybox"
		for m in virtio_ring virtio virtio_mmio virtio-rng; do
			[ -f "${MVM_TEST_MODULES:-/nonexistent}/$m.ko" ] && cp "$MVM_TEST_MODULES/$m.ko" "$ir/m/"
		done
		cat >"$ir/init" <<'EOF_INIT'
#!/bin/busybox sh
/bin/busybox --install -s /bin
mount -t proc proc /proc; mount -t sysfs sys /sys; mount -t devtmpfs dev /dev
for m in virtio_ring virtio virtio_mmio virtio-rng; do [ -f /m/$m.ko ] && insmod /m/$m.ko; done
echo "MARK cpus=$(grep -c ^processor /proc/cpuinfo)"
grep -q 'IO-APIC *4-edge *ttyS0' /proc/interrupts && echo "MARK com1-ioapic"
if [ -e /dev/hwrng ]; then echo "MARK rng=$(head -c 8 /dev/hwrng | od -An -tx1 | tr -d ' ')"; fi
case "$(cat /proc/cmdline)" in *mvmtest=reboot*) reboot -f;; *) poweroff -f;; esac
EOF_INIT
		chmod +x "$ir/init"
		(cd "$ir" && find . | cpio -o -H newc 2>/dev/null | gzip) >"$tmp/initrd.gz"

		log=$(qemu_boot "" 0x600); rc=$?
		# isa-debug-exit exits with (value << 1) | 1: 0x34 = SLP_EN | 5 << 2.
		[ $rc = 105 ] && ok || bad "poweroff: QEMU status $rc, want 105 (SLP_EN|SLP_TYP=5 at 0x600)"
		grep -q 'MARK cpus=2' <<<"$log" && ok || bad "kernel did not bring up 2 CPUs from the MADT"
		grep -q 'MARK com1-ioapic' <<<"$log" && ok || bad "COM1 not on IOAPIC pin 4"
		if grep -qiE 'ACPI (BIOS )?(Error|Warning)|Firmware Bug' <<<"$log"; then
			bad "kernel complains about our tables:"
			grep -iE 'ACPI (BIOS )?(Error|Warning)|Firmware Bug' <<<"$log" | head -5
		else
			ok
		fi
		if [ -f "${MVM_TEST_MODULES:-/nonexistent}/virtio_mmio.ko" ]; then
			grep -qE 'MARK rng=[0-9a-f]{16}' <<<"$log" && ok ||
				bad "virtio-rng not found through the DSDT (LNRO0005)"
		fi
		log=$(qemu_boot "mvmtest=reboot reboot=a" 0x602); rc=$?
		[ $rc = 3 ] && ok || bad "reboot: QEMU status $rc, want 3 (1 written to 0x602)"
	fi
fi

echo "acpi_iasl: $pass passed, $fail failed"
[ "$fail" = 0 ]

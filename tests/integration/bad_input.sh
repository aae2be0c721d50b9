#!/bin/bash
# Bad-input table: every case must end mvm with the documented exit status,
# exactly one line on stderr that says what to do, and no crash (no signal,
# no sanitizer report).  Runs against $MVM (default ./mvm).
set -u
MVM=${MVM:-./mvm}
T=$(mktemp -d /tmp/mvm-bad.XXXXXX)
trap 'rm -rf "$T"' EXIT

# Cases that fail after the backend is chosen pass --accel shadow, so the
# auto-selection notice does not add a line.

# Inputs the table refers to.
: > "$T/empty"
head -c 65536 /dev/zero | tr '\0' 'A' > "$T/garbage"
mkdir "$T/dir"
printf 'x' > "$T/small"
truncate -s 20M "$T/big"
# A file that claims to be a bzImage but is cut short after the header magic.
python3 - "$T" <<'PY'
import struct, sys
t = sys.argv[1]
def bz(version, xload=0x3, size=0x4000, relocatable=1, init_size=0x100000):
    b = bytearray(size)
    b[0x1f1] = 1                         # setup_sects
    struct.pack_into('<H', b, 0x1fe, 0xaa55)
    b[0x202:0x206] = b'HdrS'
    struct.pack_into('<H', b, 0x206, version)
    b[0x234] = relocatable
    struct.pack_into('<H', b, 0x236, xload)
    struct.pack_into('<I', b, 0x230, 0x200000)   # kernel_alignment
    struct.pack_into('<I', b, 0x238, 2048)       # cmdline_size
    struct.pack_into('<I', b, 0x260, init_size)
    return b
open(t + '/old-protocol', 'wb').write(bz(0x0204))
open(t + '/ok-bz', 'wb').write(bz(0x020f))
open(t + '/no-64bit', 'wb').write(bz(0x020f, xload=0))
open(t + '/truncated', 'wb').write(bz(0x020f)[:0x240])
open(t + '/huge-init', 'wb').write(bz(0x020f, init_size=0x7fffffff))
PY

pass=0 fail=0
# name | expected status | stderr must match (ERE) | arguments
CASES=(
"no kernel|2|no kernel given: use -k|-m 64M"
"kernel missing|2|kernel $T/nope: No such file|-k $T/nope"
"kernel is a directory|2|is a directory|-k $T/dir"
"kernel empty|2|file is empty|-k $T/empty"
"kernel garbage|2|not a bzImage or multiboot kernel|-k $T/garbage"
"kernel one byte|2|not a bzImage or multiboot kernel|-k $T/small"
"bzImage protocol too old|2|protocol|-k $T/old-protocol"
"bzImage without 64-bit entry|2|64-bit|-k $T/no-64bit"
"bzImage truncated|2|truncated|-k $T/truncated"
"bzImage init_size beyond RAM|2|raise --mem|-k $T/huge-init -m 64M"
"mem zero|2|-m 0: |-k $T/garbage -m 0"
"mem bad suffix|2|-m 12X: expected a size|-k $T/garbage -m 12X"
"mem not 4K multiple|2|multiple of 4K|-k $T/garbage -m 16777217"
"mem beyond host RAM|2|more than this host|-k $T/garbage -m 64T"
"mem beyond address space|2|-m 99999999T: too large|-k $T/garbage -m 99999999T"
"cpus zero|2|-c 0: expected a vCPU count|-k $T/garbage -c 0"
"cpus 1000|2|-c 1000: expected a vCPU count|-k $T/garbage -c 1000"
"unknown flag|2|unknown option --frobnicate|-k $T/garbage --frobnicate"
"missing flag value|2|needs a value|-k"
"stray argument|2|unexpected argument|-k $T/garbage extra"
"bad console|2|--console vga: expected|-k $T/garbage --console vga"
"bad accel|2|--accel hvf: expected|-k $T/garbage --accel hvf"
"initrd missing|2|initrd $T/nope: No such file|-k $T/ok-bz -i $T/nope"
"initrd is a directory|2|initrd $T/dir: is a directory|-k $T/ok-bz -i $T/dir"
"initrd larger than RAM|2|larger than guest memory|-k $T/ok-bz -m 16M -i $T/big"
"bad disk option|2|only disk option is ',ro'|-k $T/garbage -d $T/small,rw"
"disk missing|2|cannot open disk $T/nope.img: No such file|--accel shadow -k $T/ok-bz -d $T/nope.img"
"disk is a directory|2|cannot open disk $T/dir: Is a directory|--accel shadow -k $T/ok-bz -d $T/dir"
"tap is not a tap|2|cannot open tap lo: .*ip tuntap add|--accel shadow -k $T/ok-bz -n tap=lo"
"blk engine unknown|2|MVM_BLK_ENGINE|--accel shadow -k $T/ok-bz -d $T/small"
"bad net spec|2|expected tap=NAME|-k $T/garbage -n tap0"
"bad mac|2|mac must look like|-k $T/garbage -n tap=t0,mac=zz"
)
# Root ignores file modes; an immutable file is read-only even for root.
truncate -s 1M "$T/ro.img"
if chattr +i "$T/ro.img" 2>/dev/null; then
	CASES+=("read-only disk opened read-write|2|cannot open disk $T/ro.img read-write: .*append ,ro|--accel shadow -k $T/ok-bz -d $T/ro.img")
	trap 'chattr -i "$T/ro.img"; rm -rf "$T"' EXIT
else
	echo "SKIP bad-input: read-only disk opened read-write (chattr +i not supported on $T)"
fi
[ -e /dev/kvm ] || CASES+=("accel kvm without /dev/kvm|1|cannot open /dev/kvm: .*--accel shadow|-k $T/ok-bz --accel kvm")

for c in "${CASES[@]}"; do
	IFS='|' read -r name want re args <<<"$c"
	# shellcheck disable=SC2086
	env=(); [ "$name" = "blk engine unknown" ] && env=(MVM_BLK_ENGINE=bogus)
	timeout 20 env "${env[@]}" "$MVM" $args </dev/null >"$T/out" 2>"$T/err"
	got=$?
	lines=$(wc -l <"$T/err")
	why=
	[ "$got" = "$want" ] || why="exit $got, want $want"
	[ -z "$why" ] && [ "$lines" != 1 ] && why="$lines stderr lines, want 1"
	[ -z "$why" ] && ! grep -qE -- "$re" "$T/err" && why="stderr does not match /$re/"
	[ -z "$why" ] && grep -qE 'Sanitizer|runtime error|Segmentation|Aborted' "$T/err" && why="crash report"
	if [ -z "$why" ]; then
		pass=$((pass + 1)); echo "PASS bad-input: $name"
	else
		fail=$((fail + 1)); echo "FAIL bad-input: $name: $why"; sed 's/^/    stderr: /' "$T/err" | head -5
	fi
done
echo "bad-input: $pass passed, $fail failed"
[ "$fail" = 0 ]

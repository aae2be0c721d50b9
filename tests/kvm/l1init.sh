#!/bin/sh
# /init of the L1 guest (Linux under QEMU TCG with nested SVM): loads kvm_amd,
# then runs the test cases named on the command line against /bin/mvm.
# Protocol with tests/kvm/run.sh, one line each on the console:
#   KVMH: BEGIN NAME            a case starts; its output follows as "NAME| ..."
#   KVMH: RESULT NAME PASS|FAIL|SKIP DETAIL
#   KVMH: heartbeat UPTIME      every 10 s, so the host can tell slow from wedged
#   KVMH: DONE                  all cases ran
export PATH=/bin:/sbin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev 2>/dev/null
mkdir -p /tmp /out
up() { cut -d' ' -f1 /proc/uptime; }
read -r cmdline </proc/cmdline
arg() { for w in $cmdline; do case $w in kvmh."$1"=*) echo "${w#*=}" ;; esac; done; }

LOOKUP=$(arg lookup)
if [ -n "$LOOKUP" ]; then
	# Symbol look-up boot for the host's watchdog: the modules go in first so
	# that their addresses match those of the wedged run.
	while read -r m; do insmod "/mods/$m.ko" 2>/dev/null; done </mods/order
	for r in $(echo "$LOOKUP" | tr , ' '); do
		# 64-bit addresses overflow awk's numbers; equal-length hex strings
		# compare correctly as strings.
		awk -v r="$r" '($2 == "t" || $2 == "T") && $1 <= r && $1 > b { b = $1; s = $3 " " $4 }
			END { print "KVMH: SYM " r " = " (s == "" ? "?" : s) " (at " b ")" }' /proc/kallsyms
	done
	poweroff -f
fi

( while sleep 10; do echo "KVMH: heartbeat $(up)"; done ) &
HB=$!

NPT=$(arg npt)
[ -n "$NPT" ] || NPT=1
echo "KVMH: L1 at /init, uptime $(up)s, kernel $(uname -r), npt=$NPT"
while read -r m; do
	if [ "$m" = kvm_amd ]; then
		insmod /mods/kvm_amd.ko npt="$NPT" || echo "KVMH: insmod kvm_amd npt=$NPT failed"
	else
		insmod "/mods/$m.ko" || echo "KVMH: insmod $m failed"
	fi
done </mods/order
echo "KVMH: kvm_amd npt=$(cat /sys/module/kvm_amd/parameters/npt 2>/dev/null)" \
	"nested=$(cat /sys/module/kvm_amd/parameters/nested 2>/dev/null)" \
	"/dev/kvm=$([ -c /dev/kvm ] && echo yes || echo no)"

# Variables a case script (where: l1) may use.
MVM_ARGS=$(arg mvmargs | tr , ' ')
export MVM=/bin/mvm MVM_ARGS KERNEL=/l2/bzImage INITRD=/l2/initrd.cpio.gz

# The case runner, shared with the host-side shadow runner.
ACCEL=kvm CASEDIR=/cases OUTDIR=/out TMPD=/tmp
export ACCEL
EXTRA_ARGS=$(arg mvmargs | tr , ' ')
. /case_lib.sh

CASES=$(arg cases | tr , ' ')
for c in $CASES; do run_case "$c"; done

# bench/boot.sh adds its own L1 script.
if [ "$(arg mode)" = bench ] && [ -x /bench/l1bench.sh ]; then
	/bench/l1bench.sh "$(arg runs)"
fi

kill "$HB" 2>/dev/null
echo "KVMH: DONE at uptime $(up)s"
poweroff -f

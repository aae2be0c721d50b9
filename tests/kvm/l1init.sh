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

# hdr FILE KEY: the values of "#@ KEY: value" header lines, one per line.
hdr() { sed -n "s/^#@ $2: *//p" "$1"; }

run_case() {
	n=$1
	f=/cases/$n.sh
	if [ ! -f "$f" ]; then
		echo "KVMH: RESULT $n FAIL no tests/kvm/cases/$n.sh"
		return
	fi
	where=$(hdr "$f" where | tail -n 1)
	tmo=$(hdr "$f" timeout | tail -n 1)
	want=$(hdr "$f" exit | tail -n 1)
	: "${where:=l2}" "${tmo:=240}" "${want:=0}"
	stdin=/dev/null
	if [ -n "$(hdr "$f" stdin)" ]; then
		hdr "$f" stdin | while IFS= read -r l; do printf '%b\n' "$l"; done >/tmp/stdin
		stdin=/tmp/stdin
	fi
	echo "KVMH: BEGIN $n"
	t0=$(up)
	if [ "$where" = l1 ]; then
		{ timeout -s KILL "$tmo" sh "$f" <"$stdin" 2>&1; echo $? >/tmp/rc; } |
			tee "/out/$n.log" | sed "s/^/$n| /"
	else
		append="console=ttyS0 panic=-1 mvm.test=$n $(hdr "$f" append | tr '\n' ' ')"
		# run.sh --mvm-args: extra options for every boot, commas for spaces
		eval "set -- $(arg mvmargs | tr , ' ') $(hdr "$f" mvm | tr '\n' ' ')"
		echo "$n| \$ mvm --accel kvm -k $KERNEL -i $INITRD -p \"$append\" $*"
		{ timeout -s KILL "$tmo" /bin/mvm --accel kvm -k "$KERNEL" -i "$INITRD" \
			-p "$append" "$@" <"$stdin" 2>&1; echo $? >/tmp/rc; } |
			tee "/out/$n.log" | sed "s/^/$n| /"
	fi
	t1=$(up)
	rc=$(cat /tmp/rc)
	secs=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.1f", b - a }')
	tr -d '\r' <"/out/$n.log" >/tmp/log
	why=""
	if [ "$rc" = 137 ] && awk -v s="$secs" -v t="$tmo" 'BEGIN { exit !(s + 1 >= t) }'; then
		why="timed out after ${tmo}s;"
	elif [ "$rc" != "$want" ]; then
		why="exit status $rc, expected $want;"
	fi
	hdr "$f" expect >/tmp/expect
	while IFS= read -r re; do
		grep -qE -- "$re" /tmp/log || why="$why missing /$re/;"
	done </tmp/expect
	hdr "$f" reject >/tmp/reject
	while IFS= read -r re; do
		! grep -qE -- "$re" /tmp/log || why="$why unwanted /$re/;"
	done </tmp/reject
	if [ -z "$why" ]; then
		echo "KVMH: RESULT $n PASS (exit $rc, ${secs}s)"
	else
		echo "KVMH: RESULT $n FAIL $why (${secs}s)"
	fi
}

CASES=$(arg cases | tr , ' ')
for c in $CASES; do run_case "$c"; done

# bench/boot.sh adds its own L1 script.
if [ "$(arg mode)" = bench ] && [ -x /bench/l1bench.sh ]; then
	/bench/l1bench.sh "$(arg runs)"
fi

kill "$HB" 2>/dev/null
echo "KVMH: DONE at uptime $(up)s"
poweroff -f

# case_lib.sh: run one test case of the tests/kvm/cases format (see
# tests/kvm/README.md).  POSIX sh: sourced by the nested L1's /init (busybox)
# and by tests/integration/shadow_boot.sh on the host.
#
# Inputs: ACCEL (kvm|shadow), MVM, KERNEL, INITRD, CASEDIR, OUTDIR, TMPD,
# EXTRA_ARGS (options added to every boot), TMO_SCALE (multiplies timeouts).  Prints one line
# "KVMH: RESULT <name> PASS|FAIL ..." per case.

up() { cut -d' ' -f1 /proc/uptime; }

# hdr FILE KEY: the values of "#@ KEY: value" header lines, one per line.
hdr() { sed -n "s/^#@ $2: *//p" "$1"; }

run_case() {
	n=$1
	f=$CASEDIR/$n.sh
	if [ ! -f "$f" ]; then
		echo "KVMH: RESULT $n FAIL no tests/kvm/cases/$n.sh"
		return
	fi
	where=$(hdr "$f" where | tail -n 1)
	tmo=$(hdr "$f" timeout | tail -n 1)
	want=$(hdr "$f" exit | tail -n 1)
	: "${where:=l2}" "${tmo:=240}" "${want:=0}"
	tmo=$((tmo * ${TMO_SCALE:-1}))	# the shadow backend is slower than KVM
	stdin=/dev/null
	if [ -n "$(hdr "$f" stdin)" ]; then
		hdr "$f" stdin | while IFS= read -r l; do printf '%b\n' "$l"; done >$TMPD/stdin
		stdin=$TMPD/stdin
	fi
	echo "KVMH: BEGIN $n"
	t0=$(up)
	if [ "$where" = l1 ]; then
		{ timeout -s KILL "$tmo" sh "$f" <"$stdin" 2>&1; echo $? >$TMPD/rc; } |
			tee "$OUTDIR/$n.log" | sed "s/^/$n| /"
	else
		append="console=ttyS0 panic=-1 mvm.test=$n $(hdr "$f" append | tr '\n' ' ')"
		# run.sh --mvm-args: extra options for every boot, commas for spaces
		eval "set -- $EXTRA_ARGS $(hdr "$f" mvm | tr '\n' ' ')"
		echo "$n| \$ mvm --accel $ACCEL -k $KERNEL -i $INITRD -p \"$append\" $*"
		{ timeout -s KILL "$tmo" "$MVM" --accel "$ACCEL" -k "$KERNEL" -i "$INITRD" \
			-p "$append" "$@" <"$stdin" 2>&1; echo $? >$TMPD/rc; } |
			tee "$OUTDIR/$n.log" | sed "s/^/$n| /"
	fi
	t1=$(up)
	rc=$(cat $TMPD/rc)
	secs=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.1f", b - a }')
	tr -d '\r' <"$OUTDIR/$n.log" >$TMPD/log
	why=""
	if [ "$rc" = 137 ] && awk -v s="$secs" -v t="$tmo" 'BEGIN { exit !(s + 1 >= t) }'; then
		why="timed out after ${tmo}s;"
	elif [ "$rc" != "$want" ]; then
		why="exit status $rc, expected $want;"
	fi
	hdr "$f" expect >$TMPD/expect
	while IFS= read -r re; do
		grep -qE -- "$re" $TMPD/log || why="$why missing /$re/;"
	done <$TMPD/expect
	hdr "$f" reject >$TMPD/reject
	while IFS= read -r re; do
		! grep -qE -- "$re" $TMPD/log || why="$why unwanted /$re/;"
	done <$TMPD/reject
	if [ -z "$why" ]; then
		echo "KVMH: RESULT $n PASS (exit $rc, ${secs}s)"
	else
		echo "KVMH: RESULT $n FAIL $why (${secs}s)"
	fi
}


#!/bin/sh
#@ desc: durability: the guest fsyncs (or O_DIRECT + fdatasync) files on ext4 and acknowledges each; L1 kill -9s mvm at the last acknowledgment while the guest keeps writing, snapshots what reached the disk (unflushed page cache left behind: a power cut), and every acknowledged file must be there, e2fsck clean after journal replay; libaio and pread engines
#@ where: l1
#@ timeout: 900
#@ exit: 0
#@ expect: ^DURABLE_PASS libaio fsync$
#@ expect: ^DURABLE_PASS pread fsync$
#@ expect: ^DURABLE_PASS libaio direct$
#@ expect: ^DURABLE_PASS pread direct$
#@ reject: Kernel panic
#@ reject: DURABLE_FAIL
# One file, two roles: inside the L2 guest (mvm.test=durability on its
# command line) it writes and acknowledges; on L1 it runs mvm, kills it and
# checks the image.
#
# The disk is a loop device over a file in L1, and this script keeps the loop
# device open while mvm runs: then mvm's death is not its last close, so L1
# does not write back what mvm left in the loop device's page cache (periodic
# writeback is switched off for the run).  Copying the backing file right
# after the kill therefore sees only what mvm pushed to the "disk" (through
# O_DIRECT, or fdatasync on the guest's FLUSH), as after a power cut.  A FLUSH
# that mvm completed without fdatasync loses acknowledged data here.
N=8
if grep -q 'mvm.test=durability' /proc/cmdline; then
	fail() { echo "DURABLE_FAIL guest: $*"; exit 1; }
	mode=fsync
	for w in $(cat /proc/cmdline); do case $w in dur.mode=*) mode=${w#*=} ;; esac; done
	mkdir -p /mnt
	mount -t ext4 /dev/vda /mnt || fail "mount /dev/vda"
	i=0
	while [ $i -lt $N ]; do
		i=$((i + 1))
		# 4 KiB multiples, so O_DIRECT takes every block (sizes 96-320 KiB)
		dd if=/dev/urandom of=/tmp/src bs=4k count=$((16 + i * 8)) 2>/dev/null || fail "dd urandom"
		sum=$(md5sum </tmp/src | cut -d' ' -f1)
		f=/mnt/$mode$i
		if [ "$mode" = direct ]; then
			dd if=/tmp/src of="$f" bs=64k oflag=direct 2>/dev/null || fail "dd oflag=direct $f"
			sync -d "$f" || fail "fdatasync $f"
		else
			cat /tmp/src >"$f" || fail "write $f"
			sync "$f" || fail "fsync $f"
		fi
		# A new file's name lives in the directory: fsync that too (POSIX).
		sync /mnt || fail "fsync /mnt"
		echo "DURABLE-OK $i $mode$i $sum"
	done
	# Unacknowledged writes until the kill, so it lands in the middle of I/O:
	# O_DIRECT, so that they reach mvm at once rather than the guest's cache.
	j=0
	while :; do
		j=$((j + 1))
		dd if=/dev/urandom of=/mnt/junk$j bs=64k count=8 oflag=direct 2>/dev/null
		[ $((j % 4)) != 0 ] || sync
	done
fi

fail() { echo "DURABLE_FAIL host: $*"; exit 1; }
img=/tmp/dur.img
snap=/tmp/dur.snap
loop=/dev/loop0
[ -b $loop ] || fail "no $loop (is the loop module loaded in L1?)"
old_wb=$(cat /proc/sys/vm/dirty_writeback_centisecs)
old_ex=$(cat /proc/sys/vm/dirty_expire_centisecs)
restore() {
	echo "$old_wb" >/proc/sys/vm/dirty_writeback_centisecs
	echo "$old_ex" >/proc/sys/vm/dirty_expire_centisecs
}
echo 0 >/proc/sys/vm/dirty_writeback_centisecs
echo 360000 >/proc/sys/vm/dirty_expire_centisecs
for mode in fsync direct; do
	for eng in libaio pread; do
		tag="[$eng $mode]"
		out=/tmp/dur.$eng.$mode.out	# fresh per run: the poll below must not see an old marker
		rm -f "$img" "$snap" "$out"
		dd if=/dev/zero of="$img" bs=1M count=0 seek=64 2>/dev/null
		mkfs.ext4 -q -F "$img" || { restore; fail "$tag mkfs.ext4"; }
		losetup $loop "$img" || { restore; fail "$tag losetup $loop $img"; }
		exec 5<$loop
		MVM_BLK_ENGINE=$eng "$MVM" --accel "${ACCEL:-kvm}" -c 1 -m 256M -k "$KERNEL" -i "$INITRD" \
			-p "console=ttyS0 panic=-1 quiet mvm.test=durability dur.mode=$mode" \
			-d $loop $MVM_ARGS </dev/null >"$out" 2>&1 &
		pid=$!
		t=0
		while ! cat "$out" 2>/dev/null | tr -d '\r' | grep -q "^DURABLE-OK $N "; do
			kill -0 $pid 2>/dev/null || break
			t=$((t + 1))
			[ $t -lt 2000 ] || break
			sleep 0.1
		done
		kill -9 $pid 2>/dev/null
		wait $pid
		rc=$?
		# What had reached the disk at the kill; only then let L1 write back.
		cp "$img" "$snap"
		exec 5<&-
		losetup -d $loop
		tr -d '\r' <"$out" | sed "s/^/$tag /"
		tr -d '\r' <"$out" | grep -q "^DURABLE-OK $N " ||
			{ restore; fail "$tag no DURABLE-OK $N from the guest (mvm status $rc, ${t} polls)"; }
		[ "$rc" = 137 ] || { restore; fail "$tag mvm ended by itself (status $rc) before the kill"; }
		echo "$tag killed mvm after the last acknowledgment; $(cmp -l "$img" "$snap" | wc -l) bytes of the image had not reached the disk at the kill"
		e2fsck -fn "$snap" >/tmp/dur.fsck 2>&1
		echo "$tag e2fsck -fn before journal replay: status $?"
		e2fsck -E journal_only -y "$snap" >/tmp/dur.fsck 2>&1
		jrc=$?
		[ $jrc -le 1 ] || { cat /tmp/dur.fsck; restore; fail "$tag journal replay: e2fsck status $jrc"; }
		e2fsck -fn "$snap" >/tmp/dur.fsck 2>&1 ||
			{ cat /tmp/dur.fsck; restore; fail "$tag e2fsck -fn after journal replay is not clean"; }
		n=0
		for l in $(tr -d '\r' <"$out" | sed -n 's/^DURABLE-OK [0-9]* \([a-z0-9]*\) \([0-9a-f]*\)$/\1:\2/p'); do
			name=${l%%:*}
			want=${l#*:}
			rm -f /tmp/dur.file
			debugfs -R "dump /$name /tmp/dur.file" "$snap" >/dev/null 2>&1
			[ -f /tmp/dur.file ] || { restore; fail "$tag acknowledged /$name is missing"; }
			got=$(md5sum </tmp/dur.file | cut -d' ' -f1)
			[ "$got" = "$want" ] ||
				{ restore; fail "$tag acknowledged /$name: md5 $got ($(wc -c </tmp/dur.file) bytes), guest wrote $want"; }
			n=$((n + 1))
		done
		[ $n = $N ] || { restore; fail "$tag checked $n acknowledged files, expected $N"; }
		echo "DURABLE_PASS $eng $mode"
	done
done
restore
rm -f "$img" "$snap" /tmp/dur.file /tmp/dur.*.out /tmp/dur.fsck

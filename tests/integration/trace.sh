#!/bin/bash
# mvm's debugging output on the shadow backend, checked line by line:
#   --trace exits            against tests/firmware/trace.exits.expected
#   --trace insn=N           against tests/firmware/trace.insn.expected, a
#                            template whose {le32:SYM[-HEX]} / {x64:SYM[-HEX]}
#                            fields are filled from the ELF's symbols (so the
#                            head.S part does not depend on the compiler)
#   COUNT limit, default COUNT, @START-END filter (bytes checked against the
#   ELF), exact instruction counts of the bench loops, bad specs, the
#   triple-fault report (RIP and CR2 explained) and the SIGUSR2 dump.
#
#   tests/integration/trace.sh      ($MVM, default ./mvm; images from $BUILD/firmware)
# Prints PASS/FAIL per check and "trace: N passed, M failed".
set -u
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
MVM=${MVM:-$ROOT/mvm}
BUILD=${BUILD:-build}
FW=$ROOT/$BUILD/firmware
EXP=$ROOT/tests/firmware
pass=0 fail=0

ok() { echo "PASS $1"; pass=$((pass + 1)); }
bad() { echo "FAIL $1"; shift; for l in "$@"; do echo "    $l"; done; fail=$((fail + 1)); }

[ -x "$MVM" ] || { echo "trace: $MVM is not executable: build it with make, or set MVM" >&2; exit 2; }
make -s -C "$ROOT" BUILD="$BUILD" "$BUILD/firmware/trace.elf" "$BUILD/firmware/bench.elf" >/dev/null ||
	{ echo "trace: building the firmware failed" >&2; exit 2; }
TRACE=$FW/trace.elf BENCH=$FW/bench.elf
tmp=$(mktemp -d)
bg=
trap '[ -z "$bg" ] || kill "$bg" 2>/dev/null; rm -rf "$tmp"' EXIT

# mvm [ARGS...]: serial output in $tmp/out, stderr in $tmp/err, status in $rc.
mvm() {
	timeout 120 "$MVM" --accel shadow -m 128M "$@" </dev/null >"$tmp/out" 2>"$tmp/err"
	rc=$?
}
sym() { nm "$1" | awk -v s="$2" '$3 == s { print $1 }'; }
symsize() { nm -S "$1" | awk -v s="$2" '$4 == s { print $2 }'; }
# The multiple blanks that align the columns are checked once (columns), then ignored.
insn_lines() { grep '^insn' "$tmp/err" | tr -s ' '; }
rip_of() { sed 's/^insn[0-9]* [0-9a-f]*:\([0-9a-f]*\) .*/\1/'; }

# ---- --trace exits ----------------------------------------------------------------
mvm -k "$TRACE" --trace exits
grep '^trace: ' "$tmp/err" >"$tmp/exits"
if [ "$rc" = 1 ] && [ "$(cat "$tmp/out")" = ok ] && cmp -s "$EXP/trace.exits.expected" "$tmp/exits"; then
	ok "--trace exits matches trace.exits.expected"
else
	bad "--trace exits matches trace.exits.expected" "exit status $rc, serial '$(head -c 40 "$tmp/out")'" \
		"$(diff "$EXP/trace.exits.expected" "$tmp/exits" | head -8)"
fi

# ---- --trace insn=15 against the template ---------------------------------------------
nm "$TRACE" >"$tmp/syms"
awk '
	function hexval(h,    i, v) { v = 0; h = tolower(h); for (i = 1; i <= length(h); i++) v = v * 16 + index("0123456789abcdef", substr(h, i, 1)) - 1; return v }
	function bytes(v, n,    s, i) { s = ""; for (i = 0; i < n; i++) { s = s sprintf("%02x", v % 256); v = int(v / 256) } return s }
	function be(v, n,    s, i) { s = ""; for (i = 0; i < n; i++) { s = sprintf("%02x", v % 256) s; v = int(v / 256) } return s }
	FNR == NR { sym[$3] = hexval($1); next }
	{
		while (match($0, /\{(le32|x64):[A-Za-z_0-9]+(-[0-9a-f]+)?\}/)) {
			f = substr($0, RSTART + 1, RLENGTH - 2)
			kind = substr(f, 1, index(f, ":") - 1); e = substr(f, index(f, ":") + 1)
			off = 0
			if (index(e, "-")) { off = hexval(substr(e, index(e, "-") + 1)); e = substr(e, 1, index(e, "-") - 1) }
			if (!(e in sym)) { print "no symbol " e > "/dev/stderr"; exit 1 }
			v = sym[e] - off
			if (v < 0) v += 4294967296
			r = kind == "le32" ? bytes(v, 4) : be(v, 8)
			$0 = substr($0, 1, RSTART - 1) r substr($0, RSTART + RLENGTH)
		}
		print
	}' "$tmp/syms" "$EXP/trace.insn.expected" >"$tmp/want15" || bad "template trace.insn.expected" "unknown symbol"
mvm -k "$TRACE" --trace insn=15
insn_lines >"$tmp/got15"
if [ "$rc" = 1 ] && [ "$(cat "$tmp/out")" = ok ] && cmp -s "$tmp/want15" "$tmp/got15"; then
	ok "--trace insn=15 matches trace.insn.expected"
else
	bad "--trace insn=15 matches trace.insn.expected" "exit status $rc" \
		"$(diff "$tmp/want15" "$tmp/got15" | cut -c1-150 | head -8)"
fi
cols=$(grep '^insn' "$tmp/err" | awk '{ print index($0, " rax=") }' | sort -u)
if [ "$cols" = 59 ]; then
	ok "instruction bytes padded to a fixed column"
else
	bad "instruction bytes padded to a fixed column" "rax= at columns: $(echo $cols)"
fi

# ---- COUNT ------------------------------------------------------------------------
mvm -k "$TRACE" --trace insn=7
insn_lines >"$tmp/got7"
if [ "$rc" = 1 ] && [ "$(wc -l <"$tmp/got7")" = 7 ] && head -7 "$tmp/got15" | cmp -s - "$tmp/got7"; then
	ok "insn=7 prints the first 7 lines and the guest finishes"
else
	bad "insn=7 prints the first 7 lines and the guest finishes" "exit status $rc, $(wc -l <"$tmp/got7") lines"
fi
mvm -k "$BENCH" -p "mode=compute n=1000"
plain_sum=$(grep -o 'sum=[0-9a-f]*' "$tmp/out")
mvm -k "$BENCH" -p "mode=compute n=5000" --trace insn
n=$(grep -c '^insn' "$tmp/err")
mvm -k "$BENCH" -p "mode=compute n=1000" --trace insn
if [ "$n" = 10000 ] && [ "$rc" = 1 ] && [ -n "$plain_sum" ] && grep -q "$plain_sum" "$tmp/out"; then
	ok "default COUNT is 10000, the guest's result is unchanged by tracing"
else
	bad "default COUNT is 10000, the guest's result is unchanged by tracing" "$n lines, exit status $rc, $plain_sum vs $(cat "$tmp/out")"
fi

# ---- @START-END ---------------------------------------------------------------------
main=$(sym "$TRACE" fw_main) size=$(symsize "$TRACE" fw_main)
end=$(printf '%x' $((0x$main + 0x$size - 1)))
mvm -k "$TRACE" --trace "insn=5@$main-$end"
insn_lines >"$tmp/range"
objcopy -O binary -j .text "$TRACE" "$tmp/text.bin"
text=$(readelf -SW "$TRACE" | sed -n 's/.* \.text *PROGBITS *\([0-9a-f]*\) .*/\1/p')
why=
[ "$rc" = 1 ] || why="exit status $rc"
[ "$(wc -l <"$tmp/range")" = 5 ] || why="$why; $(wc -l <"$tmp/range") lines, want 5"
[ "$(head -1 "$tmp/range" | rip_of)" = "$(printf '%016x' $((0x$main)))" ] || why="$why; first RIP is not fw_main"
while read -r l; do
	rip=$(rip_of <<<"$l")
	b=$(awk '{ print $3 }' <<<"$l")
	if [ $((0x$rip)) -lt $((0x$main)) ] || [ $((0x$rip)) -gt $((0x$end)) ]; then
		why="$why; RIP $rip outside $main-$end"
	fi
	elf=$(od -An -tx1 -v -j $((0x$rip - 0x$text)) -N $((${#b} / 2)) "$tmp/text.bin" | tr -d ' \n')
	[ "$elf" = "$b" ] || why="$why; bytes at $rip: trace $b, ELF $elf"
done <"$tmp/range"
if [ -z "$why" ]; then
	ok "@fw_main range: 5 lines, in range, first at fw_main, bytes as in the ELF"
else
	bad "@fw_main range: 5 lines, in range, first at fw_main, bytes as in the ELF" "$why"
fi
mvm -k "$TRACE" --trace "insn@0-fff"
if [ "$rc" = 1 ] && [ "$(cat "$tmp/out")" = ok ] && ! grep -q '^insn' "$tmp/err"; then
	ok "a range nothing runs in prints nothing"
else
	bad "a range nothing runs in prints nothing" "exit status $rc, $(grep -c '^insn' "$tmp/err") lines"
fi

# ---- the bench loops retire exactly the instructions bench/interp.sh counts ----------------
for w in compute:10:7 pt:4103:2; do
	IFS=: read -r mode per iters <<<"$w"
	lo=$(sym "$BENCH" "bench_${mode}_loop") hi=$(sym "$BENCH" "bench_${mode}_end")
	mvm -k "$BENCH" -p "mode=$mode n=$iters" --trace "insn=100000@$lo-$(printf '%x' $((0x$hi - 1)))"
	n=$(grep -c '^insn' "$tmp/err")
	plain=$(grep -o 'sum=[0-9a-f]*' "$tmp/out")
	mvm -k "$BENCH" -p "mode=$mode n=$iters"
	if [ "$n" = $((per * iters)) ] && [ -n "$plain" ] && grep -q "$plain" "$tmp/out"; then
		ok "bench $mode loop: $iters iterations retire $((per * iters)) instructions, same result traced"
	else
		bad "bench $mode loop: $iters iterations retire $((per * iters)) instructions, same result traced" \
			"$n traced; traced $plain, untraced $(cat "$tmp/out")"
	fi
done

# ---- bad specs are usage errors ------------------------------------------------------
for spec in insn=0 insn=x insn@5-1 insn@zz-1 insn=5@10 insnx; do
	mvm -k "$TRACE" --trace "$spec"
	if [ "$rc" = 2 ] && [ "$(wc -l <"$tmp/err")" = 1 ] && grep -q '^mvm: .*--trace' "$tmp/err"; then
		ok "--trace $spec: one-line usage error, status 2"
	else
		bad "--trace $spec: one-line usage error, status 2" "exit status $rc: $(head -2 "$tmp/err")"
	fi
done

# ---- triple fault: RIP and CR2 explained after the register dump -------------------------
cat >"$tmp/tf.S" <<'EOF'
	.text
	.code32
	.align 4
	.long 0x1BADB002, 0, -0x1BADB002
	.globl _start, fault_here
_start:	lidt idtr			/* empty IDT: the #PF escalates to a triple fault */
	mov $pd, %eax
	mov %eax, %cr3
	mov %cr4, %eax
	or $0x10, %eax			/* PSE */
	mov %eax, %cr4
	mov %cr0, %eax
	or $0x80000000, %eax
	mov %eax, %cr0
fault_here:
	movl 0x40000123, %eax
1:	jmp 1b
	.data
	.align 4096
pd:	.long 0x00000083		/* 0-4M identity, 4M page; nothing at 1G */
	.fill 1023, 4, 0
idtr:	.word 0
	.long 0
EOF
printf 'ENTRY(_start)\nSECTIONS { . = 0x100000; .text : { *(.text) } . = ALIGN(4096); .data : { *(.data) } }\n' >"$tmp/tf.ld"
if gcc -m32 -c -o "$tmp/tf.o" "$tmp/tf.S" &&
   ld -m elf_i386 -T "$tmp/tf.ld" -z noexecstack --build-id=none -o "$tmp/tf.elf" "$tmp/tf.o"; then
	fault=$(sym "$tmp/tf.elf" fault_here)
	mvm -k "$tmp/tf.elf"
	why=
	[ "$rc" = 4 ] || why="exit status $rc, want 4"
	grep -n '^mvm: vcpu0 rip=' "$tmp/err" | head -1 >"$tmp/dump"
	rl=$(grep -n "^mvm: vcpu0 triple fault: rip [0-9a-f]*:0*$fault (32-bit, linear $(printf '%#x' $((0x$fault))))" "$tmp/err" |
	     cut -d: -f1 | head -1)
	rl=${rl:-0}
	[ "$rl" -gt 0 ] || why="$why; no 'triple fault: rip ...$fault' line"
	[ "$rl" -gt "$(cut -d: -f1 "$tmp/dump")" ] 2>/dev/null || why="$why; explanation not after the register dump"
	sed -n "$((rl + 1)),\$p" "$tmp/err" >"$tmp/after"
	grep -q "^mvm: vcpu0     guest: leaf level 2 gpa $(printf '%#x' $((0x$fault)))" "$tmp/after" ||
		why="$why; RIP's walk not explained"
	grep -A2 '^mvm: vcpu0 cr2 0x40000123:$' "$tmp/after" | grep -q 'guest: fault, error code 0' ||
		why="$why; CR2 0x40000123 not explained as a not-present fault"
	if [ -z "$why" ]; then
		ok "triple fault: RIP and CR2 explained after the register dump"
	else
		bad "triple fault: RIP and CR2 explained after the register dump" "$why" "$(head -20 "$tmp/err")"
	fi
else
	bad "triple fault: RIP and CR2 explained after the register dump" "cannot assemble the guest (gcc -m32, ld)"
fi

# ---- SIGUSR2 --------------------------------------------------------------------------
lo=$(sym "$BENCH" bench_compute_loop) hi=$(sym "$BENCH" bench_compute_end)
# Not under timeout(1): the signal must reach mvm itself.  The EXIT trap kills it.
"$MVM" --accel shadow -m 128M -k "$BENCH" -p "mode=compute n=2000000000" \
	</dev/null >"$tmp/out" 2>"$tmp/err" &
bg=$!
sleep 1
kill -USR2 "$bg" 2>/dev/null
for _ in $(seq 50); do
	grep -q '^mvm: vcpu0 SIGUSR2: ' "$tmp/err" && break
	sleep 0.2
done
sleep 0.2
alive=no
kill -0 "$bg" 2>/dev/null && alive=yes
kill "$bg" 2>/dev/null
wait "$bg" 2>/dev/null
bg=
line=$(grep '^mvm: vcpu0 SIGUSR2: ' "$tmp/err" | head -1)
rip=$(sed -n 's/.*rip [0-9a-f]*:\([0-9a-f]*\) .*/\1/p' <<<"$line")
if [ -n "$rip" ] && [ $((0x$rip)) -ge $((0x$lo)) ] && [ $((0x$rip)) -lt $((0x$hi)) ] && [ $alive = yes ] &&
   grep -q '^mvm: vcpu0     guest: paging off, gpa ' "$tmp/err"; then
	ok "SIGUSR2: RIP in the running loop, explained, guest keeps running"
else
	bad "SIGUSR2: RIP in the running loop, explained, guest keeps running" \
		"alive after the signal: $alive; loop $lo-$hi; got: ${line:-nothing}"
fi

# ---- KVM cannot trace instructions ---------------------------------------------------
if [ -r /dev/kvm ] && [ -w /dev/kvm ]; then
	timeout 60 "$MVM" --accel kvm -m 128M -k "$TRACE" --trace insn </dev/null >"$tmp/out" 2>"$tmp/err"
	rc=$?
	if [ "$rc" = 2 ] && [ "$(wc -l <"$tmp/err")" = 1 ] && grep -q -- '--trace insn' "$tmp/err"; then
		ok "--accel kvm --trace insn is refused in one line"
	else
		bad "--accel kvm --trace insn is refused in one line" "exit status $rc: $(head -2 "$tmp/err")"
	fi
else
	echo "SKIP --accel kvm --trace insn refusal: no usable /dev/kvm here (tests/kvm runs it)"
fi

echo "trace: $pass passed, $fail failed"
[ "$fail" = 0 ]

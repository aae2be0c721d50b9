#!/bin/bash
# guest.sh: fetch the guest parts mvm boots in the demo and the nested-KVM tests.
#
#   scripts/guest.sh [--out DIR] [--cases DIR] [--print-env] [--quiet]
#
# Kernel: Debian's linux-image-cloud-amd64, resolved with apt-cache at run time to
# the linux-image-<version> package it currently depends on, fetched with
# `apt-get download` and unpacked with `dpkg-deb -x` (nothing is installed).
# Initramfs: busybox-static plus the virtio modules of that same kernel; its /init
# prints MVM_INIT_REACHED, then runs /tests/NAME.sh when the kernel command line
# says mvm.test=NAME (see tests/kvm/README.md), else an interactive shell.
#
# Everything lands in DIR (default: $MVM_CACHE, else <repo>/.cache).  A second
# run with the same inputs does nothing.  --print-env prints shell assignments
# (KERNEL= INITRD= KVER= MODDIR= KPKG=) instead of the human summary.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
OUT=${MVM_CACHE:-$ROOT/.cache}
CASES=$ROOT/tests/kvm/cases
FLAVOUR=${MVM_KERNEL_FLAVOUR:-cloud-amd64}
PRINT_ENV=0
QUIET=0

usage() {
	sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | sed -e '/^set -euo/d' -e 's/^# \{0,1\}//'
}
while [ $# -gt 0 ]; do
	case $1 in
	--out) OUT=$2; shift 2 ;;
	--out=*) OUT=${1#*=}; shift ;;
	--cases) CASES=$2; shift 2 ;;
	--cases=*) CASES=${1#*=}; shift ;;
	--print-env) PRINT_ENV=1; shift ;;
	--quiet|-q) QUIET=1; shift ;;
	-h|--help) usage; exit 0 ;;
	*) echo "guest.sh: unknown argument '$1' (try --help)" >&2; exit 2 ;;
	esac
done

say() { [ "$QUIET" = 1 ] || [ "$PRINT_ENV" = 1 ] || echo "guest.sh: $*" >&2; }
die() { echo "guest.sh: error: $*" >&2; exit 1; }

mkdir -p "$OUT" || die "cannot create cache dir $OUT"
OUT=$(cd "$OUT" && pwd)

for tool in dpkg-deb modinfo cpio gzip sha256sum; do
	command -v "$tool" >/dev/null || die "$tool not found: install it (scripts/deps.sh)"
done

# ---- 1. kernel -------------------------------------------------------------
# The meta package's dependency moves with every Debian point release, so it
# is looked up each time; an offline machine falls back to the newest kernel
# already in the cache.
KPKG=""
if command -v apt-cache >/dev/null; then
	KPKG=$(apt-cache depends "linux-image-$FLAVOUR" 2>/dev/null |
		awk '$1 == "Depends:" && $2 ~ /^linux-image-/ { print $2; exit }') || true
fi
if [ -z "$KPKG" ]; then
	KPKG=$(ls -1d "$OUT"/kernel/linux-image-*/.complete 2>/dev/null | sort -V | tail -n 1 | xargs -r dirname | xargs -r basename) || true
	[ -n "$KPKG" ] || die "cannot resolve linux-image-$FLAVOUR with apt-cache and no kernel is cached in $OUT/kernel: run 'apt-get update' first"
	say "apt-cache could not resolve linux-image-$FLAVOUR; using cached $KPKG"
fi
# fetch_kernel PKG: download and unpack PKG into $OUT/kernel/PKG.
fetch_kernel() {
	local kx=$OUT/kernel/$1 deb
	command -v apt-get >/dev/null || { echo "apt-get not found: this script needs a Debian/Ubuntu host" >&2; return 1; }
	say "downloading $1"
	rm -rf "$kx" "$OUT/debs/tmp"
	mkdir -p "$kx" "$OUT/debs/tmp"
	# apt-get download writes into the current directory; the _apt sandbox
	# user usually cannot, which only costs a warning.
	(cd "$OUT/debs/tmp" && apt-get download -q "$1" >/dev/null 2>"$OUT/debs/apt.log") ||
		{ echo "apt-get download $1 failed (see $OUT/debs/apt.log; try 'apt-get update')" >&2; return 1; }
	deb=$(ls "$OUT"/debs/tmp/"$1"_*.deb)
	dpkg-deb -x "$deb" "$kx" || { echo "dpkg-deb -x $deb failed" >&2; return 1; }
	mv "$deb" "$OUT/debs/" && rmdir "$OUT/debs/tmp"
	touch "$kx/.complete"
}
KX=$OUT/kernel/$KPKG
if [ ! -f "$KX/.complete" ] && ! fetch_kernel "$KPKG"; then
	rm -rf "$KX"
	# Offline with an older kernel cached: better a slightly old guest than none.
	old=$(ls -1d "$OUT"/kernel/linux-image-*/.complete 2>/dev/null | sort -V | tail -n 1)
	[ -n "$old" ] || die "cannot fetch $KPKG and no kernel is cached in $OUT/kernel"
	KPKG=$(basename "$(dirname "$old")")
	KX=$OUT/kernel/$KPKG
	say "warning: using the cached $KPKG instead"
fi
KVER=$(ls -1 "$KX/lib/modules" | head -n 1)
[ -n "$KVER" ] || die "$KX/lib/modules is empty: remove $KX and re-run"
MODDIR=$KX/lib/modules/$KVER
KERNEL=$KX/boot/vmlinuz-$KVER
[ -f "$KERNEL" ] || die "$KERNEL missing: remove $KX and re-run"

# ---- 2. module load order --------------------------------------------------
# find_mod NAME: path of NAME.ko[.xz|.zst] ('-' and '_' are interchangeable in
# module names), or nothing when the module is built in or absent.
find_mod() {
	local a=$1 b
	b=$(echo "$a" | tr '_-' '-_')
	find "$MODDIR/kernel" \( -name "$a.ko" -o -name "$a.ko.*" -o -name "$b.ko" -o -name "$b.ko.*" \) \
		-print -quit
}
# add_mod NAME: append NAME and, first, its dependencies to MOD_ORDER.
declare -a MOD_ORDER=()
declare -A MOD_FILE=()
add_mod() {
	local name=$1 f dep key
	key=$(echo "$name" | tr - _)
	[ -z "${MOD_FILE[$key]+x}" ] || return 0
	f=$(find_mod "$name")
	if [ -z "$f" ]; then
		MOD_FILE[$key]=""	# built in (modules.builtin) or not in this kernel: nothing to load
		return 0
	fi
	for dep in $(modinfo -F depends "$f" | tr , ' '); do add_mod "$dep"; done
	MOD_FILE[$key]=$f
	MOD_ORDER+=("$key")
}
resolve_mods() {
	local m
	MOD_ORDER=(); MOD_FILE=()
	for m in "$@"; do add_mod "$m"; done
}

# copy_mod SRC DST: modules may ship compressed; busybox insmod wants plain .ko.
copy_mod() {
	case $1 in
	*.xz) xz -dc "$1" >"$2" ;;
	*.zst) zstd -qdc "$1" >"$2" ;;
	*.gz) gzip -dc "$1" >"$2" ;;
	*) cp "$1" "$2" ;;
	esac
}

# ---- 3. busybox -------------------------------------------------------------
BUSYBOX=${MVM_BUSYBOX:-$(command -v busybox || true)}
[ -n "$BUSYBOX" ] || die "busybox not found: apt-get install busybox-static"
if ! file -L "$BUSYBOX" 2>/dev/null | grep -q 'statically linked'; then
	die "$BUSYBOX is not statically linked: apt-get install busybox-static"
fi

# populate_busybox DIR: busybox at DIR/bin/busybox plus one symlink per applet.
populate_busybox() {
	local r=$1 a
	mkdir -p "$r/bin" "$r/sbin" "$r/usr/bin" "$r/usr/sbin"
	cp "$BUSYBOX" "$r/bin/busybox"
	for a in $("$BUSYBOX" --list); do
		[ "$a" = busybox ] || [ -e "$r/bin/$a" ] || ln -s busybox "$r/bin/$a"
	done
}

# ---- 4. the L2 guest initramfs ------------------------------------------------
L2_MODULES="virtio_mmio virtio_blk virtio_net virtio_console virtio_rng ext4"

# The guest's /init.  Module parameters on the kernel command line
# (virtio_mmio.device=...) are only applied by modprobe, not by the kernel, when
# a module is loaded after boot, so /init passes them to insmod itself.
write_init() {
	cat >"$1" <<'EOF'
#!/bin/sh
# /init of the mvm guest initramfs (generated by scripts/guest.sh).
export PATH=/bin:/sbin:/usr/bin:/usr/sbin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev 2>/dev/null
mkdir -p /dev/pts /tmp
mount -t devpts devpts /dev/pts
read -r cmdline </proc/cmdline
param() {
	for w in $cmdline; do case $w in "$1"=*) echo "${w#*=}" ;; esac; done
}
modargs() {
	for w in $cmdline; do case $w in "$1".*) printf '%s ' "${w#"$1".}" ;; esac; done
}
while read -r name file; do
	insmod "/lib/modules/$file" $(modargs "$name") || echo "mvm-init: insmod $name failed"
done </lib/modules/order
echo MVM_INIT_REACHED
t=$(param mvm.test)
if [ -n "$t" ]; then
	if [ -f "/tests/$t.sh" ]; then
		sh "/tests/$t.sh"
		echo "MVM_TEST_END $t rc=$?"
	else
		echo "MVM_TEST_END $t rc=127 (no /tests/$t.sh in this initramfs)"
	fi
	# A case that wants another ending (reboot -f) does it itself.
	poweroff -f
else
	echo "mvm demo: busybox shell on the serial console; 'poweroff -f' ends the VM."
	echo MVM_SHELL_READY
	setsid cttyhack sh -l
	poweroff -f
fi
sleep 1000000
EOF
	chmod 755 "$1"
}

# build_cpio DIR FILE: newc archive, root-owned, gzip (every kernel decodes it).
build_cpio() {
	(cd "$1" && find . | LC_ALL=C sort | cpio -o -H newc -R 0:0 --quiet | gzip -6n) >"$2.tmp.$$"
	mv "$2.tmp.$$" "$2"
}

GUEST=$OUT/guest
INITRD=$GUEST/initrd-$KVER.cpio.gz
mkdir -p "$GUEST"
resolve_mods $L2_MODULES
case_files=$(ls -1 "$CASES"/*.sh 2>/dev/null || true)
stamp=$({
	echo "v1 $KPKG ${MOD_ORDER[*]}"
	sha256sum "$BUSYBOX" "${BASH_SOURCE[0]}" $case_files
} | sha256sum | cut -d' ' -f1)
if [ ! -f "$INITRD" ] || [ "$(cat "$INITRD.stamp" 2>/dev/null)" != "$stamp" ]; then
	say "building $INITRD (modules: ${MOD_ORDER[*]:-none})"
	R=$GUEST/root.tmp.$$	# per process: two builds may race, the last mv wins
	rm -rf "$R"
	mkdir -p "$R"/{proc,sys,dev,tmp,root,etc,lib/modules,tests}
	populate_busybox "$R"
	write_init "$R/init"
	: >"$R/lib/modules/order"
	for m in "${MOD_ORDER[@]}"; do
		copy_mod "${MOD_FILE[$m]}" "$R/lib/modules/$m.ko"
		echo "$m $m.ko" >>"$R/lib/modules/order"
	done
	for f in $case_files; do cp "$f" "$R/tests/"; done
	echo 'export PS1="mvm-guest:\w# "' >"$R/etc/profile"
	build_cpio "$R" "$INITRD"
	rm -rf "$R"
	echo "$stamp" >"$INITRD.stamp"
fi
# Stable names for people typing commands by hand.
[ "$(readlink "$GUEST/initrd.cpio.gz")" = "$(basename "$INITRD")" ] || ln -sfn "$(basename "$INITRD")" "$GUEST/initrd.cpio.gz"
[ "$(readlink "$GUEST/bzImage")" = "$KERNEL" ] || ln -sfn "$KERNEL" "$GUEST/bzImage"

if [ "$PRINT_ENV" = 1 ]; then
	printf 'KERNEL=%q\nINITRD=%q\nKVER=%q\nKPKG=%q\nMODDIR=%q\nMVM_CACHE=%q\n' \
		"$KERNEL" "$INITRD" "$KVER" "$KPKG" "$MODDIR" "$OUT"
elif [ "$QUIET" != 1 ]; then
	echo "kernel:  $KERNEL ($KPKG)"
	echo "initrd:  $INITRD"
	echo "modules: $MODDIR"
fi

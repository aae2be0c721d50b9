#!/bin/sh
# Runs inside the nested-KVM L1 (bench/boot.sh puts it at /bench/l1bench.sh):
# boots the same kernel + initramfs with mvm and with QEMU microvm, alternating
# so that load on the machine hits both alike, and prints one BENCH line each.
RUNS=${1:-5}
[ -n "$RUNS" ] || RUNS=5
. /bench/config
APPEND="console=ttyS0 quiet panic=-1"
MEM_MIB=${MEM%M}
# Guest-RAM mappings are at least 3/4 of the guest size; nothing else is.
GMIN=$((MEM_MIB * 3 / 4))
i=0
while [ "$i" -lt "$RUNS" ]; do
	i=$((i + 1))
	for vmm in mvm qemu; do
		if [ "$vmm" = mvm ]; then
			set -- /bin/mvm --accel kvm -k "$KERNEL" -i "$INITRD" -p "$APPEND" -m "$MEM" -c "$CPUS" $MVM_ARGS
		else
			[ -x /usr/bin/qemu-system-x86_64 ] || continue
			set -- /usr/bin/qemu-system-x86_64 -M microvm,rtc=on -accel kvm -cpu host \
				-m "$MEM" -smp "$CPUS" -nodefaults -no-user-config -display none \
				-serial stdio -no-reboot -kernel "$KERNEL" -initrd "$INITRD" -append "$APPEND"
		fi
		r=$(/bin/tmark -t "${TIMEOUT:-300}" -g 300 -G "$GMIN" -l "/tmp/$vmm.$i.log" MVM_INIT_REACHED "$@" </dev/null)
		echo "BENCH: $vmm run=$i $r"
		case $r in
		marker_ms=-1*) tr -d '\r' <"/tmp/$vmm.$i.log" | tail -n 15 | sed "s/^/BENCH-LOG $vmm| /" ;;
		esac
	done
done

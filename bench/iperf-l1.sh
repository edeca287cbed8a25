#!/bin/sh
# L1 side of bench/iperf: a persistent tap (vnet_hdr) with 192.168.77.1 and
# an iperf3 server on L1; alternating vmkit and QEMU runs of the same L2
# kernel + initramfs (+ iperf3) on that tap.
# usage: iperf-l1.sh DIR ROUNDS SECS  (DIR: iperf3 + libs, iperf.cpio.gz)
dir=$1 rounds=$2 secs=$3
export LD_LIBRARY_PATH=$dir
ip() { "$dir/ip" "$@"; }
ip link set lo up
ip tuntap add dev vmtap0 mode tap vnet_hdr
ip addr add 192.168.77.1/24 dev vmtap0
ip link set vmtap0 up
"$dir/iperf3" -s >/tmp/iperf-server.log 2>&1 &
srv=$!
cat /images/l2-initrd.cpio.gz "$dir/iperf.cpio.gz" >/tmp/l2-iperf.img
append="console=ttyS0 quiet vmkit.check=net-iperf iperf.secs=$secs"
report() {
	if grep -q "^VMKIT-IPERF guest_to_host" "$2"; then
		sed -n "s/^VMKIT-IPERF /BENCH $1 /p" "$2"
	else
		echo "== $1 gave no figures:"; tail -20 "$2"
	fi
}
for r in $(seq "$rounds"); do
	/rig/vmkit run --kernel /images/vmlinuz --initrd /tmp/l2-iperf.img --memory 512M --cpus 1 \
		--console stdio --net tap=vmtap0 --cmdline "$append" </dev/null >/tmp/vmkit.out 2>&1
	report vmkit /tmp/vmkit.out
	qemu-system-x86_64 -M q35 -accel kvm -cpu host -m 512M -smp 1 -nodefaults -no-user-config \
		-nographic -serial stdio -no-reboot -kernel /images/vmlinuz -initrd /tmp/l2-iperf.img \
		-append "$append" -netdev tap,id=n0,ifname=vmtap0,script=no,downscript=no,vhost=off \
		-device virtio-net-pci,netdev=n0,romfile= </dev/null >/tmp/qemu.out 2>&1
	report qemu /tmp/qemu.out
done
kill $srv

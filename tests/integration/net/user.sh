#!/bin/sh
# L1 side of the net-user test: DNS stub and HTTP server on the host's
# loopback (slirp's 10.0.2.2 and 10.0.2.3 lead there), vmkit with two
# hostfwd ports; checks the guest's server through them.
# usage: user.sh VMKIT KERNEL INITRD DIR [NETOPTS]
#   DIR holds dnsstub, blob, checks.cpio.gz; NETOPTS are appended to --net user
vmkit=$1 kernel=$2 initrd=$3 dir=$4 netopts=$5
# Outside the rig (a host with VT-x/AMD-V runs this natively) everything
# happens in private mount and network namespaces: the host's network,
# /etc/resolv.conf and /tmp are left alone.
if [ ! -f /rig/cmd ] && [ -z "$VMKIT_NET_PRIVATE" ]; then
	VMKIT_NET_PRIVATE=1 exec unshare --mount --net sh "$0" "$@"
fi
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
bb= # busybox applets (httpd, nc -l -p): the rig's L1 is busybox; a host has busybox-static
[ -f /rig/cmd ] || bb=busybox
ifconfig lo 127.0.0.1 up 2>/dev/null || ip link set lo up
# slirp forwards the guest's DNS queries to the resolver named here
echo "nameserver 127.0.0.1" >"$work/resolv.conf"
if [ -n "$VMKIT_NET_PRIVATE" ]; then
	mount --bind "$work/resolv.conf" /etc/resolv.conf
else
	cp "$work/resolv.conf" /etc/resolv.conf
fi
"$dir/dnsstub" 127.0.0.1 53 files.vmkit.test 10.0.2.2 &
dns=$!
mkdir -p $work/www && cp "$dir/blob" $work/www/blob
$bb httpd -f -p 127.0.0.1:8000 -h $work/www &
web=$!
echo "VMKIT-L1 blob sha256=$(sha256sum $work/www/blob | cut -d' ' -f1)"
cat "$initrd" "$dir/checks.cpio.gz" >$work/l2-net.img
"$vmkit" run --kernel "$kernel" --initrd $work/l2-net.img --memory 256M --console stdio \
	--net user,hostfwd=tcp::8080-:80,hostfwd=tcp:127.0.0.1:8081-:81$netopts \
	--cmdline 'console=ttyS0 quiet vmkit.check=net-user' </dev/null >$work/vm.out 2>&1 &
pid=$!
i=0
while ! grep -q "VMKIT-NET ready" $work/vm.out && [ $i -lt 150 ] && kill -0 $pid 2>/dev/null; do
	sleep 1; i=$((i + 1))
done
echo "VMKIT-L1 fwd=$(timeout 30 $bb wget -q -O - http://127.0.0.1:8080/index.html)"
echo "bye-from-l1" | $bb nc 127.0.0.1 8081
wait $pid
s=$?
cat $work/vm.out
kill $dns $web
exit $s

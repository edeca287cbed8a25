#!/bin/sh
# L1 side of the net-user test: DNS stub and HTTP server on the host's
# loopback (slirp's 10.0.2.2 and 10.0.2.3 lead there), vmkit with two
# hostfwd ports; checks the guest's server through them.
# usage: user.sh VMKIT KERNEL INITRD DIR [NETOPTS]
#   DIR holds dnsstub, blob, checks.cpio.gz; NETOPTS are appended to --net user
vmkit=$1 kernel=$2 initrd=$3 dir=$4 netopts=$5
ifconfig lo 127.0.0.1 up
echo "nameserver 127.0.0.1" >/etc/resolv.conf
"$dir/dnsstub" 127.0.0.1 53 files.vmkit.test 10.0.2.2 &
dns=$!
mkdir -p /tmp/www && cp "$dir/blob" /tmp/www/blob
httpd -p 127.0.0.1:8000 -h /tmp/www
echo "VMKIT-L1 blob sha256=$(sha256sum /tmp/www/blob | cut -d' ' -f1)"
cat "$initrd" "$dir/checks.cpio.gz" >/tmp/l2-net.img
"$vmkit" run --kernel "$kernel" --initrd /tmp/l2-net.img --memory 256M --console stdio \
	--net user,hostfwd=tcp::8080-:80,hostfwd=tcp:127.0.0.1:8081-:81$netopts \
	--cmdline 'console=ttyS0 quiet vmkit.check=net-user' </dev/null >/tmp/vm.out 2>&1 &
pid=$!
i=0
while ! grep -q "VMKIT-NET ready" /tmp/vm.out && [ $i -lt 150 ] && kill -0 $pid 2>/dev/null; do
	sleep 1; i=$((i + 1))
done
echo "VMKIT-L1 fwd=$(timeout 30 wget -q -O - http://127.0.0.1:8080/index.html)"
echo "bye-from-l1" | nc 127.0.0.1 8081
wait $pid
s=$?
cat /tmp/vm.out
kill $dns
exit $s

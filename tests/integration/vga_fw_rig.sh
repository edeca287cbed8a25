#!/bin/sh
# Runs in the rig (or natively) for test_vga_firmware.py: firmware boot of
# DISK under `vmkit run --vga std --monitor`; for each MARKER in turn, waits
# until it appears on the serial console, waits 2 s more, takes a screenshot
# and prints it base64-encoded between VMKIT-PNG-BEGIN n / VMKIT-PNG-END n.
# Then stops the VM and prints the serial output.
# Usage: vga_fw_rig.sh VMKIT DISK BIOS MEMORY MARKER...
vmkit=$1 disk=$2 bios=$3 mem=$4
shift 4
d=$(mktemp -d)
# The rig has no console-setup-linux or seabios: the test ships the files next to this script.
[ -f "$(dirname "$0")/font.psf.gz" ] && export VMKIT_FONT="$(dirname "$0")/font.psf.gz"
[ -f "$(dirname "$0")/vgabios-stdvga.bin" ] && export VMKIT_VGA_BIOS="$(dirname "$0")/vgabios-stdvga.bin"
"$vmkit" run --disk "$disk" --firmware "$bios" --memory "$mem" --vga std --monitor "unix:$d/mon" \
	--console "file:$d/serial" &
pid=$!
n=0
for marker in "$@"; do
	n=$((n + 1))
	for i in $(seq 240); do
		grep -q "$marker" "$d/serial" 2>/dev/null && break
		kill -0 $pid 2>/dev/null || break
		sleep 1
	done
	sleep 2
	"$vmkit" screenshot --socket "$d/mon" "$d/s$n.png"
	echo "VMKIT-SHOT $n status=$?"
	echo "VMKIT-PNG-BEGIN $n"
	base64 "$d/s$n.png"
	echo "VMKIT-PNG-END $n"
done
kill $pid 2>/dev/null
wait $pid
echo "VMKIT-VM status=$?"
cat "$d/serial"
rm -rf "$d"
exit 0

#!/bin/sh
# Runs in the rig (or natively) for test_vga_firmware.py: firmware boot of
# DISK under `vmkit run --vga std --monitor`; for each MARKER n in turn, waits
# until it appears on the serial console, then takes three screenshots 2 s
# apart and prints each base64-encoded between VMKIT-PNG-BEGIN n.k / END n.k.
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
	# a few shots 2 s apart: the screen may still be drawing when the serial marker shows
	for k in 1 2 3; do
		sleep 2
		"$vmkit" screenshot --socket "$d/mon" "$d/s$n.$k.png"
		echo "VMKIT-SHOT $n.$k status=$?"
		echo "VMKIT-PNG-BEGIN $n.$k"
		base64 "$d/s$n.$k.png"
		echo "VMKIT-PNG-END $n.$k"
	done
done
kill $pid 2>/dev/null
wait $pid
echo "VMKIT-VM status=$?"
cat "$d/serial"
rm -rf "$d"
exit 0

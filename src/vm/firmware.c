// SPDX-License-Identifier: MIT
/*
 * Firmware boot (no --kernel): the BIOS image mapped read-only at the top of
 * 4 GiB with its last 128 KiB also at 0xe0000-0xfffff (the PC's reset and
 * legacy BIOS windows), the fw_cfg device SeaBIOS configures itself from, and
 * the debug console at 0x402 SeaBIOS logs to. The vCPUs start in the x86
 * reset state (CS:IP f000:fff0, CS base 0xffff0000: the top 16 bytes of the
 * image), as KVM creates them.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "vm_priv.h"
#include "vmkit/fw_cfg.h"
#include "vmkit/log.h"
#include "vmkit/util.h"
#include "vmkit/x86.h"

/*
 * At most 256 KiB: KVM's private real-mode pages (vm.c KVM_TSS_ADDR) sit just
 * below 0xfffc0000. SeaBIOS images are 128 or 256 KiB.
 */
#define FW_MAX_SIZE (256 * KiB)
#define FW_SIZE_UNIT (64 * KiB)
#define FW_LOW_WINDOW (128 * KiB) /* 0xe0000-0xfffff */
#define FW_4G 0x100000000ULL

int vm_firmware_read(struct vm *vm, char *err, size_t errlen)
{
	const char *path = vm->cfg.firmware;
	int r = read_file_all(path, 16 * MiB, &vm->fw_image, &vm->fw_len);

	if (r) {
		snprintf(err, errlen, "cannot read firmware %s: %s", path,
			 r == -EFBIG ? "not a BIOS image (larger than 16 MiB)" : strerror(-r));
		return r;
	}
	if (vm->fw_len == 0 || vm->fw_len % FW_SIZE_UNIT || vm->fw_len > FW_MAX_SIZE) {
		snprintf(err, errlen, "firmware %s is %zu bytes: expected a BIOS image of 64, 128, 192 or 256 KiB", path,
			 vm->fw_len);
		return -ENOEXEC;
	}
	return 0;
}

/*
 * PAM (Intel 3 Series/Q35 MCH datasheet s5.1.18-24): PAM0 bits 5:4 hold the
 * attributes of 0xf0000-0xfffff; PAM1-6 hold two 16 KiB segments each from
 * 0xc0000 (low nibble first). Per segment: read-enable (RE) and write-enable
 * (WE); a disabled read or write goes to the ROM/PCI side instead of RAM.
 *   RE WE  KVM slot for the segment
 *   1  1   RAM
 *   1  0   RAM, read-only (writes exit and are dropped)
 *   0  x   the BIOS image's low alias, read-only, inside 0xe0000-0xfffff
 *          (writes exit; with WE they land in RAM); below it, no slot:
 *          reads see nothing (0xff), writes reach RAM only with WE
 * Code runs from the alias at reset (f000:e05b after the reset vector), so
 * the ROM side is a real memory slot. SeaBIOS enables RAM, copies itself
 * from the high alias into it, and later makes 0xf0000 read-only again.
 */
#define PAM_BASE 0xc0000ULL
#define PAM_LEN (X86_BIOS_END - PAM_BASE)
#define PAM_NSEG 13
#define PAM_RE 1
#define PAM_WE 2
#define MCH_PAM0 0x90

static uint64_t seg_base(unsigned int i)
{
	return i < 12 ? PAM_BASE + i * 0x4000ULL : 0xf0000ULL;
}

static uint64_t seg_size(unsigned int i)
{
	return i < 12 ? 0x4000ULL : 0x10000ULL;
}

/* The BIOS image's alias below 1 MiB: [rom_low_base, 1 MiB). */
static uint64_t rom_low_base(const struct vm *vm)
{
	return X86_BIOS_END - MIN(vm->fw_len, (size_t)FW_LOW_WINDOW);
}

static const uint8_t *rom_low_byte(const struct vm *vm, uint64_t gpa)
{
	return (const uint8_t *)vm->fw_rom + vm->fw_len - (X86_BIOS_END - gpa);
}

/* Caller holds pam.lock. KVM cannot change a slot's memory in place: delete, then set. */
static int pam_apply(struct vm *vm, unsigned int i, uint8_t attr)
{
	uint64_t base = seg_base(i), size = seg_size(i);
	unsigned int slot = vm->pam.slot[i];
	int r = 0;

	if (vm->pam.mapped[i]) {
		r = kvm_set_memory_slot(&vm->kvm, slot, 0, 0, NULL, 0);
		if (r)
			return r;
		vm->pam.mapped[i] = false;
	}
	if (attr & PAM_RE)
		r = kvm_set_memory_slot(&vm->kvm, slot, base, size, vm->pam.ram + (base - PAM_BASE),
					(attr & PAM_WE) ? 0 : KVM_MEM_READONLY);
	else if (base >= rom_low_base(vm))
		r = kvm_set_memory_slot(&vm->kvm, slot, base, size, (void *)rom_low_byte(vm, base), KVM_MEM_READONLY);
	else
		attr |= 0x80; /* no slot: every access exits to pam_io */
	if (r)
		return r;
	vm->pam.mapped[i] = !(attr & 0x80);
	vm->pam.attr[i] = attr & 3;
	return 0;
}

static uint8_t pam_attr(const struct pci_device *hb, unsigned int i)
{
	uint8_t reg = i < 12 ? hb->cfg[MCH_PAM0 + 1 + i / 2] : hb->cfg[MCH_PAM0];
	bool high = i < 12 ? (i & 1) : true;

	return (uint8_t)((high ? reg >> 4 : reg) & 3);
}

/* Host bridge config write hook (vCPU thread, PCI bus lock held): remap changed segments. */
static void pam_written(struct pci_device *hb, uint32_t off, uint32_t size)
{
	struct vm *vm = hb->opaque;

	if (off > MCH_PAM0 + 6 || off + size <= MCH_PAM0)
		return;
	pthread_mutex_lock(&vm->pam.lock);
	for (unsigned int i = 0; i < PAM_NSEG; i++) {
		uint8_t a = pam_attr(hb, i);
		int r;

		if (a == vm->pam.attr[i])
			continue;
		r = pam_apply(vm, i, a);
		log_ratelimited(LOG_DEBUG, "PAM: 0x%llx-0x%llx %s", (unsigned long long)seg_base(i),
				(unsigned long long)(seg_base(i) + seg_size(i) - 1),
				a == 3 ? "RAM" : a == 1 ? "RAM read-only" : a == 2 ? "ROM, writes to RAM" : "ROM");
		if (r)
			log_ratelimited(LOG_ERROR, "PAM: cannot remap 0x%llx: %s", (unsigned long long)seg_base(i),
					strerror(-r));
	}
	pthread_mutex_unlock(&vm->pam.lock);
}

/* Accesses to 0xc0000-0xfffff that exit: ROM-side reads, and writes to read-only segments. */
static void pam_io(void *opaque, uint64_t off, uint8_t *data, uint32_t size, bool is_write)
{
	struct vm *vm = opaque;

	pthread_mutex_lock(&vm->pam.lock);
	for (uint32_t k = 0; k < size; k++) {
		uint64_t gpa = PAM_BASE + off + k;
		unsigned int i = gpa >= 0xf0000 ? 12 : (unsigned int)((gpa - PAM_BASE) / 0x4000);
		uint8_t a;

		if (gpa >= X86_BIOS_END) {
			if (!is_write)
				data[k] = 0xff;
			continue;
		}
		a = vm->pam.attr[i];
		if (is_write) {
			if (a & PAM_WE)
				vm->pam.ram[gpa - PAM_BASE] = data[k];
		} else if (a & PAM_RE) {
			data[k] = vm->pam.ram[gpa - PAM_BASE];
		} else {
			data[k] = gpa >= rom_low_base(vm) ? *rom_low_byte(vm, gpa) : 0xff;
		}
	}
	pthread_mutex_unlock(&vm->pam.lock);
}

static int pam_init(struct vm *vm, char *err, size_t errlen)
{
	int r = 0;

	vm->pam.ram = guest_mem_ptr(&vm->mem, PAM_BASE, PAM_LEN);
	if (!vm->pam.ram) {
		snprintf(err, errlen, "no RAM at 0x%llx for the BIOS area", (unsigned long long)PAM_BASE);
		return -EFAULT;
	}
	pthread_mutex_init(&vm->pam.lock, NULL);
	vm->pam.on = true;
	for (unsigned int i = 0; i < PAM_NSEG; i++)
		vm->pam.slot[i] = kvm_reserve_slot(&vm->kvm);
	/* Power-on: every PAM register is 0, all reads go to the ROM side. */
	for (unsigned int i = 0; i < PAM_NSEG && !r; i++)
		r = pam_apply(vm, i, 0);
	if (r)
		snprintf(err, errlen, "cannot map the BIOS area: %s", strerror(-r));
	return r;
}

int vm_firmware_map(struct vm *vm, char *err, size_t errlen)
{
	size_t low = MIN(vm->fw_len, (size_t)FW_LOW_WINDOW);
	bool readonly;
	int r;

	vm->fw_rom = mmap(NULL, vm->fw_len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (vm->fw_rom == MAP_FAILED) {
		vm->fw_rom = NULL;
		snprintf(err, errlen, "cannot map the firmware: %s", strerror(errno));
		return -ENOMEM;
	}
	memcpy(vm->fw_rom, vm->fw_image, vm->fw_len);
	r = kvm_add_rom(&vm->kvm, FW_4G - vm->fw_len, vm->fw_len, vm->fw_rom, &readonly);
	if (r) {
		snprintf(err, errlen, "cannot map the firmware at 0x%llx: %s",
			 (unsigned long long)(FW_4G - vm->fw_len), strerror(-r));
		return r;
	}
	if (!readonly) {
		/*
		 * Without read-only memory the shadow area cannot switch between ROM
		 * and RAM: keep it RAM, preloaded with the image's tail (what SeaBIOS
		 * copies there itself once it has enabled RAM through PAM).
		 */
		log_info("KVM has no read-only memory: the firmware ROM is writable by the guest");
		r = kvm_add_memory(&vm->kvm, X86_VGA_WINDOW_END, X86_BIOS_END - X86_VGA_WINDOW_END,
				   guest_mem_ptr(&vm->mem, X86_VGA_WINDOW_END, X86_BIOS_END - X86_VGA_WINDOW_END));
		if (!r)
			r = guest_mem_write(&vm->mem, X86_BIOS_END - low, vm->fw_image + vm->fw_len - low, low);
		if (r)
			snprintf(err, errlen, "cannot map the BIOS area: %s", strerror(-r));
		return r;
	}
	return pam_init(vm, err, errlen);
}

static void fw_cfg_device_destroy(void *dev)
{
	fw_cfg_destroy(dev);
	free(dev);
}

static void fw_cfg_dev_reset(void *dev)
{
	fw_cfg_reset(dev);
}

static ssize_t fw_cfg_dev_save(void *dev, void *buf, size_t cap)
{
	return fw_cfg_save(dev, buf, cap);
}

static int fw_cfg_dev_load(void *dev, const void *buf, size_t len)
{
	return fw_cfg_load(dev, buf, len);
}

static const struct device_ops fw_cfg_device_ops = {
	.name = "fw_cfg",
	.reset = fw_cfg_dev_reset,
	.save = fw_cfg_dev_save,
	.load = fw_cfg_dev_load,
	.destroy = fw_cfg_device_destroy,
};

static int open_log(const char *path, int *fd, bool *own, char *err, size_t errlen)
{
	*fd = -1;
	*own = false;
	if (!path)
		return 0;
	if (!strcmp(path, "-")) {
		*fd = STDERR_FILENO;
		return 0;
	}
	*fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (*fd < 0) {
		snprintf(err, errlen, "cannot open --firmware-log %s: %s", path, strerror(errno));
		return -errno;
	}
	*own = true;
	return 0;
}

int vm_firmware_devices(struct vm *vm, char *err, size_t errlen)
{
	struct fw_cfg *fc = calloc(1, sizeof(*fc));
	struct debugcon *dc;
	bool own;
	int fd, r;

	if (!fc || fw_cfg_init(fc, &vm->mem)) {
		free(fc);
		snprintf(err, errlen, "out of memory creating fw_cfg");
		return -ENOMEM;
	}
	r = vm_add_device(vm, &fw_cfg_device_ops, fc);
	if (r)
		goto fail;
	vm->fw_cfg = fc;
	if ((r = bus_register(&vm->pio, FW_CFG_PORT_SEL, FW_CFG_PIO_LEN, fw_cfg_pio_io, fc, "fw_cfg")) ||
	    (r = bus_register(&vm->pio, FW_CFG_PORT_DMA, FW_CFG_DMA_LEN, fw_cfg_dma_io, fc, "fw_cfg-dma")))
		goto fail;
	if (vm->pam.on) {
		r = bus_register(&vm->mmio, PAM_BASE, PAM_LEN, pam_io, vm, "pam");
		if (r)
			goto fail;
		/* Nothing else uses the host bridge's hook or opaque. */
		vm->pci.host_bridge->opaque = vm;
		vm->pci.host_bridge->cfg_written = pam_written;
	}
	r = open_log(vm->cfg.firmware_log, &fd, &own, err, errlen);
	if (r)
		return r;
	dc = debugcon_create(fd, own);
	if (!dc) {
		if (own)
			close(fd);
		r = -ENOMEM;
		goto fail;
	}
	r = vm_add_device(vm, &debugcon_ops, dc);
	if (!r)
		r = bus_register(&vm->pio, X86_DEBUGCON_PORT, 1, debugcon_io, dc, "debugcon");
	if (r)
		goto fail;
	return 0;
fail:
	snprintf(err, errlen, "cannot create the firmware devices: %s", strerror(-r));
	return r;
}

/* PCI class of a plugged device (24 bits). */
static uint32_t pci_class(const struct pci_device *d)
{
	return d->cfg[PCI_CLASS_PROG] | (uint32_t)d->cfg[PCI_CLASS_PROG + 1] << 8 |
	       (uint32_t)d->cfg[PCI_CLASS_PROG + 2] << 16;
}

void vm_dev_snapshot(const struct vm *vm, struct vm_dev_snapshot *s)
{
	s->nr_mmio_slots = vm->nr_mmio_slots;
	for (unsigned int i = 0; i < PCI_MAX_DEVFN; i++)
		s->pci[i] = vm->pci_ready && vm->pci.devs[i];
}

/*
 * SeaBIOS names boot devices with OpenFirmware-style paths (SeaBIOS boot.c):
 * a PCI device "/pci@i0cf8/NAME@SLOT[,FN]", a virtio-mmio device
 * "/virtio-mmio@ADDRESS(16 hex digits)/...", and matches bootorder lines
 * against them as prefixes with NAME a wildcard.
 */
void vm_firmware_note_disk(struct vm *vm, const struct vm_dev_snapshot *s)
{
	char *p;

	if (vm->nr_boot_paths >= VM_MAX_DISKS)
		return;
	p = vm->boot_paths[vm->nr_boot_paths];
	if (vm->nr_mmio_slots > s->nr_mmio_slots) {
		snprintf(p, sizeof(vm->boot_paths[0]), "/virtio-mmio@%016llx/disk@0,0",
			 (unsigned long long)(X86_VIRTIO_MMIO_BASE + (vm->nr_mmio_slots - 1) * X86_VIRTIO_MMIO_STRIDE));
		vm->nr_boot_paths++;
		return;
	}
	for (unsigned int devfn = 0; devfn < PCI_MAX_DEVFN; devfn++) {
		if (s->pci[devfn] || !vm->pci_ready || !vm->pci.devs[devfn])
			continue;
		if (devfn & 7)
			snprintf(p, sizeof(vm->boot_paths[0]), "/pci@i0cf8/scsi@%x,%x/disk@0,0", devfn >> 3, devfn & 7);
		else
			snprintf(p, sizeof(vm->boot_paths[0]), "/pci@i0cf8/scsi@%x/disk@0,0", devfn >> 3);
		vm->nr_boot_paths++;
		return;
	}
}

/* bootorder (fw_cfg.rst; SeaBIOS boot.c): device paths separated by newlines, NUL-terminated, first --disk first. */
static int add_bootorder(struct vm *vm)
{
	char buf[VM_MAX_DISKS * 65 + 1];
	size_t n = 0;

	for (unsigned int i = 0; i < vm->nr_boot_paths; i++)
		n += (size_t)snprintf(buf + n, sizeof(buf) - n, "%s%s", i ? "\n" : "", vm->boot_paths[i]);
	return n ? fw_cfg_add_file(vm->fw_cfg, "bootorder", buf, (uint32_t)n + 1) : 0;
}

int vm_firmware_tables(struct vm *vm, const struct acpi_config *acfg, char *err, size_t errlen)
{
	struct e820_entry e820[2];
	uint64_t low = x86_lowmem_size(vm->cfg.mem_size), high = x86_highmem_size(vm->cfg.mem_size);
	uint8_t wait[4], sercon[2];
	bool display = false;
	unsigned int n = 0;
	int r;

	/*
	 * etc/e820 lists RAM only: SeaBIOS carves out the legacy areas, the BIOS
	 * and (q35) ECAM itself.
	 */
	e820[n++] = (struct e820_entry){ .addr = 0, .size = low, .type = E820_RAM };
	if (high)
		e820[n++] = (struct e820_entry){ .addr = X86_HIGHMEM_BASE, .size = high, .type = E820_RAM };
	/* A failed boot retries after 1 s, not the default 60 s: a VM with no bootable disk says so quickly. */
	put_le32(wait, 1000);
	for (unsigned int devfn = 0; devfn < PCI_MAX_DEVFN; devfn++)
		if (vm->pci.devs[devfn] && (pci_class(vm->pci.devs[devfn]) >> 16) == 0x03)
			display = true;
	/*
	 * No display: SeaBIOS's serial console ("sercon") mirrors the screen
	 * (int 10h, its menus, boot loaders' text) on COM1.
	 */
	put_le16(sercon, X86_COM1_PORT);
	if ((r = fw_cfg_add_u64(vm->fw_cfg, FW_CFG_RAM_SIZE, vm->cfg.mem_size)) ||
	    (r = fw_cfg_add_u16(vm->fw_cfg, FW_CFG_NB_CPUS, (uint16_t)vm->nr_vcpus)) ||
	    (r = fw_cfg_add_u16(vm->fw_cfg, FW_CFG_MAX_CPUS, (uint16_t)vm->nr_vcpus)) ||
	    (r = fw_cfg_add_file(vm->fw_cfg, "etc/e820", e820, (uint32_t)(n * sizeof(e820[0])))) ||
	    (r = fw_cfg_add_file(vm->fw_cfg, "etc/boot-fail-wait", wait, sizeof(wait))) ||
	    (!display && (r = fw_cfg_add_file(vm->fw_cfg, "etc/sercon-port", sercon, sizeof(sercon)))) ||
	    (r = add_bootorder(vm)) || (r = acpi_build_fw_cfg(vm->fw_cfg, acfg))) {
		snprintf(err, errlen, "cannot fill fw_cfg: %s", strerror(-r));
		return r;
	}
	return 0;
}

void vm_firmware_free(struct vm *vm)
{
	if (vm->pam.on)
		pthread_mutex_destroy(&vm->pam.lock);
	if (vm->fw_rom)
		munmap(vm->fw_rom, vm->fw_len);
	free(vm->fw_image);
	vm->fw_rom = NULL;
	vm->fw_image = NULL;
}

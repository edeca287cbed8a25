// SPDX-License-Identifier: MIT
/* fw_cfg: selector/data ports, file directory, DMA read/skip/select/write, hostile descriptors. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "vmkit/fw_cfg.h"
#include "vmkit/util.h"
#include "vmkit/x86.h"

#define RAM 0x100000ULL /* 1 MiB of fake guest RAM at 0 */

struct fx {
	struct guest_mem mem;
	struct fw_cfg fc;
};

static int setup(void **state)
{
	static struct fx f;
	memset(&f, 0, sizeof(f));
	guest_mem_init(&f.mem);
	assert_int_equal(guest_mem_add(&f.mem, 0, RAM), 0);
	assert_int_equal(fw_cfg_init(&f.fc, &f.mem), 0);
	*state = &f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;
	fw_cfg_destroy(&f->fc);
	guest_mem_free(&f->mem);
	return 0;
}

static void sel(struct fx *f, uint16_t key)
{
	uint8_t d[2];
	put_le16(d, key);
	fw_cfg_pio_io(&f->fc, 0, d, 2, true);
}

static uint8_t rd(struct fx *f)
{
	uint8_t b = 0xaa;
	fw_cfg_pio_io(&f->fc, 1, &b, 1, false);
	return b;
}

static void be32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

static uint32_t getbe32(const uint8_t *p)
{
	return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) | ((uint32_t)p[2] << 8) | p[3];
}

/* Write a descriptor at desc and kick it through the two 32-bit DMA register halves. */
static uint32_t dma(struct fx *f, uint64_t desc, uint32_t control, uint32_t len, uint64_t addr)
{
	uint8_t *p = guest_mem_ptr(&f->mem, desc, 16), d[4];

	if (p) {
		be32(p, control);
		be32(p + 4, len);
		be32(p + 8, (uint32_t)(addr >> 32));
		be32(p + 12, (uint32_t)addr);
	}
	be32(d, (uint32_t)(desc >> 32));
	fw_cfg_dma_io(&f->fc, 0, d, 4, true);
	be32(d, (uint32_t)desc);
	fw_cfg_dma_io(&f->fc, 4, d, 4, true);
	return p ? getbe32(p) : 0xdeadbeef;
}

static void test_signature_and_id(void **state)
{
	struct fx *f = *state;
	uint8_t d[8];

	sel(f, FW_CFG_SIGNATURE);
	assert_int_equal(rd(f), 'Q');
	assert_int_equal(rd(f), 'E');
	assert_int_equal(rd(f), 'M');
	assert_int_equal(rd(f), 'U');
	assert_int_equal(rd(f), 0); /* past the end */
	sel(f, FW_CFG_ID);
	assert_int_equal(rd(f), FW_CFG_ID_TRADITIONAL | FW_CFG_ID_DMA);
	/* The DMA register reads "QEMU CFG". */
	fw_cfg_dma_io(&f->fc, 0, d, 8, false);
	assert_memory_equal(d, "QEMU CFG", 8);
	fw_cfg_dma_io(&f->fc, 4, d, 4, false);
	assert_memory_equal(d, " CFG", 4);
	/* Unknown selector: zeroes. */
	sel(f, 0x1234);
	assert_int_equal(rd(f), 0);
	assert_int_equal(f->fc.bad_selects, 1);
}

static void test_integers(void **state)
{
	struct fx *f = *state;

	assert_int_equal(fw_cfg_add_u64(&f->fc, FW_CFG_RAM_SIZE, 0x123456789aULL), 0);
	assert_int_equal(fw_cfg_add_u16(&f->fc, FW_CFG_NB_CPUS, 3), 0);
	sel(f, FW_CFG_RAM_SIZE);
	assert_int_equal(rd(f), 0x9a);
	assert_int_equal(rd(f), 0x78);
	sel(f, FW_CFG_NB_CPUS);
	assert_int_equal(rd(f), 3);
	assert_int_equal(rd(f), 0);
	/* Replacing an item keeps one copy. */
	assert_int_equal(fw_cfg_add_u16(&f->fc, FW_CFG_NB_CPUS, 4), 0);
	sel(f, FW_CFG_NB_CPUS);
	assert_int_equal(rd(f), 4);
	/* The file range and the directory are not fixed items. */
	assert_int_equal(fw_cfg_add_u16(&f->fc, FW_CFG_FILE_DIR, 1), -EINVAL);
	assert_int_equal(fw_cfg_add_u16(&f->fc, FW_CFG_FILE_FIRST + 1, 1), -EINVAL);
}

static void test_file_directory(void **state)
{
	struct fx *f = *state;
	uint8_t dir[4 + 3 * 64];
	char longname[80];

	assert_int_equal(fw_cfg_add_file(&f->fc, "zeta", "zz", 2), 0);
	assert_int_equal(fw_cfg_add_file(&f->fc, "alpha", "a", 1), 0);
	assert_int_equal(fw_cfg_add_file(&f->fc, "bootorder", "/pci@i0cf8/*@2\n", 16), 0);
	assert_int_equal(fw_cfg_add_file(&f->fc, "alpha", "b", 1), -EEXIST);
	memset(longname, 'x', sizeof(longname) - 1);
	longname[sizeof(longname) - 1] = 0;
	assert_int_equal(fw_cfg_add_file(&f->fc, longname, "b", 1), -ENAMETOOLONG);
	assert_int_equal(fw_cfg_add_file(&f->fc, "", "b", 1), -EINVAL);

	sel(f, FW_CFG_FILE_DIR);
	for (size_t i = 0; i < sizeof(dir); i++)
		dir[i] = rd(f);
	assert_int_equal(getbe32(dir), 3);
	/* Sorted by name: alpha, bootorder, zeta; selectors in insertion order from 0x20. */
	assert_int_equal(getbe32(dir + 4), 1);
	assert_int_equal(dir[8] << 8 | dir[9], 0x21);
	assert_string_equal((char *)dir + 12, "alpha");
	assert_int_equal(getbe32(dir + 4 + 64), 16);
	assert_int_equal(dir[8 + 64] << 8 | dir[9 + 64], 0x22);
	assert_string_equal((char *)dir + 12 + 64, "bootorder");
	assert_string_equal((char *)dir + 12 + 128, "zeta");
	sel(f, 0x20);
	assert_int_equal(rd(f), 'z');
}

static void test_too_many_files(void **state)
{
	struct fx *f = *state;
	char name[16];

	for (int i = 0; i < FW_CFG_MAX_FILES; i++) {
		snprintf(name, sizeof(name), "f%d", i);
		assert_int_equal(fw_cfg_add_file(&f->fc, name, name, (uint32_t)strlen(name)), 0);
	}
	assert_int_equal(fw_cfg_add_file(&f->fc, "one-more", "x", 1), -ENOSPC);
}

static void test_dma_read_skip_select(void **state)
{
	struct fx *f = *state;
	uint8_t *buf = guest_mem_ptr(&f->mem, 0x2000, 64);
	const char *text = "hello, firmware";

	assert_int_equal(fw_cfg_add_file(&f->fc, "etc/greeting", text, (uint32_t)strlen(text)), 0);
	memset(buf, 0xee, 64);
	/* Select + read 5 bytes. */
	assert_int_equal(dma(f, 0x1000, FW_CFG_DMA_SELECT | FW_CFG_DMA_READ | (0x20u << 16), 5, 0x2000), 0);
	assert_memory_equal(buf, "hello", 5);
	assert_int_equal(buf[5], 0xee);
	/* Skip 2, read the rest: past the item's end the buffer is zero-filled. */
	assert_int_equal(dma(f, 0x1000, FW_CFG_DMA_SKIP, 2, 0), 0);
	assert_int_equal(dma(f, 0x1000, FW_CFG_DMA_READ, 20, 0x2000), 0);
	assert_memory_equal(buf, "firmware", 8);
	for (int i = 8; i < 20; i++)
		assert_int_equal(buf[i], 0);
	assert_int_equal(buf[20], 0xee);
	/* The data port continues where DMA left off: at the end. */
	assert_int_equal(rd(f), 0);
	/* A descriptor near the top of 64-bit space written in one 8-byte access. */
	uint8_t d8[8];
	be32(d8, 0);
	be32(d8 + 4, 0x1000);
	be32(guest_mem_ptr(&f->mem, 0x1000, 4), FW_CFG_DMA_SELECT | FW_CFG_DMA_READ | (FW_CFG_SIGNATURE << 16));
	be32(guest_mem_ptr(&f->mem, 0x1004, 4), 4);
	fw_cfg_dma_io(&f->fc, 0, d8, 8, true);
	assert_memory_equal(buf, "QEMU", 4);
	assert_int_equal(f->fc.dma_errors, 0);
}

static void test_dma_hostile(void **state)
{
	struct fx *f = *state;
	uint8_t *buf = guest_mem_ptr(&f->mem, 0, RAM);

	/* Buffer beyond RAM, straddling its end, or wrapping 64-bit space: error bit, no write. */
	assert_int_equal(dma(f, 0x1000, FW_CFG_DMA_SELECT | FW_CFG_DMA_READ, 4, RAM), FW_CFG_DMA_ERROR);
	assert_int_equal(dma(f, 0x1000, FW_CFG_DMA_READ, 16, RAM - 8), FW_CFG_DMA_ERROR);
	assert_int_equal(dma(f, 0x1000, FW_CFG_DMA_READ, 0xffffffff, 0x3000), FW_CFG_DMA_ERROR);
	assert_int_equal(dma(f, 0x1000, FW_CFG_DMA_READ, 16, 0xfffffffffffffff8ULL), FW_CFG_DMA_ERROR);
	for (uint64_t i = RAM - 8; i < RAM; i++)
		assert_int_equal(buf[i], 0);
	/* Writes: nothing is writable. */
	assert_int_equal(dma(f, 0x1000, FW_CFG_DMA_SELECT | FW_CFG_DMA_WRITE, 4, 0x2000), FW_CFG_DMA_ERROR);
	assert_int_equal(dma(f, 0x1000, FW_CFG_DMA_WRITE, 0, 0x2000), 0);
	/* Descriptor itself outside RAM or straddling its end: dropped, counted, no crash. */
	assert_int_equal(fw_cfg_dma_run(&f->fc, RAM), -EFAULT);
	assert_int_equal(fw_cfg_dma_run(&f->fc, RAM - 8), -EFAULT);
	assert_int_equal(fw_cfg_dma_run(&f->fc, UINT64_MAX - 4), -EFAULT);
	dma(f, 0xfffffffff000ULL, FW_CFG_DMA_READ, 4, 0x2000);
	assert_int_equal(f->fc.dma_errors, 9);
	/* Zero-length read at a bad address is a no-op, not an error. */
	assert_int_equal(dma(f, 0x1000, FW_CFG_DMA_READ, 0, 0xfffffffffff00000ULL), 0);
	/* Odd accesses to the ports are ignored. */
	uint8_t d[4] = { 1, 2, 3, 4 };
	fw_cfg_dma_io(&f->fc, 2, d, 2, true);
	fw_cfg_dma_io(&f->fc, 1, d, 1, true);
	fw_cfg_pio_io(&f->fc, 0, d, 1, true);
	fw_cfg_pio_io(&f->fc, 1, d, 2, false);
	assert_int_equal(get_le16(d), 0);
	assert_int_equal(f->fc.dma_errors, 9);
}

static void test_save_load(void **state)
{
	struct fx *f = *state;
	uint8_t blob[64], bad[64];
	ssize_t n;

	assert_int_equal(fw_cfg_add_file(&f->fc, "etc/x", "abcdef", 6), 0);
	sel(f, 0x20);
	assert_int_equal(rd(f), 'a');
	assert_int_equal(rd(f), 'b');
	assert_int_equal(fw_cfg_save(&f->fc, blob, 4), -ENOSPC);
	n = fw_cfg_save(&f->fc, blob, sizeof(blob));
	assert_int_equal(n, FW_CFG_STATE_LEN);
	fw_cfg_reset(&f->fc);
	assert_int_equal(rd(f), 'Q'); /* selector 0: the signature */
	assert_int_equal(fw_cfg_load(&f->fc, blob, (size_t)n), 0);
	assert_int_equal(rd(f), 'c'); /* where it left off */
	/* Malformed blobs: length, magic, version, an offset past the item. */
	assert_int_equal(fw_cfg_load(&f->fc, blob, (size_t)n - 1), -EINVAL);
	memcpy(bad, blob, (size_t)n);
	bad[0] ^= 1;
	assert_int_equal(fw_cfg_load(&f->fc, bad, (size_t)n), -EINVAL);
	memcpy(bad, blob, (size_t)n);
	bad[4] = 9;
	assert_int_equal(fw_cfg_load(&f->fc, bad, (size_t)n), -EINVAL);
	memcpy(bad, blob, (size_t)n);
	put_le32(bad + 10, 7);
	assert_int_equal(fw_cfg_load(&f->fc, bad, (size_t)n), -EINVAL);
	put_le16(bad + 8, 0x7777); /* unknown selector: only offset 0 */
	assert_int_equal(fw_cfg_load(&f->fc, bad, (size_t)n), -EINVAL);
	put_le32(bad + 10, 0);
	assert_int_equal(fw_cfg_load(&f->fc, bad, (size_t)n), 0);
	assert_int_equal(rd(f), 0);
}

/* ---- ACPI through etc/table-loader, executed here as SeaBIOS's romfile_loader would ---- */

#define LMEM 0x200000 /* fake physical memory for the loader: FSEG at 0xf0000, HIGH at 0x100000 */

static const struct fw_cfg_item *file(struct fw_cfg *fc, const char *name)
{
	for (unsigned int i = 0; i < fc->nr_items; i++)
		if (!strcmp(fc->items[i].name, name))
			return &fc->items[i];
	return NULL;
}

struct placed {
	char name[56];
	uint32_t addr;
};

static uint8_t sum(const uint8_t *p, uint32_t len)
{
	uint8_t s = 0;
	while (len--)
		s = (uint8_t)(s + *p++);
	return s;
}

static void test_acpi_table_loader(void **state)
{
	struct fx *f = *state;
	static uint8_t mem[LMEM];
	struct placed placed[4];
	unsigned int np = 0;
	uint32_t high = 0x100000;
	struct acpi_config cfg = {
		.nr_cpus = 2, .ram_size = 256 * MiB, .ecam_base = X86_ECAM_BASE, .ecam_buses = 256,
		.mmio32_base = X86_PCI_MMIO32_BASE, .mmio32_end = X86_PCI_MMIO32_END,
		.mmio64_base = x86_pci_mmio64_base(256 * MiB),
		.mmio64_end = x86_pci_mmio64_base(256 * MiB) + X86_PCI_MMIO64_SIZE,
		.pci_io_base = X86_PCI_IO_BASE, .pci_io_end = X86_PCI_IO_END,
	};
	const struct fw_cfg_item *loader;

	memset(mem, 0, sizeof(mem));
	assert_int_equal(acpi_build_fw_cfg(&f->fc, &cfg), 0);
	loader = file(&f->fc, "etc/table-loader");
	assert_non_null(loader);
	assert_non_null(file(&f->fc, "etc/acpi/rsdp"));
	assert_non_null(file(&f->fc, "etc/acpi/tables"));
	assert_int_equal(loader->len % 128, 0);
	for (uint32_t c = 0; c < loader->len; c += 128) {
		const uint8_t *e = loader->data + c;
		uint32_t cmd = get_le32(e);
		if (cmd == 1) { /* ALLOCATE file, align, zone */
			const struct fw_cfg_item *it = file(&f->fc, (const char *)e + 4);
			uint32_t align = get_le32(e + 60), at;
			assert_non_null(it);
			assert_true(align && !(align & (align - 1)));
			if (e[64] == 2) {
				at = 0xf0000;
			} else {
				assert_int_equal(e[64], 1);
				at = (uint32_t)ALIGN_UP(high, align);
				high = at + it->len;
			}
			assert_true(at + it->len <= LMEM);
			memcpy(mem + at, it->data, it->len);
			snprintf(placed[np].name, sizeof(placed[np].name), "%s", (const char *)e + 4);
			placed[np++].addr = at;
		} else if (cmd == 2) { /* ADD_POINTER dest, src, offset, size */
			uint32_t dst = 0, src = 0, off = get_le32(e + 116);
			uint8_t size = e[120];
			for (unsigned int i = 0; i < np; i++) {
				if (!strcmp(placed[i].name, (const char *)e + 4))
					dst = placed[i].addr;
				if (!strcmp(placed[i].name, (const char *)e + 60))
					src = placed[i].addr;
			}
			assert_true(dst && src);
			assert_true(size == 4 || size == 8);
			if (size == 4)
				put_le32(mem + dst + off, get_le32(mem + dst + off) + src);
			else
				put_le64(mem + dst + off, get_le64(mem + dst + off) + src);
		} else if (cmd == 3) { /* ADD_CHECKSUM file, offset, start, length */
			uint32_t base = 0;
			for (unsigned int i = 0; i < np; i++)
				if (!strcmp(placed[i].name, (const char *)e + 4))
					base = placed[i].addr;
			assert_true(base);
			mem[base + get_le32(e + 60)] -= sum(mem + base + get_le32(e + 64), get_le32(e + 68));
		} else {
			fail_msg("unknown loader command %u", cmd);
		}
	}
	/* The RSDP in FSEG, both checksums good, pointing at tables in HIGH. */
	const uint8_t *rsdp = mem + 0xf0000;
	assert_memory_equal(rsdp, "RSD PTR ", 8);
	assert_int_equal(sum(rsdp, 20), 0);
	assert_int_equal(sum(rsdp, 36), 0);
	uint64_t xsdt = get_le64(rsdp + 24), rsdt = get_le32(rsdp + 16);
	assert_true(xsdt >= 0x100000 && xsdt < high);
	assert_true(rsdt >= 0x100000 && rsdt < high);
	assert_memory_equal(mem + xsdt, "XSDT", 4);
	assert_memory_equal(mem + rsdt, "RSDT", 4);
	assert_int_equal(sum(mem + xsdt, get_le32(mem + xsdt + 4)), 0);
	assert_int_equal(sum(mem + rsdt, get_le32(mem + rsdt + 4)), 0);
	bool have_fadt = false, have_madt = false, have_mcfg = false;
	uint32_t n = (get_le32(mem + xsdt + 4) - 36) / 8;
	for (uint32_t i = 0; i < n; i++) {
		uint64_t t = get_le64(mem + xsdt + 36 + 8 * i);
		assert_true(t >= 0x100000 && t + 36 <= high);
		assert_int_equal(get_le32(mem + rsdt + 36 + 4 * i), t); /* RSDT and XSDT agree */
		assert_int_equal(sum(mem + t, get_le32(mem + t + 4)), 0);
		have_madt |= !memcmp(mem + t, "APIC", 4);
		have_mcfg |= !memcmp(mem + t, "MCFG", 4);
		if (!memcmp(mem + t, "FACP", 4)) {
			const uint8_t *fadt = mem + t;
			uint32_t facs = get_le32(fadt + 36), dsdt = get_le32(fadt + 40);
			have_fadt = true;
			assert_int_equal(get_le64(fadt + 140), dsdt); /* X_DSDT */
			assert_memory_equal(mem + dsdt, "DSDT", 4);
			assert_int_equal(sum(mem + dsdt, get_le32(mem + dsdt + 4)), 0);
			assert_memory_equal(mem + facs, "FACS", 4);
			assert_int_equal(facs % 64, 0); /* ACPI 6.4 s5.2.10 */
		}
	}
	assert_true(have_fadt && have_madt && have_mcfg);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_signature_and_id, setup, teardown),
		cmocka_unit_test_setup_teardown(test_integers, setup, teardown),
		cmocka_unit_test_setup_teardown(test_file_directory, setup, teardown),
		cmocka_unit_test_setup_teardown(test_too_many_files, setup, teardown),
		cmocka_unit_test_setup_teardown(test_dma_read_skip_select, setup, teardown),
		cmocka_unit_test_setup_teardown(test_dma_hostile, setup, teardown),
		cmocka_unit_test_setup_teardown(test_acpi_table_loader, setup, teardown),
		cmocka_unit_test_setup_teardown(test_save_load, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

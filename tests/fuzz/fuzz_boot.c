// SPDX-License-Identifier: MIT
/*
 * libFuzzer target: kernel image loaders. The input is a kernel image; it is
 * loaded into a 32 MiB guest with an initrd and a command line. Loaders must
 * reject malformed images with an error, never crash or write outside RAM.
 */
#include <stdint.h>
#include <string.h>

#include "vmkit/boot.h"
#include "vmkit/x86.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const uint8_t initrd[4096] = { 1, 2, 3 };
	struct e820_entry e820[E820_MAX_ENTRIES];
	struct guest_mem mem;
	struct boot_result res;
	char err[256];
	int n = x86_e820_build(32 << 20, e820, E820_MAX_ENTRIES);

	guest_mem_init(&mem);
	if (n < 0 || x86_mem_layout(&mem, 32 << 20))
		return 0;
	struct boot_images img = { .kernel = data, .kernel_len = size, .initrd = initrd, .initrd_len = sizeof(initrd),
				   .cmdline = "console=ttyS0" };
	struct boot_env env = { .e820 = e820, .nr_e820 = (unsigned int)n, .rsdp_gpa = 0xe0000 };
	if (boot_load(&mem, &img, &env, &res, err, sizeof(err)) == 0) {
		/* a successful load must name an entry point inside guest RAM */
		if (!guest_mem_ptr(&mem, res.entry, 1) && res.kind != BOOT_ENTRY_LINUX64)
			__builtin_trap();
	} else if (!err[0]) {
		__builtin_trap(); /* every failure explains itself */
	}
	guest_mem_free(&mem);
	return 0;
}

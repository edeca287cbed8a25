// SPDX-License-Identifier: MIT
/*
 * libFuzzer target: the fw_cfg selector/data ports and DMA interface driven
 * by a hostile guest, with descriptors it writes into (a small) guest RAM.
 */
// fuzz-srcs: src/dev/fw_cfg.c src/mem/guest_mem.c src/util/*.c
#include <stdint.h>
#include <string.h>

#include "vmkit/fw_cfg.h"

#define RAM 0x10000ULL

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct guest_mem mem;
	static bool mem_ready;
	static const char text[] = "some firmware configuration text";
	struct fw_cfg fc;

	if (!mem_ready) {
		guest_mem_init(&mem);
		if (guest_mem_add(&mem, 0, RAM))
			return 0;
		mem_ready = true;
	}
	memset(guest_mem_ptr(&mem, 0, RAM), 0, RAM);
	if (fw_cfg_init(&fc, &mem))
		return 0;
	fw_cfg_add_u64(&fc, FW_CFG_RAM_SIZE, RAM);
	fw_cfg_add_file(&fc, "etc/a", text, sizeof(text));
	fw_cfg_add_file(&fc, "etc/empty", NULL, 0);
	fw_cfg_add_file(&fc, "etc/b", text, 3);
	/* each op: kind(1) addr(4) value(8) */
	for (size_t i = 0; i + 13 <= size; i += 13) {
		uint8_t buf[8];
		uint32_t addr;
		uint32_t sz = 1u << ((data[i] >> 2) & 3);

		memcpy(&addr, data + i + 1, 4);
		memcpy(buf, data + i + 5, 8);
		switch (data[i] & 3) {
		case 0: /* selector/data ports */
			fw_cfg_pio_io(&fc, addr & 1, buf, sz, data[i] & 0x10);
			break;
		case 1: /* DMA register halves */
			fw_cfg_dma_io(&fc, addr & 7, buf, sz, data[i] & 0x10);
			break;
		case 2: /* the guest writes a descriptor or data into RAM */
			if ((addr & 0xffff) + 8 <= RAM)
				memcpy(guest_mem_ptr(&mem, addr & 0xffff, 8), buf, 8);
			break;
		default: { /* run a descriptor at any 64-bit address */
			uint64_t gpa;
			memcpy(&gpa, buf, 8);
			fw_cfg_dma_run(&fc, (data[i] & 0x20) ? gpa : (gpa & 0xffff));
			break;
		}
		}
	}
	fw_cfg_destroy(&fc);
	return 0;
}

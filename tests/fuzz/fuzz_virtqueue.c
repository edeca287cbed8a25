// SPDX-License-Identifier: MIT
/*
 * libFuzzer target: descriptor-chain walking. The input is a guest's view of
 * memory holding a split or packed ring (first bytes choose the layout); the
 * device pops and pushes until the ring is empty or found malformed. Any
 * crash, hang or sanitizer report is a bug.
 */
#include <stdint.h>
#include <string.h>

#include "vmkit/virtqueue.h"

#define MEM 0x10000

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct virtq_elem e;
	struct guest_mem mem;
	struct virtq q;
	uint8_t *ram;
	uint16_t qsz;
	bool packed;

	if (size < 4)
		return 0;
	packed = data[0] & 1;
	qsz = packed ? (uint16_t)(1 + data[1] % 64) : (uint16_t)(1u << (data[1] % 7));
	guest_mem_init(&mem);
	if (guest_mem_add(&mem, 0, MEM))
		return 0;
	ram = guest_mem_ptr(&mem, 0, MEM);
	memcpy(ram, data + 4, size - 4 < MEM ? size - 4 : MEM);
	if (virtq_init(&q, &mem, qsz, packed, data[2] & 1, data[2] & 2, 0x0, 0x2000, 0x4000) == 0) {
		for (int i = 0; i < 4 * qsz; i++) {
			int r = virtq_pop(&q, &e);
			if (r <= 0)
				break;
			uint8_t tmp[64];
			virtq_elem_read(&e, 0, tmp, sizeof(tmp));
			virtq_elem_write(&e, 0, tmp, sizeof(tmp));
			virtq_push(&q, &e, (uint32_t)e.in_len);
			virtq_should_notify(&q);
		}
	}
	guest_mem_free(&mem);
	return 0;
}

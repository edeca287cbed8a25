// SPDX-License-Identifier: MIT
/* The command line arrives intact and the initrd is the first module, byte for byte. */
#include "lib.h"

void guest_main(uint32_t magic, uint32_t mbi_addr)
{
	const uint32_t *mbi = (const uint32_t *)(uintptr_t)mbi_addr;

	puts_("CMDLINE[");
	puts_(mb_cmdline());
	puts_("]\n");
	CHECK("cmdline", arg_has("token-one") && arg_has("token-two"));
	if (arg_num("initrd_size", 0)) {
		CHECK("cmdline", (mbi[0] & 0x8) && mbi[5] == 1);
		const uint32_t *mod = (const uint32_t *)(uintptr_t)mbi[6];
		uint32_t start = mod[0], endp = mod[1], sum = 0;
		CHECK("cmdline", (start & 0xfff) == 0); /* page aligned (flags bit 0) */
		CHECK("cmdline", endp - start == arg_num("initrd_size", 0));
		for (const uint8_t *b = (const uint8_t *)(uintptr_t)start; b < (const uint8_t *)(uintptr_t)endp; b++)
			sum += *b;
		CHECK("cmdline", sum == arg_num("initrd_sum", 1));
	}
	pass("cmdline");
}

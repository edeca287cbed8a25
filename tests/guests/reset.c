// SPDX-License-Identifier: MIT
/* Ask for a reset through the i8042 (0xFE) or the reset control register (0xcf9). */
#include "lib.h"

void guest_main(uint32_t magic, uint32_t mbi_addr)
{
	puts_("resetting\n");
	if (arg_has("via=cf9"))
		outb(0xcf9, 0x06);
	else
		outb(0x64, 0xfe);
	for (volatile unsigned long i = 0; i < 10000000UL; i++)
		;
	fail("reset", "still running after the reset request");
}

// SPDX-License-Identifier: MIT
/*
 * Ask for a reset: through the i8042 (command 0xfe pulses the CPU reset line)
 * or, with via=cf9, the reset control register (0xcf9 <- 0x06: system reset).
 * vmkit ends with VMKIT_EXIT_RESET (4); still running after 1 s is a FAIL.
 */
#include "lib.h"

const char *test_name = "reset";

void guest_main(uint32_t magic, uint32_t mbi_addr)
{
	puts_("resetting\n");
	if (arg_has("via=cf9"))
		outb(0xcf9, 0x06);
	else
		outb(0x64, 0xfe);
	udelay(1000000);
	fail("still running 1 s after the reset request");
}

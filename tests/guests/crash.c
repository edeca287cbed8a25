// SPDX-License-Identifier: MIT
/* A guest that triple-faults: an empty IDT, then an exception. vmkit must exit 6 and dump registers. */
#include "lib.h"

const char *test_name = "crash";

void guest_main(uint32_t magic, uint32_t mbi_addr)
{
	struct {
		uint16_t limit;
		uint64_t base;
	} __attribute__((packed)) none = { 0, 0 };

	puts_("crashing\n");
	__asm__ volatile("lidt %0; ud2" ::"m"(none));
	fail("survived a triple fault");
}

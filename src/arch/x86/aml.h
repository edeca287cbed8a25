/* SPDX-License-Identifier: MIT */
/*
 * A small AML byte-code builder (ACPI 6.4 s20.2): enough for vmkit's DSDT.
 * Composite objects (Scope, Device, Package, Buffer) are built into their own
 * aml buffer and then wrapped, which fixes their PkgLength.
 */
#ifndef VMKIT_AML_H
#define VMKIT_AML_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct aml {
	uint8_t *buf;
	size_t len, cap;
	bool oom;
};

void aml_init(struct aml *a);
void aml_free(struct aml *a);
void aml_bytes(struct aml *a, const void *p, size_t n);
void aml_byte(struct aml *a, uint8_t b);
/* PkgLength encoding of a body of `body_len` bytes (s20.2.4). */
void aml_pkglength(struct aml *a, size_t body_len);
/* A NameString: "\\_SB_", "PCI0", "_S5_" (segments of 4 chars, '.'-separated). */
void aml_name_string(struct aml *a, const char *path);
/* Integer with the shortest encoding (Zero, One, Byte, Word, DWord, QWord). */
void aml_integer(struct aml *a, uint64_t v);
void aml_string(struct aml *a, const char *s);
/* Name(path, <object already encoded in obj>) */
void aml_name(struct aml *a, const char *path, const struct aml *obj);
void aml_name_integer(struct aml *a, const char *path, uint64_t v);
void aml_name_string_obj(struct aml *a, const char *path, const char *s);
/* EISAID("PNP0A03") as a compressed 32-bit integer. */
uint32_t aml_eisaid(const char *id);
void aml_name_eisaid(struct aml *a, const char *path, const char *id);
/* Scope/Device/Package/Buffer wrappers around an already-built body. */
void aml_scope(struct aml *a, const char *path, const struct aml *body);
void aml_device(struct aml *a, const char *path, const struct aml *body);
void aml_package(struct aml *a, unsigned int nelems, const struct aml *elems);
void aml_buffer(struct aml *a, const struct aml *bytes);

/* Resource template descriptors (s6.4), appended raw to a buffer body. */
void aml_res_io(struct aml *a, uint16_t base, uint8_t len);
void aml_res_irq(struct aml *a, uint8_t irq);
void aml_res_mem32_fixed(struct aml *a, uint32_t base, uint32_t len);
void aml_res_word_bus(struct aml *a, uint16_t min, uint16_t max);
void aml_res_word_io(struct aml *a, uint16_t min, uint16_t max);
void aml_res_dword_mem(struct aml *a, uint32_t min, uint32_t max);
void aml_res_qword_mem(struct aml *a, uint64_t min, uint64_t max);
/* Extended Interrupt descriptor (s6.4.3.6): consumer, level-triggered, active-high. */
void aml_res_interrupt_level(struct aml *a, uint32_t gsi);
/* End tag; then wrap with aml_buffer and Name(_CRS, ...). */
void aml_res_end(struct aml *a);

#endif

/* SPDX-License-Identifier: MIT */
/*
 * A small AML byte-code builder (ACPI 6.4 chapter 20): enough for vmkit's
 * DSDT. A struct aml is a growable byte buffer. Composite objects (Scope,
 * Device, Package, Buffer) are built into their own struct aml first and then
 * wrapped, which is when their PkgLength is known.
 *
 * Errors are sticky: an allocation failure or an unencodable request (a bad
 * name, a package of more than 255 elements, an IRQ above 15) sets a->error,
 * makes every later append a no-op, and propagates through the wrappers, so
 * a caller checks once at the end. Single-threaded; no vmkit dependencies.
 */
#ifndef VMKIT_AML_H
#define VMKIT_AML_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct aml {
	uint8_t *buf;
	size_t len, cap;
	bool error;
};

/* Start empty / release the buffer (the struct may be reused after aml_free). */
void aml_init(struct aml *a);
void aml_free(struct aml *a);

/* Raw bytes. */
void aml_bytes(struct aml *a, const void *p, size_t n);
void aml_byte(struct aml *a, uint8_t b);

/*
 * PkgLength for a body of body_len bytes (s20.2.4): the encoded value counts
 * the PkgLength bytes themselves, so 1 to 4 bytes are used for totals below
 * 2^6, 2^12, 2^20 and 2^28. Larger bodies set the error.
 */
void aml_pkglength(struct aml *a, size_t body_len);

/*
 * NameString (s20.2.2): "\\_SB.PCI0", "_S5", "COM1". Segments are separated
 * by '.', at most four characters each (shorter ones are padded with '_').
 */
void aml_name_string(struct aml *a, const char *path);

/* Integer with the shortest encoding: Zero, One, Byte, Word, DWord or QWord. */
void aml_integer(struct aml *a, uint64_t v);
/* String constant (ASCII, NUL-terminated). */
void aml_string(struct aml *a, const char *s);

/* Name(path, obj) where obj holds an already encoded data object. */
void aml_name(struct aml *a, const char *path, const struct aml *obj);
void aml_name_integer(struct aml *a, const char *path, uint64_t v);
void aml_name_string_obj(struct aml *a, const char *path, const char *s);

/*
 * EisaId("PNP0A03") as the ASL EISAID() macro computes it: three letters in
 * five bits each and four hex digits, returned in the byte order AML stores
 * it: its little-endian bytes are what follows the DWordPrefix.
 */
uint32_t aml_eisaid(const char *id);
void aml_name_eisaid(struct aml *a, const char *path, const char *id);

/* Scope(path) {body}, Device(path) {body}, Package(n) {elems}, Buffer() {bytes}. */
void aml_scope(struct aml *a, const char *path, const struct aml *body);
void aml_device(struct aml *a, const char *path, const struct aml *body);
void aml_package(struct aml *a, unsigned int nelems, const struct aml *elems);
void aml_buffer(struct aml *a, const struct aml *bytes);

/*
 * Resource template descriptors (s6.4), appended raw to what becomes a
 * Buffer body. Finish with aml_res_end(); the address space descriptors
 * (Word/DWord/QWord) are producers with fixed [min, max] and length
 * max - min + 1, as a host bridge's windows are.
 */
void aml_res_io(struct aml *a, uint16_t base, uint8_t len);          /* IO(Decode16) */
void aml_res_irq(struct aml *a, uint8_t irq);                        /* IRQNoFlags, 0-15 */
void aml_res_mem32_fixed(struct aml *a, uint32_t base, uint32_t len); /* Memory32Fixed RW */
void aml_res_word_bus(struct aml *a, uint16_t min, uint16_t max);    /* WordBusNumber */
void aml_res_word_io(struct aml *a, uint16_t min, uint16_t max);     /* WordIO, EntireRange */
void aml_res_dword_mem(struct aml *a, uint32_t min, uint32_t max);   /* DWordMemory RW */
void aml_res_qword_mem(struct aml *a, uint64_t min, uint64_t max);   /* QWordMemory RW */
/* Extended Interrupt (s6.4.3.6): consumer, level-triggered, active-high, one GSI. */
void aml_res_interrupt_level(struct aml *a, uint32_t gsi);
/* End tag (checksum 0: "treat as correct"). */
void aml_res_end(struct aml *a);

#endif

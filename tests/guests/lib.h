/* SPDX-License-Identifier: MIT */
/* The test guests' runtime: port I/O, COM1, reporting, cmdline, MMIO, interrupts. */
#ifndef GUEST_LIB_H
#define GUEST_LIB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

static inline void outb(uint16_t p, uint8_t v) { __asm__ volatile("outb %0, %1" ::"a"(v), "Nd"(p)); }
static inline void outw(uint16_t p, uint16_t v) { __asm__ volatile("outw %0, %1" ::"a"(v), "Nd"(p)); }
static inline void outl(uint16_t p, uint32_t v) { __asm__ volatile("outl %0, %1" ::"a"(v), "Nd"(p)); }
static inline uint8_t inb(uint16_t p) { uint8_t v; __asm__ volatile("inb %1, %0" : "=a"(v) : "Nd"(p)); return v; }
static inline uint16_t inw(uint16_t p) { uint16_t v; __asm__ volatile("inw %1, %0" : "=a"(v) : "Nd"(p)); return v; }
static inline uint32_t inl(uint16_t p) { uint32_t v; __asm__ volatile("inl %1, %0" : "=a"(v) : "Nd"(p)); return v; }
static inline uint32_t mmio_rd32(uint64_t a) { return *(volatile uint32_t *)a; }
static inline void mmio_wr32(uint64_t a, uint32_t v) { *(volatile uint32_t *)a = v; }
static inline void cpuid(uint32_t leaf, uint32_t sub, uint32_t *a, uint32_t *b, uint32_t *c, uint32_t *d)
{
	__asm__ volatile("cpuid" : "=a"(*a), "=b"(*b), "=c"(*c), "=d"(*d) : "a"(leaf), "c"(sub));
}
static inline uint64_t rdtsc(void) { uint32_t lo, hi; __asm__ volatile("rdtsc" : "=a"(lo), "=d"(hi)); return ((uint64_t)hi << 32) | lo; }

extern uint32_t boot_magic, boot_mbi;

void putc_(char c);
void puts_(const char *s);
void putu(uint64_t v);
void putx(uint64_t v);
int getc_poll(unsigned long spins); /* -1 on timeout */

/* Report and exit through the debug-exit port: pass -> status 33, fail -> 35. */
__attribute__((noreturn)) void pass(const char *name);
__attribute__((noreturn)) void fail(const char *name, const char *why);
#define CHECK(name, cond) do { if (!(cond)) fail(name, #cond); } while (0)

/* Multiboot info helpers */
const char *mb_cmdline(void);
/* Value of key=... in the command line as an unsigned number (decimal, or with K/M/G); def if absent. */
uint64_t arg_num(const char *key, uint64_t def);
bool arg_has(const char *word);

size_t strlen_(const char *s);
int memcmp_(const void *a, const void *b, size_t n);
uint8_t sum8(const void *p, size_t n);

/* Interrupts: IDT with exception handlers; vectors 48-50 call the handler set here. */
void idt_init(void);
void isr_set(int vector, void (*fn)(void));
void lapic_enable(void);
void lapic_eoi(void);
void pic_mask_all(void);
void ioapic_route(unsigned int pin, uint8_t vector);

#define LAPIC 0xfee00000ULL
#define IOAPIC 0xfec00000ULL

#endif

// SPDX-License-Identifier: MIT
/*
 * CPUID for each vCPU, derived from KVM_GET_SUPPORTED_CPUID. Topology: one
 * package of nr_cpus cores, one thread per core, APIC ID = vCPU index
 * (Intel SDM vol. 2A "CPUID": leaves 01h, 04h, 0Bh; AMD APM vol. 3 E.4:
 * 8000_0008h, 8000_001Eh).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>

#include "vmkit/x86_vcpu.h"

#define CPUID_1_ECX_TSC_DEADLINE (1U << 24)
#define CPUID_1_ECX_HYPERVISOR (1U << 31)
#define CPUID_1_EDX_HTT (1U << 28)
#define KVM_SIGNATURE_LEAF 0x40000000U

static unsigned int bits_for(unsigned int n)
{
	unsigned int b = 0;

	while ((1U << b) < n)
		b++;
	return b;
}

static void fix_entry(struct kvm_cpuid_entry2 *e, unsigned int apic_id, unsigned int nr_cpus)
{
	unsigned int core_bits = bits_for(nr_cpus);

	switch (e->function) {
	case 1:
		e->ebx = (e->ebx & 0x0000ffffU) | (apic_id << 24) | ((nr_cpus & 0xff) << 16);
		e->ecx |= CPUID_1_ECX_HYPERVISOR;
		if (nr_cpus > 1)
			e->edx |= CPUID_1_EDX_HTT;
		else
			e->edx &= ~CPUID_1_EDX_HTT;
		break;
	case 4:
		/* EAX[31:26] cores per package - 1; EAX[25:14] threads sharing this cache - 1. */
		if (e->eax & 0x1f) {
			unsigned int level = (e->eax >> 5) & 7;
			unsigned int sharing = level >= 3 ? (1U << core_bits) - 1 : 0;
			e->eax = (e->eax & 0x3fff) | (sharing << 14) | (((1U << core_bits) - 1) << 26);
		}
		break;
	case 0xb:
	case 0x1f:
		/* Extended topology: SMT level (1 thread), then core level. */
		e->edx = apic_id;
		if (e->index == 0) {
			e->eax = 0;
			e->ebx = 1;
			e->ecx = 0 | (1U << 8);
		} else if (e->index == 1) {
			e->eax = core_bits;
			e->ebx = nr_cpus;
			e->ecx = 1 | (2U << 8);
		} else {
			e->eax = 0;
			e->ebx = 0;
			e->ecx = e->index;
		}
		break;
	case 0x80000008:
		/* ECX[15:12] ApicIdSize, ECX[7:0] NC = cores - 1. */
		e->ecx = (e->ecx & ~0xf0ffU) | (core_bits << 12) | ((nr_cpus - 1) & 0xff);
		break;
	case 0x8000001e:
		e->eax = apic_id;
		e->ebx = apic_id & 0xff; /* core id; threads per core - 1 = 0 */
		e->ecx = 0;              /* node 0, one node per package */
		break;
	case KVM_SIGNATURE_LEAF:
		e->ebx = 0x4b4d564b; /* "KVMK" */
		e->ecx = 0x564b4d56; /* "VMKV" */
		e->edx = 0x0000004d; /* "M\0\0\0" */
		break;
	}
}

void x86_cpuid_add_tsc_deadline(struct kvm_cpuid2 *supported)
{
	for (unsigned int i = 0; i < supported->nent; i++)
		if (supported->entries[i].function == 1)
			supported->entries[i].ecx |= CPUID_1_ECX_TSC_DEADLINE;
}

int x86_cpuid_setup(struct kvm_vcpu *v, const struct kvm_cpuid2 *supported, unsigned int nr_cpus)
{
	size_t sz = sizeof(*supported) + supported->nent * sizeof(supported->entries[0]);
	struct kvm_cpuid2 *c = malloc(sz);
	int err = 0;

	if (!c)
		return -ENOMEM;
	memcpy(c, supported, sz);
	for (unsigned int i = 0; i < c->nent; i++)
		fix_entry(&c->entries[i], v->id, nr_cpus);
	if (ioctl(v->fd, KVM_SET_CPUID2, c) < 0)
		err = -errno;
	free(c);
	return err;
}

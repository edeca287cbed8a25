/* SPDX-License-Identifier: MIT */
/*
 * kvm: thin wrappers over the /dev/kvm ioctls (Documentation/virt/kvm/api.rst).
 * Only kvm/ and arch/ issue ioctls; everything else goes through here.
 */
#ifndef VMKIT_KVM_H
#define VMKIT_KVM_H

#include <linux/kvm.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct kvm {
	int dev_fd;
	int vm_fd;
	int run_size; /* size of each vCPU's struct kvm_run mapping */
	unsigned int nr_slots;
};

struct kvm_vcpu {
	int fd;
	unsigned int id;
	struct kvm_run *run;
};

/*
 * Open the KVM device at path and create a VM. On failure, one line in err
 * says what is wrong (missing module, permissions, API version) and -errno.
 */
int kvm_open(struct kvm *k, const char *path, char *err, size_t errlen);
void kvm_close(struct kvm *k);

/* Check an extension; returns its value (0 = absent). */
int kvm_check_extension(struct kvm *k, long cap);

/* Add a user memory slot (slots are numbered in order of calls). */
int kvm_add_memory(struct kvm *k, uint64_t gpa, uint64_t size, void *hva);

/*
 * Add a ROM slot: read-only to the guest (KVM_MEM_READONLY; guest writes exit
 * as MMIO) when KVM supports it, else writable memory. *readonly says which.
 */
int kvm_add_rom(struct kvm *k, uint64_t gpa, uint64_t size, void *hva, bool *readonly);

/* Reserve a memory slot number for kvm_set_memory_slot() (never reused). */
unsigned int kvm_reserve_slot(struct kvm *k);

/*
 * (Re)define slot: [gpa, gpa+size) backed by hva; size 0 deletes the slot.
 * flags: KVM_MEM_LOG_DIRTY_PAGES to track writes. Moving a slot is a delete
 * followed by a set (KVM_SET_USER_MEMORY_REGION cannot move a slot in place).
 * Any thread. 0 or -errno.
 */
int kvm_set_memory_slot(struct kvm *k, unsigned int slot, uint64_t gpa, uint64_t size, void *hva,
			uint32_t flags);

/*
 * KVM_GET_DIRTY_LOG: copy the slot's dirty-page bitmap (one bit per 4 KiB
 * page, bitmap sized for the slot, 64-bit words) and clear it in KVM.
 * -ENOENT if the slot does not exist now. Any thread.
 */
int kvm_get_dirty_log(struct kvm *k, unsigned int slot, uint64_t *bitmap);

/* x86 platform: TSS/identity-map addresses, in-kernel PIC+IOAPIC+LAPIC, PIT. */
int kvm_create_irqchip_and_pit(struct kvm *k, uint64_t tss_addr, uint64_t identity_map_addr);

/* Set a GSI's level through the in-kernel irqchip. */
int kvm_irq_line(struct kvm *k, uint32_t gsi, int level);

/* Supported CPUID (malloc'd, caller frees). */
int kvm_get_supported_cpuid(struct kvm *k, struct kvm_cpuid2 **out);

int kvm_vcpu_create(struct kvm *k, unsigned int id, struct kvm_vcpu *v);
void kvm_vcpu_destroy(struct kvm *k, struct kvm_vcpu *v);

/* One KVM_RUN; returns 0 or -errno (-EINTR when kicked by a signal). */
int kvm_vcpu_run(struct kvm_vcpu *v);

#endif

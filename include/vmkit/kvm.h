/* SPDX-License-Identifier: MIT */
/*
 * kvm: thin wrappers over the /dev/kvm ioctls (Documentation/virt/kvm/api.rst).
 * Only kvm/ and arch/ issue ioctls; everything else goes through here.
 */
#ifndef VMKIT_KVM_H
#define VMKIT_KVM_H

#include <linux/kvm.h>
#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* GSIs 0-23 are the in-kernel PIC/IOAPIC pins; MSI routes are allocated above. */
#define KVM_IRQCHIP_GSIS 24
#define KVM_MAX_MSI_ROUTES 512

struct kvm {
	int dev_fd;
	int vm_fd;
	int run_size; /* size of each vCPU's struct kvm_run mapping */
	unsigned int nr_slots;
	/*
	 * The GSI routing table (KVM_SET_GSI_ROUTING replaces it whole): the
	 * default irqchip routes for GSIs 0-23 plus one MSI route per allocated
	 * GSI. Protected by routes_lock; any thread.
	 */
	pthread_mutex_t routes_lock;
	bool routes_ready;
	struct kvm_irq_routing *routes;
	uint32_t next_gsi;
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

/*
 * GSI routing (api.rst 4.52 KVM_SET_GSI_ROUTING). kvm_routes_init() installs
 * the default routes (GSI 0-15 to the PIC and IOAPIC pins, 16-23 to the
 * IOAPIC) as the table KVM would have built itself; call it after the irqchip
 * exists. kvm_msi_gsi_alloc() hands out a GSI >= 24 with no route yet;
 * kvm_msi_route_set() points it at an MSI (address, data) and commits the
 * table; kvm_msi_route_clear() removes the route. Any thread. 0 or -errno.
 */
int kvm_routes_init(struct kvm *k);
int kvm_msi_gsi_alloc(struct kvm *k, uint32_t *gsi);
int kvm_msi_route_set(struct kvm *k, uint32_t gsi, uint64_t addr, uint32_t data);
int kvm_msi_route_clear(struct kvm *k, uint32_t gsi);

/* KVM_IRQFD: signalling fd injects gsi (assign) / unbind it (!assign). 0 or -errno. */
int kvm_irqfd(struct kvm *k, int fd, uint32_t gsi, bool assign);

/*
 * KVM_IOEVENTFD: a guest write of len bytes (1/2/4/8; 0 = any length, no
 * datamatch) at addr on the PIO (pio) or MMIO bus signals fd instead of
 * exiting to userspace; with datamatch only writes of value data do. The same
 * arguments with assign false remove it. 0 or -errno.
 */
int kvm_ioeventfd(struct kvm *k, uint64_t addr, uint32_t len, int fd, bool pio, bool datamatch, uint64_t data,
		  bool assign);

/* KVM_SIGNAL_MSI: inject one MSI now. 0 (or 1: delivered) or -errno. */
int kvm_signal_msi(struct kvm *k, uint64_t addr, uint32_t data);

/* Supported CPUID (malloc'd, caller frees). */
int kvm_get_supported_cpuid(struct kvm *k, struct kvm_cpuid2 **out);

int kvm_vcpu_create(struct kvm *k, unsigned int id, struct kvm_vcpu *v);
void kvm_vcpu_destroy(struct kvm *k, struct kvm_vcpu *v);

/* One KVM_RUN; returns 0 or -errno (-EINTR when kicked by a signal). */
int kvm_vcpu_run(struct kvm_vcpu *v);

#endif

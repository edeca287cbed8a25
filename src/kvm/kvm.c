// SPDX-License-Identifier: MIT
/* Thin /dev/kvm wrappers: every ioctl vmkit issues outside arch/ is here. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include "vmkit/kvm.h"

int kvm_open(struct kvm *k, const char *path, char *err, size_t errlen)
{
	int ret;

	memset(k, 0, sizeof(*k));
	k->vm_fd = -1;
	pthread_mutex_init(&k->routes_lock, NULL);
	k->dev_fd = open(path, O_RDWR | O_CLOEXEC);
	if (k->dev_fd < 0) {
		ret = -errno;
		if (ret == -ENOENT)
			snprintf(err, errlen, "%s does not exist: load the kvm module (kvm_intel or kvm_amd) "
				 "and check that virtualization is enabled in the firmware", path);
		else if (ret == -EACCES || ret == -EPERM)
			snprintf(err, errlen, "%s: permission denied: add yourself to the 'kvm' group or run as root",
				 path);
		else
			snprintf(err, errlen, "cannot open %s: %s", path, strerror(-ret));
		return ret;
	}
	ret = ioctl(k->dev_fd, KVM_GET_API_VERSION, 0);
	if (ret != KVM_API_VERSION) {
		snprintf(err, errlen, "%s: unsupported KVM API version %d (need %d)", path, ret, KVM_API_VERSION);
		ret = -ENOTSUP;
		goto fail;
	}
	k->run_size = ioctl(k->dev_fd, KVM_GET_VCPU_MMAP_SIZE, 0);
	if (k->run_size <= 0) {
		ret = -errno;
		snprintf(err, errlen, "%s: KVM_GET_VCPU_MMAP_SIZE failed: %s", path, strerror(errno));
		goto fail;
	}
	do
		k->vm_fd = ioctl(k->dev_fd, KVM_CREATE_VM, 0);
	while (k->vm_fd < 0 && errno == EINTR);
	if (k->vm_fd < 0) {
		ret = -errno;
		snprintf(err, errlen, "%s: cannot create a VM: %s", path, strerror(errno));
		goto fail;
	}
	return 0;
fail:
	close(k->dev_fd);
	k->dev_fd = -1;
	return ret;
}

void kvm_close(struct kvm *k)
{
	if (k->vm_fd >= 0)
		close(k->vm_fd);
	if (k->dev_fd >= 0)
		close(k->dev_fd);
	k->vm_fd = k->dev_fd = -1;
	free(k->routes);
	k->routes = NULL;
	k->routes_ready = false;
}

int kvm_check_extension(struct kvm *k, long cap)
{
	int r = ioctl(k->vm_fd, KVM_CHECK_EXTENSION, cap);

	return r < 0 ? 0 : r;
}

int kvm_add_memory(struct kvm *k, uint64_t gpa, uint64_t size, void *hva)
{
	struct kvm_userspace_memory_region r = {
		.slot = k->nr_slots,
		.guest_phys_addr = gpa,
		.memory_size = size,
		.userspace_addr = (uint64_t)(uintptr_t)hva,
	};

	if (ioctl(k->vm_fd, KVM_SET_USER_MEMORY_REGION, &r) < 0)
		return -errno;
	k->nr_slots++;
	return 0;
}

int kvm_add_rom(struct kvm *k, uint64_t gpa, uint64_t size, void *hva, bool *readonly)
{
	struct kvm_userspace_memory_region r = {
		.slot = k->nr_slots,
		.guest_phys_addr = gpa,
		.memory_size = size,
		.userspace_addr = (uint64_t)(uintptr_t)hva,
	};

	*readonly = kvm_check_extension(k, KVM_CAP_READONLY_MEM) > 0;
	if (*readonly)
		r.flags = KVM_MEM_READONLY;
	if (ioctl(k->vm_fd, KVM_SET_USER_MEMORY_REGION, &r) < 0)
		return -errno;
	k->nr_slots++;
	return 0;
}

unsigned int kvm_reserve_slot(struct kvm *k)
{
	return k->nr_slots++;
}

int kvm_set_memory_slot(struct kvm *k, unsigned int slot, uint64_t gpa, uint64_t size, void *hva,
			uint32_t flags)
{
	struct kvm_userspace_memory_region r = {
		.slot = slot,
		.flags = size ? flags : 0,
		.guest_phys_addr = size ? gpa : 0,
		.memory_size = size,
		.userspace_addr = size ? (uint64_t)(uintptr_t)hva : 0,
	};

	if (ioctl(k->vm_fd, KVM_SET_USER_MEMORY_REGION, &r) < 0)
		return -errno;
	return 0;
}

int kvm_get_dirty_log(struct kvm *k, unsigned int slot, uint64_t *bitmap)
{
	struct kvm_dirty_log d = { .slot = slot, .dirty_bitmap = bitmap };

	if (ioctl(k->vm_fd, KVM_GET_DIRTY_LOG, &d) < 0)
		return errno == EINVAL ? -ENOENT : -errno;
	return 0;
}

int kvm_create_irqchip_and_pit(struct kvm *k, uint64_t tss_addr, uint64_t identity_map_addr)
{
	struct kvm_pit_config pit = { .flags = 0 };
	uint64_t idmap = identity_map_addr;

	/* Intel VMX needs these two pages for real-mode emulation; harmless elsewhere. */
	if (ioctl(k->vm_fd, KVM_SET_IDENTITY_MAP_ADDR, &idmap) < 0 && errno != EINVAL && errno != ENOTTY)
		return -errno;
	if (ioctl(k->vm_fd, KVM_SET_TSS_ADDR, (unsigned long)tss_addr) < 0 && errno != EINVAL &&
	    errno != ENOTTY)
		return -errno;
	if (ioctl(k->vm_fd, KVM_CREATE_IRQCHIP, 0) < 0)
		return -errno;
	/* flags 0: KVM also emulates port 0x61 (PIT channel 2 gate), which Linux uses to calibrate. */
	if (ioctl(k->vm_fd, KVM_CREATE_PIT2, &pit) < 0)
		return -errno;
	return 0;
}

int kvm_irq_line(struct kvm *k, uint32_t gsi, int level)
{
	struct kvm_irq_level irq = { .irq = gsi, .level = level };

	if (ioctl(k->vm_fd, KVM_IRQ_LINE, &irq) < 0)
		return -errno;
	return 0;
}

int kvm_get_supported_cpuid(struct kvm *k, struct kvm_cpuid2 **out)
{
	unsigned int nent = 128;

	for (;;) {
		struct kvm_cpuid2 *c = calloc(1, sizeof(*c) + nent * sizeof(c->entries[0]));
		if (!c)
			return -ENOMEM;
		c->nent = nent;
		if (ioctl(k->dev_fd, KVM_GET_SUPPORTED_CPUID, c) == 0) {
			*out = c;
			return 0;
		}
		free(c);
		if (errno != E2BIG || nent >= 4096)
			return -errno;
		nent *= 2;
	}
}

int kvm_vcpu_create(struct kvm *k, unsigned int id, struct kvm_vcpu *v)
{
	void *run;

	v->id = id;
	v->fd = ioctl(k->vm_fd, KVM_CREATE_VCPU, (unsigned long)id);
	if (v->fd < 0)
		return -errno;
	run = mmap(NULL, k->run_size, PROT_READ | PROT_WRITE, MAP_SHARED, v->fd, 0);
	if (run == MAP_FAILED) {
		int err = -errno;
		close(v->fd);
		v->fd = -1;
		return err;
	}
	v->run = run;
	return 0;
}

void kvm_vcpu_destroy(struct kvm *k, struct kvm_vcpu *v)
{
	if (v->run)
		munmap(v->run, k->run_size);
	if (v->fd >= 0)
		close(v->fd);
	v->run = NULL;
	v->fd = -1;
}

int kvm_vcpu_run(struct kvm_vcpu *v)
{
	if (ioctl(v->fd, KVM_RUN, 0) < 0)
		return -errno;
	return 0;
}

// SPDX-License-Identifier: MIT
/*
 * Interrupt plumbing ioctls: the GSI routing table, irqfd, ioeventfd and
 * direct MSI injection (Documentation/virt/kvm/api.rst: KVM_SET_GSI_ROUTING,
 * KVM_IRQFD, KVM_IOEVENTFD, KVM_SIGNAL_MSI).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>

#include "vmkit/kvm.h"

#define MAX_ROUTES (KVM_IRQCHIP_GSIS + 16 + KVM_MAX_MSI_ROUTES)

static void add_irqchip(struct kvm_irq_routing *t, uint32_t gsi, uint32_t chip, uint32_t pin)
{
	struct kvm_irq_routing_entry *e = &t->entries[t->nr++];

	memset(e, 0, sizeof(*e));
	e->gsi = gsi;
	e->type = KVM_IRQ_ROUTING_IRQCHIP;
	e->u.irqchip.irqchip = chip;
	e->u.irqchip.pin = pin;
}

static int commit_locked(struct kvm *k)
{
	if (ioctl(k->vm_fd, KVM_SET_GSI_ROUTING, k->routes) < 0)
		return -errno;
	return 0;
}

int kvm_routes_init(struct kvm *k)
{
	struct kvm_irq_routing *t;
	int r;

	t = calloc(1, sizeof(*t) + MAX_ROUTES * sizeof(t->entries[0]));
	if (!t)
		return -ENOMEM;
	/*
	 * The same table KVM installs by default with KVM_CREATE_IRQCHIP: ISA
	 * IRQs reach both the 8259 pair and the IOAPIC, 16-23 only the IOAPIC.
	 */
	for (uint32_t gsi = 0; gsi < KVM_IRQCHIP_GSIS; gsi++) {
		if (gsi < 16)
			add_irqchip(t, gsi, gsi < 8 ? KVM_IRQCHIP_PIC_MASTER : KVM_IRQCHIP_PIC_SLAVE, gsi % 8);
		add_irqchip(t, gsi, KVM_IRQCHIP_IOAPIC, gsi);
	}
	pthread_mutex_lock(&k->routes_lock);
	free(k->routes);
	k->routes = t;
	k->next_gsi = KVM_IRQCHIP_GSIS;
	r = commit_locked(k);
	k->routes_ready = r == 0;
	pthread_mutex_unlock(&k->routes_lock);
	return r;
}

int kvm_msi_gsi_alloc(struct kvm *k, uint32_t *gsi)
{
	int r = 0;

	pthread_mutex_lock(&k->routes_lock);
	if (!k->routes_ready)
		r = -ENODEV;
	else if (k->next_gsi >= KVM_IRQCHIP_GSIS + KVM_MAX_MSI_ROUTES)
		r = -ENOSPC;
	else
		*gsi = k->next_gsi++;
	pthread_mutex_unlock(&k->routes_lock);
	return r;
}

static struct kvm_irq_routing_entry *find_msi(struct kvm_irq_routing *t, uint32_t gsi)
{
	for (uint32_t i = 0; i < t->nr; i++)
		if (t->entries[i].gsi == gsi && t->entries[i].type == KVM_IRQ_ROUTING_MSI)
			return &t->entries[i];
	return NULL;
}

int kvm_msi_route_set(struct kvm *k, uint32_t gsi, uint64_t addr, uint32_t data)
{
	struct kvm_irq_routing_entry *e;
	int r;

	if (gsi < KVM_IRQCHIP_GSIS)
		return -EINVAL;
	pthread_mutex_lock(&k->routes_lock);
	if (!k->routes_ready || gsi >= k->next_gsi) {
		r = -EINVAL;
		goto out;
	}
	e = find_msi(k->routes, gsi);
	if (e && e->u.msi.address_lo == (uint32_t)addr && e->u.msi.address_hi == (uint32_t)(addr >> 32) &&
	    e->u.msi.data == data) {
		r = 0; /* unchanged: skip the ioctl */
		goto out;
	}
	if (!e) {
		if (k->routes->nr >= MAX_ROUTES) {
			r = -ENOSPC;
			goto out;
		}
		e = &k->routes->entries[k->routes->nr++];
		memset(e, 0, sizeof(*e));
		e->gsi = gsi;
		e->type = KVM_IRQ_ROUTING_MSI;
	}
	e->u.msi.address_lo = (uint32_t)addr;
	e->u.msi.address_hi = (uint32_t)(addr >> 32);
	e->u.msi.data = data;
	r = commit_locked(k);
out:
	pthread_mutex_unlock(&k->routes_lock);
	return r;
}

int kvm_msi_route_clear(struct kvm *k, uint32_t gsi)
{
	struct kvm_irq_routing_entry *e;
	int r = 0;

	pthread_mutex_lock(&k->routes_lock);
	if (k->routes_ready && (e = find_msi(k->routes, gsi))) {
		*e = k->routes->entries[--k->routes->nr];
		r = commit_locked(k);
	}
	pthread_mutex_unlock(&k->routes_lock);
	return r;
}

int kvm_irqfd(struct kvm *k, int fd, uint32_t gsi, bool assign)
{
	struct kvm_irqfd i = { .fd = (uint32_t)fd, .gsi = gsi, .flags = assign ? 0 : KVM_IRQFD_FLAG_DEASSIGN };

	if (ioctl(k->vm_fd, KVM_IRQFD, &i) < 0)
		return -errno;
	return 0;
}

int kvm_ioeventfd(struct kvm *k, uint64_t addr, uint32_t len, int fd, bool pio, bool datamatch, uint64_t data,
		  bool assign)
{
	struct kvm_ioeventfd e = {
		.datamatch = datamatch ? data : 0,
		.addr = addr,
		.len = len,
		.fd = fd,
		.flags = (pio ? KVM_IOEVENTFD_FLAG_PIO : 0) | (datamatch ? KVM_IOEVENTFD_FLAG_DATAMATCH : 0) |
			 (assign ? 0 : KVM_IOEVENTFD_FLAG_DEASSIGN),
	};

	if (ioctl(k->vm_fd, KVM_IOEVENTFD, &e) < 0)
		return -errno;
	return 0;
}

int kvm_signal_msi(struct kvm *k, uint64_t addr, uint32_t data)
{
	struct kvm_msi m = { .address_lo = (uint32_t)addr, .address_hi = (uint32_t)(addr >> 32), .data = data };
	int r = ioctl(k->vm_fd, KVM_SIGNAL_MSI, &m);

	return r < 0 ? -errno : r;
}

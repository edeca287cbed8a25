// SPDX-License-Identifier: MIT
/*
 * The VM's side of device interrupts and notifiers: MSI vectors backed by a
 * KVM GSI with an MSI route and an irqfd (so any thread fires one with an
 * eventfd write), and ioeventfd registration for transports.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "vm_priv.h"
#include "vmkit/log.h"

static int msi_alloc(void *ctx)
{
	struct vm *vm = ctx;
	struct vm_msi *v, *grown;
	int r;

	if (vm->nr_msi == vm->cap_msi) {
		unsigned int cap = vm->cap_msi ? 2 * vm->cap_msi : 32;
		grown = realloc(vm->msi, cap * sizeof(*grown));
		if (!grown)
			return -ENOMEM;
		vm->msi = grown;
		vm->cap_msi = cap;
	}
	v = &vm->msi[vm->nr_msi];
	memset(v, 0, sizeof(*v));
	v->fd = -1;
	/* Without GSI routing (or irqfd) vectors are injected with KVM_SIGNAL_MSI instead. */
	if (kvm_msi_gsi_alloc(&vm->kvm, &v->gsi) == 0) {
		v->fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
		if (v->fd >= 0 && (r = kvm_irqfd(&vm->kvm, v->fd, v->gsi, true))) {
			log_warn("KVM_IRQFD: %s; MSIs go through KVM_SIGNAL_MSI", strerror(-r));
			close(v->fd);
			v->fd = -1;
		}
	}
	return (int)vm->nr_msi++;
}

static void msi_fire(void *ctx, int h, uint64_t addr, uint32_t data)
{
	struct vm *vm = ctx;
	struct vm_msi *v;
	uint64_t one = 1;
	int r;

	if (h < 0 || (unsigned int)h >= vm->nr_msi)
		return;
	v = &vm->msi[h];
	pthread_mutex_lock(&vm->msi_lock);
	/* Retarget the route lazily: the guest rewrites MSI-X entries while masked. */
	if (v->fd >= 0 && (!v->routed || v->addr != addr || v->data != data)) {
		r = kvm_msi_route_set(&vm->kvm, v->gsi, addr, data);
		if (r) {
			log_ratelimited(LOG_WARN, "KVM_SET_GSI_ROUTING: %s", strerror(-r));
			v->routed = false;
		} else {
			v->routed = true;
			v->addr = addr;
			v->data = data;
		}
	}
	if (v->fd >= 0 && v->routed) {
		pthread_mutex_unlock(&vm->msi_lock);
		if (write(v->fd, &one, sizeof(one)) < 0) {
			/* counter saturated: the interrupt is pending anyway */
		}
		return;
	}
	pthread_mutex_unlock(&vm->msi_lock);
	r = kvm_signal_msi(&vm->kvm, addr, data);
	if (r < 0)
		log_ratelimited(LOG_WARN, "KVM_SIGNAL_MSI: %s", strerror(-r));
}

static int ioev_set(void *ctx, bool pio, uint64_t addr, uint32_t len, bool datamatch, uint64_t data, int fd,
		    bool assign)
{
	struct vm *vm = ctx;

	return kvm_ioeventfd(&vm->kvm, addr, len, fd, pio, datamatch, data, assign);
}

void vm_irq_init(struct vm *vm)
{
	int r;

	pthread_mutex_init(&vm->msi_lock, NULL);
	vm->msi_ctl = (struct msi_ctl){ .alloc = msi_alloc, .fire = msi_fire, .ctx = vm };
	vm->ioev_ctl = (struct ioevent_ctl){ .set = ioev_set, .ctx = vm };
	r = kvm_routes_init(&vm->kvm);
	if (r)
		log_warn("KVM_SET_GSI_ROUTING: %s; MSIs go through KVM_SIGNAL_MSI", strerror(-r));
}

void vm_irq_destroy(struct vm *vm)
{
	for (unsigned int i = 0; i < vm->nr_msi; i++)
		if (vm->msi[i].fd >= 0)
			close(vm->msi[i].fd);
	free(vm->msi);
	vm->msi = NULL;
	vm->nr_msi = vm->cap_msi = 0;
	pthread_mutex_destroy(&vm->msi_lock);
}

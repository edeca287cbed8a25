// SPDX-License-Identifier: MIT
/*
 * vCPU threads: one per vCPU, each looping on KVM_RUN and dispatching I/O
 * exits to the PIO/MMIO buses. A stop request sets immediate_exit and sends
 * SIGUSR1 so a thread blocked in KVM_RUN (e.g. an AP waiting for SIPI) returns.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "vm_priv.h"
#include "vmkit/log.h"
#include "vmkit/x86_vcpu.h"

#define SIG_VCPU_KICK SIGUSR1

static void kick_handler(int sig)
{
	(void)sig; /* only there to interrupt KVM_RUN */
}

static void vcpu_fatal(struct vcpu *c, const char *what)
{
	struct kvm_run *run = c->kv.run;

	fprintf(stderr, "\r\nvmkit: guest crashed on vCPU %u: %s\r\n", c->kv.id, what);
	if (run->exit_reason == KVM_EXIT_INTERNAL_ERROR)
		fprintf(stderr, "vmkit: KVM internal error suberror %u\r\n", run->internal.suberror);
	if (run->exit_reason == KVM_EXIT_FAIL_ENTRY)
		fprintf(stderr, "vmkit: entry failure reason 0x%llx\r\n",
			(unsigned long long)run->fail_entry.hardware_entry_failure_reason);
	x86_vcpu_dump(&c->kv, stderr);
	vm_stop(c->vm, VMKIT_EXIT_CRASH);
}

/* Count an I/O exit at addr in the first free or matching slot (a small, fixed table). */
static void count_spot(struct vcpu *c, uint64_t addr)
{
	for (unsigned int i = 0; i < VCPU_EXIT_SPOTS; i++) {
		if (c->spots[i].count && c->spots[i].addr != addr)
			continue;
		c->spots[i].addr = addr;
		c->spots[i].count++;
		return;
	}
}

static void handle_io(struct vcpu *c)
{
	struct kvm_run *run = c->kv.run;
	uint8_t *data = (uint8_t *)run + run->io.data_offset;
	bool is_write = run->io.direction == KVM_EXIT_IO_OUT;

	/* String I/O (rep ins/outs) arrives as count items of size bytes. */
	for (uint32_t i = 0; i < run->io.count; i++)
		bus_access(&c->vm->pio, run->io.port, data + i * run->io.size, run->io.size, is_write);
}

static void handle_mmio(struct vcpu *c)
{
	struct kvm_run *run = c->kv.run;
	uint32_t len = run->mmio.len;

	if (len == 0 || len > sizeof(run->mmio.data)) {
		log_ratelimited(LOG_WARN, "vCPU %u: MMIO access of odd length %u ignored", c->kv.id, len);
		return;
	}
	bus_access(&c->vm->mmio, run->mmio.phys_addr, run->mmio.data, len, run->mmio.is_write);
}

static void handle_system_event(struct vcpu *c)
{
	switch (c->kv.run->system_event.type) {
	case KVM_SYSTEM_EVENT_SHUTDOWN:
		vm_stop(c->vm, VMKIT_EXIT_POWEROFF);
		break;
	case KVM_SYSTEM_EVENT_RESET:
		vm_stop(c->vm, VMKIT_EXIT_RESET);
		break;
	default:
		vcpu_fatal(c, "unexpected KVM system event");
	}
}

static void *vcpu_thread(void *arg)
{
	struct vcpu *c = arg;
	struct vm *vm = c->vm;
	char name[16];

	snprintf(name, sizeof(name), "vcpu%u", c->kv.id);
	pthread_setname_np(pthread_self(), name);

	while (!atomic_load(&vm->stopping)) {
		int err = kvm_vcpu_run(&c->kv);
		if (err == -EINTR || err == -EAGAIN) {
			c->kv.run->immediate_exit = 0;
			continue;
		}
		if (err) {
			fprintf(stderr, "vmkit: KVM_RUN failed on vCPU %u: %s\r\n", c->kv.id, strerror(-err));
			x86_vcpu_dump(&c->kv, stderr);
			vm_stop(vm, VMKIT_EXIT_CRASH);
			break;
		}
		c->exits++;
		switch (c->kv.run->exit_reason) {
		case KVM_EXIT_IO:
			c->exits_io++;
			count_spot(c, c->kv.run->io.port);
			handle_io(c);
			break;
		case KVM_EXIT_MMIO:
			c->exits_mmio++;
			count_spot(c, c->kv.run->mmio.phys_addr | 1ULL << 63);
			handle_mmio(c);
			break;
		case KVM_EXIT_HLT:
			/* Only without an in-kernel LAPIC; nothing to wait for here. */
			break;
		case KVM_EXIT_INTR:
			c->exits_intr++;
			break;
		case KVM_EXIT_SHUTDOWN:
			vcpu_fatal(c, "triple fault (KVM_EXIT_SHUTDOWN)");
			break;
		case KVM_EXIT_SYSTEM_EVENT:
			handle_system_event(c);
			break;
		case KVM_EXIT_INTERNAL_ERROR:
			vcpu_fatal(c, "KVM internal error (emulation failure)");
			break;
		case KVM_EXIT_FAIL_ENTRY:
			vcpu_fatal(c, "VM entry failed");
			break;
		default: {
			char what[64];
			snprintf(what, sizeof(what), "unhandled KVM exit reason %u", c->kv.run->exit_reason);
			vcpu_fatal(c, what);
		}
		}
	}
	return NULL;
}

int vcpus_start(struct vm *vm)
{
	struct sigaction sa;
	sigset_t set;
	int err;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = kick_handler; /* no SA_RESTART: KVM_RUN must return EINTR */
	sigaction(SIG_VCPU_KICK, &sa, NULL);
	sigemptyset(&set);
	sigaddset(&set, SIG_VCPU_KICK);
	pthread_sigmask(SIG_UNBLOCK, &set, NULL);

	for (unsigned int i = 0; i < vm->nr_vcpus; i++) {
		err = -pthread_create(&vm->vcpus[i].thread, NULL, vcpu_thread, &vm->vcpus[i]);
		if (err)
			return err;
		vm->vcpus[i].thread_started = true;
	}
	return 0;
}

void vcpus_kick_all(struct vm *vm)
{
	if (!vm->vcpus)
		return;
	for (unsigned int i = 0; i < vm->nr_vcpus; i++) {
		struct vcpu *c = &vm->vcpus[i];
		if (c->kv.run)
			c->kv.run->immediate_exit = 1;
		if (c->thread_started)
			pthread_kill(c->thread, SIG_VCPU_KICK);
	}
}

void vcpus_join(struct vm *vm)
{
	if (!vm->vcpus)
		return;
	for (unsigned int i = 0; i < vm->nr_vcpus; i++) {
		struct vcpu *c = &vm->vcpus[i];

		if (!c->thread_started)
			continue;
		pthread_join(c->thread, NULL);
		c->thread_started = false;
		log_debug("vCPU %u: %llu exits to user space: %llu I/O port, %llu MMIO, %llu interrupted", c->kv.id,
			  (unsigned long long)c->exits, (unsigned long long)c->exits_io,
			  (unsigned long long)c->exits_mmio, (unsigned long long)c->exits_intr);
		for (unsigned int s = 0; s < VCPU_EXIT_SPOTS && c->spots[s].count; s++)
			log_debug("vCPU %u:   %s 0x%llx: %llu exits", c->kv.id, c->spots[s].addr >> 63 ? "mmio" : "port",
				  (unsigned long long)(c->spots[s].addr & ~(1ULL << 63)),
				  (unsigned long long)c->spots[s].count);
	}
}

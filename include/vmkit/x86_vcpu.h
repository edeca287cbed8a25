/* SPDX-License-Identifier: MIT */
/*
 * x86_vcpu: per-vCPU architectural setup: CPUID (topology, hypervisor
 * leaves), MSRs, FPU, LAPIC LINT pins, and the boot CPU's entry state.
 */
#ifndef VMKIT_X86_VCPU_H
#define VMKIT_X86_VCPU_H

#include <stdio.h>

#include "vmkit/boot.h"
#include "vmkit/kvm.h"
#include "vmkit/mem.h"

/*
 * Derive this vCPU's CPUID from KVM's supported set: APIC ID = vCPU index,
 * one socket of nr_cpus cores with one thread each, hypervisor bit and KVM
 * signature leaves. 0 or -errno.
 */
int x86_cpuid_setup(struct kvm_vcpu *v, const struct kvm_cpuid2 *supported, unsigned int nr_cpus);

/*
 * Offer the LAPIC's TSC-deadline timer mode (CPUID.01H:ECX[24]). KVM emulates
 * it in its in-kernel LAPIC (KVM_CAP_TSC_DEADLINE_TIMER) but, before Linux
 * 6.14, leaves it out of KVM_GET_SUPPORTED_CPUID (api.rst, "Known KVM API
 * problems", local APIC features). Without it a Linux guest programs its
 * timer in the one-shot count-down mode, which it first calibrates at boot.
 */
void x86_cpuid_add_tsc_deadline(struct kvm_cpuid2 *supported);

/* Power-on state common to all vCPUs: MSRs, FPU, LINT0=ExtINT, LINT1=NMI. */
int x86_vcpu_init(struct kvm_vcpu *v);

/*
 * Set the boot CPU's registers for the loader's entry kind; writes the boot
 * GDT and, for 64-bit entry, identity page tables into guest memory.
 */
int x86_boot_cpu_setup(struct guest_mem *m, struct kvm_vcpu *bsp, const struct boot_result *br);

/* Print registers (for fatal exits). */
void x86_vcpu_dump(struct kvm_vcpu *v, FILE *f);

#endif

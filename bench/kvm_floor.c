// SPDX-License-Identifier: MIT
/*
 * kvm_floor: the cheapest possible VM start-up on this host, used as the
 * floor that vmkit's start-up time, CPU time and RSS are compared against.
 *
 * It makes only the calls every VMM needs, and nothing else:
 *   open /dev/kvm, KVM_CREATE_VM, one anonymous memory slot (MAP_NORESERVE,
 *   size from argv[1], default 128M), KVM_CREATE_IRQCHIP, KVM_CREATE_PIT2,
 *   one vCPU (KVM_CREATE_VCPU + mmap of kvm_run), real-mode registers pointing
 *   at a single `out 0xf4, al` in guest memory, KVM_RUN until that OUT exits,
 *   then close everything.
 *
 * Usage: kvm_floor [SIZE]   SIZE like 128M, 1G or a byte count.
 * Exit status 0 on the expected KVM_EXIT_IO, 1 on any failure (message on stderr).
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/kvm.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#define CODE_GPA 0x1000u

static int fail(const char *what)
{
	fprintf(stderr, "kvm_floor: %s: %s\n", what, strerror(errno));
	return 1;
}

static int parse_size(const char *s, uint64_t *out)
{
	char *end;
	unsigned long long v;

	errno = 0;
	v = strtoull(s, &end, 0);
	if (errno || end == s)
		return -1;
	switch (*end) {
	case 'G': case 'g': v <<= 30; end++; break;
	case 'M': case 'm': v <<= 20; end++; break;
	case 'K': case 'k': v <<= 10; end++; break;
	default: break;
	}
	if (*end || v < 0x10000 || v % 4096)
		return -1;
	*out = v;
	return 0;
}

int main(int argc, char **argv)
{
	struct kvm_pit_config pit = { .flags = 0 };
	struct kvm_userspace_memory_region region;
	struct kvm_sregs sregs;
	struct kvm_regs regs;
	struct kvm_run *run;
	uint64_t size = 128ull << 20;
	uint8_t *ram;
	int kvm, vm, vcpu;
	long run_size;

	if (argc > 2 || (argc == 2 && parse_size(argv[1], &size))) {
		fprintf(stderr, "usage: kvm_floor [SIZE]  (e.g. 128M, 1G)\n");
		return 1;
	}

	kvm = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	if (kvm < 0)
		return fail("open /dev/kvm");
	vm = ioctl(kvm, KVM_CREATE_VM, 0);
	if (vm < 0)
		return fail("KVM_CREATE_VM");
	/* Intel VMX needs a TSS area for real mode; harmless (or -ENOTTY-free) elsewhere. */
	ioctl(vm, KVM_SET_TSS_ADDR, 0xfffbd000ul);

	ram = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE,
		   -1, 0);
	if (ram == MAP_FAILED)
		return fail("mmap guest RAM");
	/* E6 F4 = out 0xf4, al (Intel SDM vol. 2B, OUT imm8). */
	ram[CODE_GPA] = 0xe6;
	ram[CODE_GPA + 1] = 0xf4;
	region = (struct kvm_userspace_memory_region){
		.slot = 0,
		.guest_phys_addr = 0,
		.memory_size = size,
		.userspace_addr = (uintptr_t)ram,
	};
	if (ioctl(vm, KVM_SET_USER_MEMORY_REGION, &region))
		return fail("KVM_SET_USER_MEMORY_REGION");
	if (ioctl(vm, KVM_CREATE_IRQCHIP, 0))
		return fail("KVM_CREATE_IRQCHIP");
	if (ioctl(vm, KVM_CREATE_PIT2, &pit))
		return fail("KVM_CREATE_PIT2");

	vcpu = ioctl(vm, KVM_CREATE_VCPU, 0);
	if (vcpu < 0)
		return fail("KVM_CREATE_VCPU");
	run_size = ioctl(kvm, KVM_GET_VCPU_MMAP_SIZE, 0);
	if (run_size <= 0)
		return fail("KVM_GET_VCPU_MMAP_SIZE");
	run = mmap(NULL, (size_t)run_size, PROT_READ | PROT_WRITE, MAP_SHARED, vcpu, 0);
	if (run == MAP_FAILED)
		return fail("mmap kvm_run");

	/* Real mode, CS base 0: execution starts at CODE_GPA. */
	if (ioctl(vcpu, KVM_GET_SREGS, &sregs))
		return fail("KVM_GET_SREGS");
	sregs.cs.base = 0;
	sregs.cs.selector = 0;
	if (ioctl(vcpu, KVM_SET_SREGS, &sregs))
		return fail("KVM_SET_SREGS");
	memset(&regs, 0, sizeof(regs));
	regs.rip = CODE_GPA;
	regs.rflags = 0x2; /* bit 1 is reserved, always 1 */
	if (ioctl(vcpu, KVM_SET_REGS, &regs))
		return fail("KVM_SET_REGS");

	for (;;) {
		if (ioctl(vcpu, KVM_RUN, 0) < 0) {
			if (errno == EINTR || errno == EAGAIN)
				continue;
			return fail("KVM_RUN");
		}
		if (run->exit_reason == KVM_EXIT_IO && run->io.port == 0xf4 &&
		    run->io.direction == KVM_EXIT_IO_OUT)
			break;
		fprintf(stderr, "kvm_floor: unexpected exit reason %u\n", run->exit_reason);
		return 1;
	}
	/*
	 * Tear the VM down explicitly, as a VMM does, so that its cost is in the
	 * measured time. Left to exit(), the final release of the VM sometimes
	 * lands in a kernel worker after the process has been reaped (about half
	 * the runs on this host), which makes the floor bimodal and lower than
	 * any VMM that cleans up.
	 */
	munmap(run, (size_t)run_size);
	close(vcpu);
	close(vm);
	munmap(ram, size);
	close(kvm);
	return 0;
}

// SPDX-License-Identifier: MIT
/* vmkit: command dispatch. `vmkit run` boots a VM. */
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cmd.h"
#include "vmkit/chardev.h"
#include "vmkit/dev.h"
#include "vmkit/vm.h"

static const char usage[] = "Usage: vmkit COMMAND [options]\n"
			    "\n"
			    "Commands:\n"
			    "  run       boot a virtual machine (vmkit run --help)\n"
			    "  screenshot  save a running VM's screen as PNG (--help)\n"
			    "  help      show this help\n"
			    "\n"
			    "See vmkit(1).\n";

/* Leave the user's terminal usable even if we crash. */
static void fatal_signal(int sig)
{
	chardev_restore_terminals();
	signal(sig, SIG_DFL);
	raise(sig);
}

static int cmd_run(int argc, char **argv)
{
	struct vm_config cfg;
	struct vm *vm;
	char err[512];
	int r;

	vm_config_init(&cfg);
	r = run_options_parse(argc, argv, &cfg, err, sizeof(err));
	if (r == 1) {
		fputs(run_usage, stdout);
		return 0;
	}
	if (r) {
		fprintf(stderr, "vmkit run: %s\n", err);
		return VMKIT_EXIT_USAGE;
	}
	r = vm_create(&vm, &cfg, err, sizeof(err));
	if (r) {
		fprintf(stderr, "vmkit run: %s\n", err);
		return VMKIT_EXIT_ERROR;
	}
	r = vm_run(vm);
	vm_destroy(vm);
	return r;
}

int main(int argc, char **argv)
{
	static const int fatal[] = { SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGABRT };

	for (unsigned int i = 0; i < sizeof(fatal) / sizeof(fatal[0]); i++)
		signal(fatal[i], fatal_signal);
	if (argc < 2) {
		fputs(usage, stderr);
		return VMKIT_EXIT_USAGE;
	}
	if (!strcmp(argv[1], "run"))
		return cmd_run(argc - 1, argv + 1);
	if (!strcmp(argv[1], "screenshot"))
		return cmd_screenshot(argc - 1, argv + 1);
	if (!strcmp(argv[1], "help") || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
		fputs(usage, stdout);
		return 0;
	}
	if (!strcmp(argv[1], "--version")) {
		puts("vmkit 0.1");
		return 0;
	}
	fprintf(stderr, "vmkit: unknown command '%s' (see vmkit help)\n", argv[1]);
	return VMKIT_EXIT_USAGE;
}

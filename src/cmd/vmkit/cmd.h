/* SPDX-License-Identifier: MIT */
/* vmkit subcommands besides run (src/cmd/vmkit). */
#ifndef VMKIT_CMD_H
#define VMKIT_CMD_H

/* vmkit screenshot --socket PATH OUT.png (screenshot.c); returns the exit status. */
int cmd_screenshot(int argc, char **argv);

#endif

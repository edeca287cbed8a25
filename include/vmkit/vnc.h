/* SPDX-License-Identifier: MIT */
/*
 * vnc: an RFB (RFC 6143) server for one display, built on libvncserver, in
 * its own thread. It pulls frames from a ui_display (never from a vCPU:
 * a guest that draws faster than the network only loses intermediate
 * frames), sends only tiles that changed, resizes the desktop when the guest
 * changes mode, and pushes keys and pointer events to a ui_input.
 */
#ifndef VMKIT_VNC_H
#define VMKIT_VNC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "vmkit/ui.h"

/* --vnc HOST:PORT | :PORT | unix:PATH, then [,password-file=PATH] */
struct vnc_spec {
	char host[256];      /* "" with unix_path set; default 127.0.0.1 */
	unsigned int port;   /* 0: any free port (logged) */
	char unix_path[108]; /* sun_path */
	char password_file[4096];
};

/* Parse a --vnc argument. 0, or -EINVAL with one line in err. */
int vnc_spec_parse(const char *arg, struct vnc_spec *out, char *err, size_t errlen);

struct vnc;

/*
 * Listen and start the server thread. display and input must stay valid
 * until vnc_stop(). NULL with one line in err (cannot bind, bad password file).
 */
struct vnc *vnc_start(const struct vnc_spec *spec, const struct ui_display *display, const struct ui_input *input,
		      char *err, size_t errlen);

/* Disconnect clients, stop the thread, free everything. NULL is fine. */
void vnc_stop(struct vnc *v);

struct vnc_stats {
	uint64_t clients, frames, tiles_sent, resizes;
};
void vnc_get_stats(struct vnc *v, struct vnc_stats *out);

#endif

// SPDX-License-Identifier: MIT
/*
 * The VNC server: libvncserver does the RFB protocol (RFC 6143) and its
 * encodings (raw, hextile, zlib, tight, zrle, ...); this file owns the
 * listening socket (TCP or UNIX), the server thread, and the framebuffer it
 * hands libvncserver. Each round the thread renders the display into a back
 * buffer (a snapshot: vCPUs never wait for the network), copies the 32x16
 * tiles that differ into the RFB framebuffer and marks them modified, then
 * lets libvncserver read client messages and send updates for up to 30 ms.
 * An idle screen renders nothing (the display reports no change) and sends
 * nothing.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <rfb/rfb.h>

#include "vmkit/log.h"
#include "vmkit/util.h"
#include "vmkit/vnc.h"

/* Change-detection granularity: short tiles keep partial updates small. */
#define TILE_W 32
#define TILE_H 16
#define ROUND_US 30000

struct vnc {
	rfbScreenInfoPtr screen;
	struct ui_display display;
	struct ui_input input;
	int listen_fd;
	char unix_path[108];
	pthread_t thread;
	bool thread_started;
	atomic_bool stop;
	bool force; /* a new client: send it the current frame */
	struct ui_surface back;
	uint32_t *fb; /* what libvncserver serves: width x height XRGB */
	uint32_t width, height;
	char password[64];
	char *passwords[2];
	pthread_mutex_t stats_lock;
	struct vnc_stats stats;
};

int vnc_spec_parse(const char *arg, struct vnc_spec *out, char *err, size_t errlen)
{
	const char *comma = strchr(arg, ','), *colon;
	size_t n = comma ? (size_t)(comma - arg) : strlen(arg);
	char addr[512];

	memset(out, 0, sizeof(*out));
	if (n == 0 || n >= sizeof(addr))
		goto bad;
	memcpy(addr, arg, n);
	addr[n] = '\0';
	if (!strncmp(addr, "unix:", 5)) {
		if (!addr[5] || strlen(addr + 5) >= sizeof(out->unix_path)) {
			snprintf(err, errlen, "invalid --vnc '%s' (unix:PATH, PATH up to %zu bytes)", arg,
				 sizeof(out->unix_path) - 1);
			return -EINVAL;
		}
		strcpy(out->unix_path, addr + 5);
	} else {
		uint64_t port;
		colon = strrchr(addr, ':');
		if (!colon)
			goto bad;
		if (parse_uint(colon + 1, 0, 65535, &port))
			goto bad;
		out->port = (unsigned int)port;
		n = (size_t)(colon - addr);
		if (n >= 2 && addr[0] == '[' && addr[n - 1] == ']') { /* [v6addr]:port */
			memcpy(out->host, addr + 1, n - 2);
			out->host[n - 2] = '\0';
		} else if (n) {
			memcpy(out->host, addr, n);
			out->host[n] = '\0';
		} else {
			strcpy(out->host, "127.0.0.1");
		}
		if (!out->host[0])
			goto bad;
	}
	for (const char *o = comma; o; o = strchr(o + 1, ',')) {
		const char *s = o + 1, *end = strchr(s, ',');
		size_t len = end ? (size_t)(end - s) : strlen(s);

		if (len > 14 && !strncmp(s, "password-file=", 14) && len - 14 < sizeof(out->password_file)) {
			memcpy(out->password_file, s + 14, len - 14);
			out->password_file[len - 14] = '\0';
		} else {
			snprintf(err, errlen, "invalid --vnc option '%.*s' (expected password-file=PATH)", (int)len, s);
			return -EINVAL;
		}
	}
	return 0;
bad:
	snprintf(err, errlen, "invalid --vnc '%s' (expected HOST:PORT, :PORT or unix:PATH, then [,password-file=PATH])",
		 arg);
	return -EINVAL;
}

static int listen_tcp(struct vnc *v, const struct vnc_spec *spec, char *err, size_t errlen)
{
	struct addrinfo hints = { .ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM, .ai_flags = AI_PASSIVE };
	struct addrinfo *res, *ai;
	char port[16];
	int r, fd = -1, one = 1;

	snprintf(port, sizeof(port), "%u", spec->port);
	r = getaddrinfo(spec->host, port, &hints, &res);
	if (r) {
		snprintf(err, errlen, "--vnc: cannot resolve '%s': %s", spec->host, gai_strerror(r));
		return -EINVAL;
	}
	for (ai = res; ai; ai = ai->ai_next) {
		fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC | SOCK_NONBLOCK, ai->ai_protocol);
		if (fd < 0)
			continue;
		setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
		if (!bind(fd, ai->ai_addr, ai->ai_addrlen) && !listen(fd, 8))
			break;
		r = -errno;
		close(fd);
		fd = -1;
	}
	freeaddrinfo(res);
	if (fd < 0) {
		snprintf(err, errlen, "--vnc: cannot listen on %s:%u: %s", spec->host, spec->port,
			 strerror(r ? -r : EADDRNOTAVAIL));
		return r ? r : -EADDRNOTAVAIL;
	}
	if (spec->port == 0) {
		struct sockaddr_storage ss;
		socklen_t sl = sizeof(ss);
		char h[NI_MAXHOST], p[NI_MAXSERV];
		if (!getsockname(fd, (struct sockaddr *)&ss, &sl) &&
		    !getnameinfo((struct sockaddr *)&ss, sl, h, sizeof(h), p, sizeof(p), NI_NUMERICHOST | NI_NUMERICSERV))
			log_warn("vnc: listening on %s port %s", h, p);
	}
	v->listen_fd = fd;
	return 0;
}

static int listen_unix(struct vnc *v, const struct vnc_spec *spec, char *err, size_t errlen)
{
	int fd = unix_listen(spec->unix_path, 8, "--vnc", err, errlen);

	if (fd < 0)
		return fd;
	strcpy(v->unix_path, spec->unix_path);
	v->listen_fd = fd;
	return 0;
}

static int read_password(struct vnc *v, const char *path, char *err, size_t errlen)
{
	FILE *f = fopen(path, "r");
	size_t n;

	if (!f) {
		snprintf(err, errlen, "--vnc: cannot read password file %s: %s", path, strerror(errno));
		return -errno;
	}
	if (!fgets(v->password, sizeof(v->password), f))
		v->password[0] = '\0';
	fclose(f);
	n = strcspn(v->password, "\r\n");
	v->password[n] = '\0';
	if (!n) {
		snprintf(err, errlen, "--vnc: password file %s is empty (the first line is the password)", path);
		return -EINVAL;
	}
	/* VNC authentication (RFB s7.2.2) uses at most 8 characters. */
	if (n > 8)
		log_warn("vnc: only the first 8 characters of the password count (RFB VNC authentication)");
	v->passwords[0] = v->password;
	v->passwords[1] = NULL;
	return 0;
}

static void on_key(rfbBool down, rfbKeySym key, rfbClientPtr cl)
{
	struct vnc *v = cl->screen->screenData;

	if (v->input.key)
		v->input.key(v->input.opaque, (uint32_t)key, down);
}

static void on_pointer(int mask, int x, int y, rfbClientPtr cl)
{
	struct vnc *v = cl->screen->screenData;

	/* Clients may send any 16-bit position: clamp to the screen. */
	x = x < 0 ? 0 : (x >= (int)v->width ? (int)v->width - 1 : x);
	y = y < 0 ? 0 : (y >= (int)v->height ? (int)v->height - 1 : y);
	if (v->input.pointer)
		v->input.pointer(v->input.opaque, x, y, mask, (int)v->width, (int)v->height);
}

/* The guest's lock LEDs for clients that asked for the KeyboardLedState pseudo-encoding. */
static int on_leds(struct _rfbScreenInfo *screen)
{
	struct vnc *v = screen->screenData;
	unsigned int l = v->input.leds ? v->input.leds(v->input.opaque) : 0;

	return ((l & UI_LED_CAPS) ? rfbKeyboardMaskCapsLock : 0) | ((l & UI_LED_NUM) ? rfbKeyboardMaskNumLock : 0) |
	       ((l & UI_LED_SCROLL) ? rfbKeyboardMaskScrollLock : 0);
}

static enum rfbNewClientAction on_new_client(rfbClientPtr cl)
{
	struct vnc *v = cl->screen->screenData;

	v->force = true;
	pthread_mutex_lock(&v->stats_lock);
	v->stats.clients++;
	pthread_mutex_unlock(&v->stats_lock);
	return RFB_CLIENT_ACCEPT;
}

/* Copy changed tiles of the back buffer into the RFB framebuffer. */
static void publish(struct vnc *v)
{
	const struct ui_surface *b = &v->back;
	uint64_t tiles = 0;

	if (b->width != v->width || b->height != v->height) {
		uint32_t *fb = malloc((size_t)b->width * b->height * 4);
		if (!fb)
			return;
		memcpy(fb, b->pixels, (size_t)b->width * b->height * 4);
		/* Desktop resize (RFB s7.8.2) for clients that support it; libvncserver handles the rest. */
		rfbNewFramebuffer(v->screen, (char *)fb, (int)b->width, (int)b->height, 8, 3, 4);
		v->screen->serverFormat.redShift = 16;
		v->screen->serverFormat.greenShift = 8;
		v->screen->serverFormat.blueShift = 0;
		free(v->fb);
		v->fb = fb;
		v->width = b->width;
		v->height = b->height;
		rfbMarkRectAsModified(v->screen, 0, 0, (int)v->width, (int)v->height);
		pthread_mutex_lock(&v->stats_lock);
		v->stats.resizes++;
		v->stats.frames++;
		pthread_mutex_unlock(&v->stats_lock);
		return;
	}
	for (uint32_t ty = 0; ty < v->height; ty += TILE_H) {
		uint32_t th = MIN((uint32_t)TILE_H, v->height - ty);
		for (uint32_t tx = 0; tx < v->width; tx += TILE_W) {
			uint32_t tw = MIN((uint32_t)TILE_W, v->width - tx);
			bool diff = false;

			for (uint32_t y = ty; y < ty + th && !diff; y++)
				diff = memcmp(v->fb + (size_t)y * v->width + tx, b->pixels + (size_t)y * b->width + tx,
					      tw * 4) != 0;
			if (!diff)
				continue;
			for (uint32_t y = ty; y < ty + th; y++)
				memcpy(v->fb + (size_t)y * v->width + tx, b->pixels + (size_t)y * b->width + tx, tw * 4);
			rfbMarkRectAsModified(v->screen, (int)tx, (int)ty, (int)(tx + tw), (int)(ty + th));
			tiles++;
		}
	}
	if (tiles) {
		pthread_mutex_lock(&v->stats_lock);
		v->stats.frames++;
		v->stats.tiles_sent += tiles;
		pthread_mutex_unlock(&v->stats_lock);
	}
}

static void accept_clients(struct vnc *v)
{
	for (;;) {
		int fd = accept4(v->listen_fd, NULL, NULL, SOCK_CLOEXEC);
		if (fd < 0)
			return;
		if (!rfbNewClient(v->screen, fd))
			close(fd);
	}
}

static void *vnc_thread(void *arg)
{
	struct vnc *v = arg;

	while (!atomic_load(&v->stop)) {
		struct pollfd p = { .fd = v->listen_fd, .events = POLLIN };

		if (poll(&p, 1, 0) > 0)
			accept_clients(v);
		/* Render only for someone: an unwatched screen costs nothing. */
		if (v->screen->clientHead) {
			int r = v->display.render(v->display.opaque, &v->back, v->force);
			v->force = false;
			if (r > 0)
				publish(v);
		}
		rfbProcessEvents(v->screen, v->screen->clientHead ? ROUND_US : 0);
		if (!v->screen->clientHead)
			poll(&p, 1, ROUND_US / 1000); /* wait for a connection (or the next round) */
	}
	return NULL;
}

struct vnc *vnc_start(const struct vnc_spec *spec, const struct ui_display *display, const struct ui_input *input,
		      char *err, size_t errlen)
{
	struct vnc *v = calloc(1, sizeof(*v));
	sigset_t all, old;
	int r;

	if (!v) {
		snprintf(err, errlen, "out of memory starting VNC");
		return NULL;
	}
	v->listen_fd = -1;
	v->display = *display;
	if (input)
		v->input = *input;
	pthread_mutex_init(&v->stats_lock, NULL);
	if (spec->password_file[0] && read_password(v, spec->password_file, err, errlen))
		goto fail;
	r = spec->unix_path[0] ? listen_unix(v, spec, err, errlen) : listen_tcp(v, spec, err, errlen);
	if (r)
		goto fail;
	v->width = 640;
	v->height = 400;
	v->fb = calloc((size_t)v->width * v->height, 4);
	if (!v->fb)
		goto oom;
	rfbLogEnable(0);
	v->screen = rfbGetScreen(NULL, NULL, (int)v->width, (int)v->height, 8, 3, 4);
	if (!v->screen)
		goto oom;
	v->screen->desktopName = "vmkit";
	v->screen->frameBuffer = (char *)v->fb;
	/* Pixels are 0x00RRGGBB words in host (little-endian) order. */
	v->screen->serverFormat.redShift = 16;
	v->screen->serverFormat.greenShift = 8;
	v->screen->serverFormat.blueShift = 0;
	v->screen->alwaysShared = TRUE;
	v->screen->port = 0; /* we listen ourselves (TCP or UNIX) and hand sockets over */
	v->screen->ipv6port = 0;
	v->screen->httpPort = 0;
	v->screen->cursor = NULL; /* no server-drawn cursor over the guest's pixels */
	v->screen->ignoreSIGPIPE = TRUE;
	v->screen->screenData = v;
	v->screen->kbdAddEvent = on_key;
	v->screen->ptrAddEvent = on_pointer;
	v->screen->newClientHook = on_new_client;
	v->screen->getKeyboardLedStateHook = on_leds;
	if (v->passwords[0]) {
		v->screen->authPasswdData = (void *)v->passwords;
		v->screen->passwordCheck = rfbCheckPasswordByList;
	}
	rfbInitServer(v->screen);
	/*
	 * The thread starts with every signal blocked: process signals (SIGTERM,
	 * SIGINT, ...) belong to the VM's loop thread, which handles them.
	 */
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, &old);
	r = pthread_create(&v->thread, NULL, vnc_thread, v);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (r) {
		snprintf(err, errlen, "cannot start the VNC thread");
		goto fail;
	}
	v->thread_started = true;
	return v;
oom:
	snprintf(err, errlen, "out of memory starting VNC");
fail:
	vnc_stop(v);
	return NULL;
}

void vnc_stop(struct vnc *v)
{
	if (!v)
		return;
	atomic_store(&v->stop, true);
	if (v->thread_started)
		pthread_join(v->thread, NULL);
	if (v->screen) {
		rfbShutdownServer(v->screen, TRUE);
		rfbScreenCleanup(v->screen);
	}
	if (v->listen_fd >= 0)
		close(v->listen_fd);
	if (v->unix_path[0])
		unlink(v->unix_path);
	ui_surface_free(&v->back);
	free(v->fb);
	pthread_mutex_destroy(&v->stats_lock);
	free(v);
}

void vnc_get_stats(struct vnc *v, struct vnc_stats *out)
{
	pthread_mutex_lock(&v->stats_lock);
	*out = v->stats;
	pthread_mutex_unlock(&v->stats_lock);
}

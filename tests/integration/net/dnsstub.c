// SPDX-License-Identifier: MIT
/*
 * dnsstub ADDR PORT NAME IPV4: a minimal DNS server (RFC 1035) for the
 * virtio-net tests: answers A queries for NAME with IPV4, an empty NOERROR
 * for other types of NAME, NXDOMAIN for other names. Runs on the test host
 * (the rig's L1), so a guest's lookup through slirp's DNS forwarder
 * (10.0.2.3) really travels as DNS over UDP. Prints one line per query.
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	struct sockaddr_in sa = { .sin_family = AF_INET };
	struct in_addr ip;
	int fd;

	if (argc != 5 || inet_pton(AF_INET, argv[1], &sa.sin_addr) != 1 || inet_pton(AF_INET, argv[4], &ip) != 1) {
		fprintf(stderr, "usage: dnsstub ADDR PORT NAME IPV4\n");
		return 2;
	}
	sa.sin_port = htons((uint16_t)atoi(argv[2]));
	fd = socket(AF_INET, SOCK_DGRAM, 0);
	if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		perror("dnsstub: bind");
		return 1;
	}
	for (;;) {
		uint8_t q[512], r[600];
		struct sockaddr_in peer;
		socklen_t pl = sizeof(peer);
		ssize_t n = recvfrom(fd, q, sizeof(q), 0, (struct sockaddr *)&peer, &pl);
		char name[256];
		size_t pos = 12, nl = 0, rl;
		uint16_t qtype;
		int match;

		if (n < 17 || (q[2] & 0x80) || q[4] != 0 || q[5] != 1)
			continue; /* not a single-question query */
		while (pos < (size_t)n && q[pos] && q[pos] < 64 && pos + 1 + q[pos] < (size_t)n) {
			if (nl)
				name[nl++] = '.';
			for (int i = 0; i < q[pos] && nl < sizeof(name) - 2; i++)
				name[nl++] = (char)tolower(q[pos + 1 + i]);
			pos += 1 + q[pos];
		}
		name[nl] = '\0';
		if (pos + 5 > (size_t)n || q[pos])
			continue;
		qtype = (uint16_t)(q[pos + 1] << 8 | q[pos + 2]);
		pos += 5; /* end of the question */
		match = !strcasecmp(name, argv[3]);
		memcpy(r, q, pos);
		r[2] = 0x84 | (q[2] & 0x01); /* response, authoritative, copy RD */
		r[3] = match ? 0 : 3;         /* NOERROR / NXDOMAIN */
		r[6] = r[7] = r[8] = r[9] = r[10] = r[11] = 0;
		rl = pos;
		if (match && qtype == 1) {
			static const uint8_t ans[] = { 0xc0, 12, 0, 1, 0, 1, 0, 0, 0, 60, 0, 4 };
			r[7] = 1;
			memcpy(r + rl, ans, sizeof(ans));
			memcpy(r + rl + sizeof(ans), &ip, 4);
			rl += sizeof(ans) + 4;
		}
		printf("dnsstub: %s type %u -> %s\n", name, qtype, match ? (qtype == 1 ? argv[4] : "no data") : "NXDOMAIN");
		fflush(stdout);
		sendto(fd, r, rl, 0, (struct sockaddr *)&peer, pl);
	}
}

// SPDX-License-Identifier: MIT
/*
 * An embedder built against the installed libsandnet (pkg-config or CMake's
 * find_package): create an engine, answer one ARP request, free it.
 */
#include <stdio.h>
#include <string.h>

#include <sandnet/sandnet.h>

static int frames;

static int out(void *user, const void *frame, size_t len)
{
	(void)user;
	(void)frame;
	if (len >= 42)
		frames++;
	return 0;
}

int main(void)
{
	static const unsigned char arp[42] = {
		0x02, 0x73, 0x6e, 0x00, 0x00, 0x01, 0x52, 0x54, 0x00, 0x12, 0x34, 0x56,
		0x08, 0x06, 0x00, 0x01, 0x08, 0x00, 0x06, 0x04, 0x00, 0x01,
		0x52, 0x54, 0x00, 0x12, 0x34, 0x56, 10, 0, 2, 15,
		0, 0, 0, 0, 0, 0, 10, 0, 2, 2,
	};
	struct sn_config cfg;
	struct sn_engine *e;

	sn_config_init(&cfg);
	cfg.output = out;
	e = sn_engine_new(&cfg);
	if (!e) {
		fprintf(stderr, "embed: %s\n", sn_strerror());
		return 1;
	}
	frames = 0;
	sn_engine_input(e, arp, sizeof(arp));
	sn_engine_free(e);
	if (frames != 1) {
		fprintf(stderr, "embed: expected one ARP reply, got %d frames\n", frames);
		return 1;
	}
	puts("embed: ARP answered through the installed libsandnet");
	return 0;
}

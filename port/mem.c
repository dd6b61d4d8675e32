// SPDX-License-Identifier: MIT
/**
 * DOC: Theory of Operation - lwIP's heap (MEM_CUSTOM_ALLOCATOR)
 *
 * lwIP takes its heap and pools from malloc() (lwipopts.h: sizes follow
 * demand, ASan and valgrind see every block). With TAP offload, and at MTU
 * 65520, most of the bytes move in blocks of about 64 KiB: every segment
 * lwIP builds for the guest and every frame the guest sends. When an ACK
 * frees a run of acknowledged segments, glibc finds more than its trim
 * threshold (128 KiB) free at the top of its heap, gives it back (brk),
 * and the next segments fault fresh zeroed pages in again: a download at
 * MTU 65520 made ~400 brk calls a second and moved 1.9-4.4 Gbit/s where
 * a larger trim threshold let it move 10-11 Gbit/s (same machine, back to
 * back). Changing the process's malloc settings is not a library's call,
 * so blocks of that class are kept here instead: a bounded stack of freed
 * ones (SN_MEM_CACHE of them, ~2 MiB at most), reused LIFO while warm;
 * sn_port_mem_drain() frees them when the engine goes.
 *
 * Every block carries a header with its class, so free needs no size.
 * One engine per process, driven from one thread: no locking.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "arch/cc.h"

/* A kept block is memory the checkers must still see as freed, and the
 * tail of a rounded-up one as out of bounds. */
#if defined(__SANITIZE_ADDRESS__)
#define SN_MEM_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define SN_MEM_ASAN 1
#endif
#endif
#ifdef SN_MEM_ASAN
#include <sanitizer/asan_interface.h>
#define mem_noaccess(p, n)	ASAN_POISON_MEMORY_REGION((p), (n))
#define mem_undefined(p, n)	ASAN_UNPOISON_MEMORY_REGION((p), (n))
#elif defined(__has_include)
#if __has_include(<valgrind/memcheck.h>)
#include <valgrind/memcheck.h>
#define mem_noaccess(p, n)	VALGRIND_MAKE_MEM_NOACCESS((p), (n))
#define mem_undefined(p, n)	VALGRIND_MAKE_MEM_UNDEFINED((p), (n))
#endif
#endif
#ifndef mem_noaccess
#define mem_noaccess(p, n)	((void)(p), (void)(n))
#define mem_undefined(p, n)	((void)(p), (void)(n))
#endif

/* Requests from SN_MEM_BIG_MIN up to SN_MEM_BIG bytes share one class of
 * SN_MEM_BIG: lwIP's largest, a PBUF_RAM of 65535 bytes with struct pbuf
 * and room for the link, IP and TCP headers, fits it. */
#define SN_MEM_BIG_MIN		((size_t)16 * 1024)
#define SN_MEM_BIG		((size_t)64 * 1024 + 512)
#define SN_MEM_CACHE		32

/* Keeps what follows aligned as malloc() aligns. */
struct mem_hdr {
	union {
		size_t big;
		max_align_t align;
	} u;
};

static void *mem_cache[SN_MEM_CACHE];
static unsigned mem_cached;

/**
 * sn_port_malloc() - MEM_CUSTOM_MALLOC: a block of at least @size bytes
 * @size:	bytes
 *
 * Return: the block, or NULL
 */
void *sn_port_malloc(size_t size)
{
	int big = size >= SN_MEM_BIG_MIN && size <= SN_MEM_BIG;
	struct mem_hdr *h;

	if (big && mem_cached) {
		h = mem_cache[--mem_cached];
		mem_undefined(h, sizeof(*h) + size);
	} else if (size > SIZE_MAX - sizeof(*h)) {
		return NULL;
	} else {
		h = malloc(sizeof(*h) + (big ? SN_MEM_BIG : size));
		if (!h)
			return NULL;
		if (big)
			mem_noaccess((uint8_t *)(h + 1) + size, SN_MEM_BIG - size);
	}
	h->u.big = (size_t)big;
	return h + 1;
}

/**
 * sn_port_calloc() - MEM_CUSTOM_CALLOC: @count zeroed elements of @size
 * @count:	elements
 * @size:	bytes each
 *
 * Return: the block, or NULL
 */
void *sn_port_calloc(size_t count, size_t size)
{
	void *p;

	if (size && count > SIZE_MAX / size)
		return NULL;
	p = sn_port_malloc(count * size);
	if (p)
		memset(p, 0, count * size);
	return p;
}

/**
 * sn_port_free() - MEM_CUSTOM_FREE: a block back, kept while the cache has room
 * @p:		block from sn_port_malloc() or sn_port_calloc(), or NULL
 */
void sn_port_free(void *p)
{
	struct mem_hdr *h;

	if (!p)
		return;
	h = (struct mem_hdr *)p - 1;
	if (h->u.big && mem_cached < SN_MEM_CACHE) {
		mem_cache[mem_cached++] = h;
		mem_noaccess(h, sizeof(*h) + SN_MEM_BIG);
		return;
	}
	if (h->u.big)	/* free() reads malloc's own bytes, not these */
		mem_undefined(h, sizeof(*h) + SN_MEM_BIG);
	free(h);
}

/**
 * sn_port_mem_drain() - free the blocks the cache keeps
 *
 * Return: how many were freed
 */
unsigned sn_port_mem_drain(void)
{
	unsigned n = mem_cached;

	while (mem_cached) {
		void *h = mem_cache[--mem_cached];

		mem_undefined(h, sizeof(struct mem_hdr) + SN_MEM_BIG);
		free(h);
	}
	return n;
}

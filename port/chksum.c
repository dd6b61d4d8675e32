// SPDX-License-Identifier: MIT
/**
 * DOC: Theory of Operation - the Internet checksum for lwIP (LWIP_CHKSUM)
 *
 * lwIP sums every segment it sends to the guest and, through relay/tcp.c,
 * every TCP segment the guest sends: a third of the instructions per byte
 * moved at MTU 1500 (tests/perf, callgrind) and most of the CPU at MTU
 * 65520 (LWIP-NOTES) went to its best portable algorithm
 * (LWIP_CHKSUM_ALGORITHM 3, 32 bits per step with a branch for the
 * carry). This one adds 64-bit words with the end-around carry in two
 * independent sums, then folds: the same one's complement sum (RFC 1071:
 * it does not depend on the word size, and byte order only swaps the
 * result, as lwIP's own does). Measured on this project's machine (gcc
 * -O2, x86_64): 10.6-15 GB/s against 4-5 GB/s over 1460- and 65480-byte
 * buffers; callgrind counts 10 % fewer instructions per MiB relayed.
 *
 * Words are loaded with memcpy(), so any alignment works; pairing of
 * bytes always starts at @data, which is what lwIP's callers expect (they
 * swap the partial sums of odd-length pieces themselves).
 */
#include <stdint.h>
#include <string.h>

#include "lwip/arch.h"

/**
 * add64() - one's complement addition of a 64-bit word
 * @sum:	running sum
 * @w:		word
 *
 * Return: @sum + @w with the carry added back
 */
static inline uint64_t add64(uint64_t sum, uint64_t w)
{
	sum += w;
	return sum + (sum < w);
}

/**
 * sn_port_chksum() - LWIP_CHKSUM: the one's complement sum of @len bytes
 * @data:	bytes, any alignment
 * @len:	their count, >= 0
 *
 * Return: the 16-bit sum of the bytes taken in pairs from @data, in memory
 *	   order (as lwip_standard_chksum(): folded, not complemented)
 */
u16_t sn_port_chksum(const void *data, int len)
{
	const uint8_t *p = data;
	uint64_t a = 0, b = 0, w, x;
	size_t n = len > 0 ? (size_t)len : 0;
	uint16_t t;

	for (; n >= 32; n -= 32, p += 32) {
		memcpy(&w, p, 8);
		memcpy(&x, p + 8, 8);
		a = add64(a, w);
		b = add64(b, x);
		memcpy(&w, p + 16, 8);
		memcpy(&x, p + 24, 8);
		a = add64(a, w);
		b = add64(b, x);
	}
	for (; n >= 8; n -= 8, p += 8) {
		memcpy(&w, p, 8);
		a = add64(a, w);
	}
	a = add64(a, b);
	for (; n >= 2; n -= 2, p += 2) {
		memcpy(&t, p, 2);
		a = add64(a, t);
	}
	if (n) {
		t = 0;
		memcpy(&t, p, 1);	/* the last byte, paired with a zero */
		a = add64(a, t);
	}
	a = (a & 0xffffffffu) + (a >> 32);
	a = (a & 0xffffffffu) + (a >> 32);
	a = (a & 0xffffu) + (a >> 16);
	a = (a & 0xffffu) + (a >> 16);
	return (u16_t)a;
}

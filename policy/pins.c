// SPDX-License-Identifier: MIT
/**
 * DOC: Theory of Operation - the DNS pin cache
 *
 * Domain rules speak of names; flows carry addresses. The DNS relay tells
 * the cache which addresses each answer gave for the name the guest asked
 * (sn_pins_add()), and the policy asks which names an address was given
 * for (sn_pins_next()). A pin lives as long as the record's TTL, within
 * SN_PIN_MIN_MS..SN_PIN_MAX_MS: long enough for the connection that follows
 * the lookup, never forever. An address never asked for by name has no
 * pin, so a domain rule does not match an IP literal.
 *
 * Bounds: SN_PINS_MAX entries in one array, chained by address hash. When
 * all are live the oldest position of a round-robin hand is reused, after
 * a bounded look for an expired one; a guest that floods lookups only
 * evicts its own older pins. The clock is the caller's (wrapping ms).
 */
#include <string.h>

#include "policy/policy.h"

/**
 * pin_hash() - bucket of an address
 * @ip:		address
 *
 * Return: bucket index
 */
static unsigned pin_hash(const struct sn_ip *ip)
{
	uint32_t h = 2166136261u;
	unsigned i;

	for (i = 0; i < 16; i++)
		h = (h ^ ip->b[i]) * 16777619u;
	return h % SN_PINS_BUCKETS;
}

/**
 * pin_live() - is a pin still valid
 * @p:		pin
 * @now_ms:	clock
 *
 * Return: non-zero if in use and not expired
 */
static int pin_live(const struct sn_pin *p, uint32_t now_ms)
{
	return p->used && (int32_t)(p->until_ms - now_ms) > 0;
}

void sn_pins_init(struct sn_pins *pins)
{
	memset(pins, 0, sizeof(*pins));
}

/**
 * pin_unlink() - take an entry out of its bucket's chain and free it
 * @pins:	cache
 * @idx:	entry index
 */
static void pin_unlink(struct sn_pins *pins, unsigned idx)
{
	struct sn_pin *p = &pins->pin[idx];
	uint16_t *link = &pins->bucket[pin_hash(&p->ip)];

	while (*link && *link != idx + 1)
		link = &pins->pin[*link - 1].next;
	if (*link)
		*link = p->next;
	p->used = 0;
	p->next = 0;
	pins->n_used--;
}

/**
 * pin_take() - an entry for a new pin: free, expired, or the hand's
 * @pins:	cache
 * @now_ms:	clock
 *
 * Return: the entry's index, unlinked and unused
 */
static unsigned pin_take(struct sn_pins *pins, uint32_t now_ms)
{
	unsigned i, idx = pins->clock;

	for (i = 0; i < SN_PINS_MAX; i++) {
		unsigned j = (pins->clock + i) % SN_PINS_MAX;

		if (!pin_live(&pins->pin[j], now_ms)) {
			idx = j;
			break;
		}
	}
	pins->clock = (idx + 1) % SN_PINS_MAX;
	if (pins->pin[idx].used)
		pin_unlink(pins, idx);
	return idx;
}

void sn_pins_add(struct sn_pins *pins, const struct sn_ip *ip, const char *name,
		 uint32_t ttl_s, uint32_t now_ms)
{
	uint64_t ms = (uint64_t)ttl_s * 1000;
	unsigned b = pin_hash(ip), idx;
	struct sn_pin *p;
	uint16_t i;

	if (ms < SN_PIN_MIN_MS)
		ms = SN_PIN_MIN_MS;
	if (ms > SN_PIN_MAX_MS)
		ms = SN_PIN_MAX_MS;
	for (i = pins->bucket[b]; i; i = pins->pin[i - 1].next) {
		p = &pins->pin[i - 1];
		if (memcmp(p->ip.b, ip->b, 16) || strcmp(p->name, name))
			continue;
		if (!pin_live(p, now_ms) || (int32_t)(now_ms + (uint32_t)ms - p->until_ms) > 0)
			p->until_ms = now_ms + (uint32_t)ms;
		return;
	}
	idx = pin_take(pins, now_ms);
	p = &pins->pin[idx];
	p->ip = *ip;
	strncpy(p->name, name, SN_NAME_MAX);
	p->name[SN_NAME_MAX] = '\0';
	p->until_ms = now_ms + (uint32_t)ms;
	p->used = 1;
	p->next = pins->bucket[b];
	pins->bucket[b] = (uint16_t)(idx + 1);
	pins->n_used++;
}

const char *sn_pins_next(const struct sn_pins *pins, const struct sn_ip *ip, uint32_t now_ms,
			 unsigned *iter)
{
	uint16_t i = *iter ? pins->pin[*iter - 1].next : pins->bucket[pin_hash(ip)];

	for (; i; i = pins->pin[i - 1].next) {
		const struct sn_pin *p = &pins->pin[i - 1];

		if (!pin_live(p, now_ms) || memcmp(p->ip.b, ip->b, 16))
			continue;
		*iter = i;
		return p->name;
	}
	*iter = 0;
	return NULL;
}

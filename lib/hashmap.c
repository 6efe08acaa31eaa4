/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "hashmap.h"

#include <errno.h>
#include <stdlib.h>

#define STORED_BIT (UINT64_C(1) << 63)

static struct tm_hashmap_slot *probe_free(struct tm_hashmap_slot *slots, size_t n_slots,
					  uint64_t hash)
{
	size_t mask = n_slots - 1, i = (size_t)hash & mask;

	while (slots[i].hash)
		i = (i + 1) & mask;
	return &slots[i];
}

static int resize(struct tm_hashmap *m, size_t n_slots)
{
	struct tm_hashmap_slot *slots;

	if (n_slots > SIZE_MAX / sizeof(*slots))
		return -ENOMEM;
	slots = calloc(n_slots, sizeof(*slots));
	if (!slots)
		return -ENOMEM;
	for (size_t i = 0; i < m->n_slots; i++)
		if (m->slots[i].hash)
			*probe_free(slots, n_slots, m->slots[i].hash) = m->slots[i];
	free(m->slots);
	m->slots = slots;
	m->n_slots = n_slots;
	return 0;
}

int tm_hashmap_put(struct tm_hashmap *m, uint64_t hash, size_t value)
{
	struct tm_hashmap_slot *s;

	/* At most half full, so that probe sequences stay short and always end. */
	if ((m->n + 1) * 2 > m->n_slots) {
		int r;

		if (m->n_slots > SIZE_MAX / 2)
			return -ENOMEM;
		r = resize(m, m->n_slots ? m->n_slots * 2 : 16);
		if (r < 0)
			return r;
	}
	s = probe_free(m->slots, m->n_slots, hash | STORED_BIT);
	s->hash = hash | STORED_BIT;
	s->value = value;
	m->n++;
	return 0;
}

bool tm_hashmap_next(const struct tm_hashmap *m, uint64_t hash, size_t *cursor, size_t *ret)
{
	size_t mask = m->n_slots - 1;

	if (m->n_slots == 0)
		return false;
	hash |= STORED_BIT;
	/* *cursor counts the slots probed so far from the hash's home slot. */
	for (size_t i = ((size_t)hash + *cursor) & mask; *cursor < m->n_slots && m->slots[i].hash;
	     i = (i + 1) & mask) {
		(*cursor)++;
		if (m->slots[i].hash == hash) {
			*ret = m->slots[i].value;
			return true;
		}
	}
	return false;
}

bool tm_hashmap_contains(const struct tm_hashmap *m, uint64_t hash, size_t value)
{
	size_t cursor = 0, v;

	while (tm_hashmap_next(m, hash, &cursor, &v))
		if (v == value)
			return true;
	return false;
}

void tm_hashmap_clear(struct tm_hashmap *m)
{
	free(m->slots);
	*m = (struct tm_hashmap){0};
}

/* The finalizer of splitmix64: every input bit moves every output bit. */
static uint64_t mix(uint64_t x)
{
	x ^= x >> 30;
	x *= UINT64_C(0xbf58476d1ce4e5b9);
	x ^= x >> 27;
	x *= UINT64_C(0x94d049bb133111eb);
	x ^= x >> 31;
	return x;
}

uint64_t tm_hash_string(const char *s)
{
	/* FNV-1a, then mixed, since linear probing takes the low bits. */
	uint64_t h = UINT64_C(0xcbf29ce484222325);

	if (!s)
		return mix(h ^ UINT64_C(0x9e3779b97f4a7c15));
	for (; *s; s++) {
		h ^= (unsigned char)*s;
		h *= UINT64_C(0x100000001b3);
	}
	return mix(h);
}

uint64_t tm_hash_u64(uint64_t v)
{
	return mix(v + UINT64_C(0x9e3779b97f4a7c15));
}

uint64_t tm_hash_combine(uint64_t h, uint64_t part)
{
	return mix(h ^ (part + UINT64_C(0x9e3779b97f4a7c15) + (h << 6) + (h >> 2)));
}

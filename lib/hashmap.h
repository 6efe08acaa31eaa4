/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * A hash multimap from 64-bit hashes to size_t values, for indexes of model arrays.
 *
 * It stores no keys: the value is normally a position in an array, and the caller compares
 * the element at that position with what it looks for, so that one map serves any key (a
 * name, a pair of names, a number) and survives the array's realloc, which a pointer would
 * not.  Several values may share a hash (collisions, and duplicate keys, which a declared model
 * may hold until verify reports them); lookups visit each of them.
 *
 * Open addressing with linear probing, at most half full, doubling.  No removal: an index is
 * rebuilt, or extended as its array grows.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct tm_hashmap_slot {
	uint64_t hash; /* 0: empty; stored hashes have the top bit set */
	size_t value;
};

struct tm_hashmap {
	struct tm_hashmap_slot *slots;
	size_t n_slots; /* 0 or a power of two */
	size_t n;       /* values stored */
	size_t covered; /* for an index: the array elements looked at (duplicates are not stored) */
};

/* Adds a value under a hash (values already there stay).  0 or -ENOMEM. */
int tm_hashmap_put(struct tm_hashmap *m, uint64_t hash, size_t value);

/*
 * Visits the values put under hash, one per call: set *cursor to 0 first; returns false when
 * there are no more.  Other hashes never show up, but the order of the values is unspecified.
 */
bool tm_hashmap_next(const struct tm_hashmap *m, uint64_t hash, size_t *cursor, size_t *ret);

/* Whether this very value was put under hash: for sets of numbers or of addresses. */
bool tm_hashmap_contains(const struct tm_hashmap *m, uint64_t hash, size_t value);

void tm_hashmap_clear(struct tm_hashmap *m);

/* Hashes for keys: a string (NULL allowed, distinct from ""), a number, and one combined with
   the hash of another part of the key. */
uint64_t tm_hash_string(const char *s);
uint64_t tm_hash_u64(uint64_t v);
uint64_t tm_hash_combine(uint64_t h, uint64_t part);

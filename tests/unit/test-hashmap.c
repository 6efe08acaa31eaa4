/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * lib/hashmap.c, the model's indexes behind the tm_*_find_* lookups (against a linear search
 * of the same arrays), and the geometric growth of tm_grow.
 */
#include "../../lib/hashmap.h"
#include "../../lib/model.h"
#include "../../lib/parse.h"
#include "../../lib/util.h"
#include "tap.h"

/* Every value put under a hash, each once, and nothing else. */
static bool visits_exactly(const struct tm_hashmap *m, uint64_t hash, const size_t *want,
			   size_t n_want)
{
	bool seen[64] = {0};
	size_t cursor = 0, v, n = 0;

	while (tm_hashmap_next(m, hash, &cursor, &v)) {
		size_t i;
		for (i = 0; i < n_want && want[i] != v; i++)
			;
		if (i == n_want || seen[i])
			return false;
		seen[i] = true;
		n++;
	}
	return n == n_want;
}

static void test_hashmap(void)
{
	struct tm_hashmap m = {0};
	size_t cursor = 0, v;
	bool all = true;

	CHECK(!tm_hashmap_next(&m, 1, &cursor, &v), "an empty map has nothing");

	/* Enough values to double the table several times; each found under its own hash. */
	for (size_t i = 0; i < 5000 && all; i++)
		all = tm_hashmap_put(&m, tm_hash_u64(i), i) == 0;
	CHECK(all, "5000 values put");
	CHECK_EQ(m.n, 5000);
	CHECK(m.n_slots >= 2 * m.n, "at most half full (%zu slots)", m.n_slots);
	for (size_t i = 0; i < 5000 && all; i++)
		all = visits_exactly(&m, tm_hash_u64(i), &i, 1);
	CHECK(all, "each value under its hash, alone");
	CHECK(visits_exactly(&m, tm_hash_u64(5000), NULL, 0), "a hash never put has nothing");
	tm_hashmap_clear(&m);
	CHECK(m.n == 0 && m.n_slots == 0 && !m.slots, "cleared");

	/* One hash for many values (duplicate keys, or colliding ones), mixed with others, and a
	   hash whose home slot is the last one, so that its run wraps around. */
	{
		const size_t dup[] = {3, 7, 11, 40, 41, 42, 43, 44, 45, 46};
		uint64_t wrap = UINT64_MAX;

		for (size_t i = 0; i < 50 && all; i++) {
			all = tm_hashmap_put(&m, tm_hash_u64(1000 + i), 1000 + i) == 0;
			for (size_t j = 0; j < ELEMENTSOF(dup) && all; j++)
				if (dup[j] == i)
					all = tm_hashmap_put(&m, 42, i) == 0 &&
					      tm_hashmap_put(&m, wrap, 100 + i) == 0;
		}
		CHECK(all, "values put");
		CHECK(visits_exactly(&m, 42, dup, ELEMENTSOF(dup)), "all ten values of one hash");
		CHECK(tm_hashmap_contains(&m, 42, 40) && !tm_hashmap_contains(&m, 42, 39) &&
			  !tm_hashmap_contains(&m, 43, 40),
		      "contains: that value under that hash only");
		size_t wrapped[ELEMENTSOF(dup)];
		for (size_t j = 0; j < ELEMENTSOF(dup); j++)
			wrapped[j] = 100 + dup[j];
		CHECK(visits_exactly(&m, wrap, wrapped, ELEMENTSOF(dup)),
		      "all values of a hash whose run wraps around the table");
		CHECK(visits_exactly(&m, tm_hash_u64(1049), (size_t[]){1049}, 1),
		      "the others still found");
		tm_hashmap_clear(&m);
	}

	CHECK(tm_hash_string(NULL) != tm_hash_string(""), "NULL and \"\" hash apart");
	CHECK(tm_hash_string("ab") != tm_hash_string("ba"), "order matters");
	CHECK(tm_hash_combine(tm_hash_string("a"), tm_hash_string("bc")) !=
		  tm_hash_combine(tm_hash_string("ab"), tm_hash_string("c")),
	      "a pair of strings is not their concatenation");
}

static void test_grow(void)
{
	unsigned *v = NULL;
	size_t n = 0;
	char **s = NULL;
	size_t n_s = 0;
	bool ok = true;

	for (unsigned i = 0; i < 10000 && ok; i++) {
		unsigned *e = TM_PUSH(v, n);
		ok = e && *e == 0;
		if (ok)
			*e = i * 7;
	}
	CHECK(ok && n == 10000, "10000 zeroed elements appended");
	for (unsigned i = 0; i < n && ok; i++)
		ok = v[i] == i * 7;
	CHECK(ok, "every element kept its value across the reallocations");
	/* Lowering the count (undoing an append) keeps the array usable. */
	n = 5;
	ok = TM_PUSH(v, n) && n == 6 && v[4] == 28 && v[5] == 0;
	CHECK(ok, "appending after the count was lowered");
	free(v);

	for (unsigned i = 0; i < 100 && ok; i++) {
		char buf[16];
		snprintf(buf, sizeof(buf), "s%u", i);
		ok = tm_strv_push(&s, &n_s, buf) == 0;
	}
	CHECK(ok && n_s == 100 && streq(s[0], "s0") && streq(s[99], "s99"), "tm_strv_push");
	for (size_t i = 0; i < n_s; i++)
		free(s[i]);
	free(s);
}

/* A model with duplicate keys, looked up through the index and by a linear search. */
static const char conf[] = "[target iqn.2026-12.test.idx:a]\n"
			   "lun 0 = ramdisk size=1M\n"
			   "lun 1 = ramdisk size=1M name=shared\n"
			   "lun 1 = ramdisk size=1M name=other\n"
			   "portal = 10.0.0.1:3260\n"
			   "portal = 10.0.0.1:3260\n"
			   "initiator = iqn.2026-12.test.idx:i1 iqn.2026-12.test.idx:i2\n"
			   "[initiator iqn.2026-12.test.idx:i1]\n"
			   "luns = 0 1\n"
			   "[target iqn.2026-12.test.idx:b]\n"
			   "lun 0 = ramdisk size=1M name=shared\n"
			   "[target iqn.2026-12.test.idx:a]\n"
			   "lun 5 = ramdisk size=1M\n";

static void test_index(void)
{
	_cleanup_config_ struct tm_config *c = tm_config_new();
	struct tm_diags d = {0};
	struct tm_target *t;
	bool ok = true;

	if (!CHECK(c && tm_parse_string("idx.conf", conf, c, &d) >= 0 && d.n_errors == 0,
		   "parsed (verify would report the duplicates)")) {
		tm_diags_clear(&d);
		return;
	}
	tm_diags_clear(&d);
	if (!CHECK(c->n_targets == 3 && c->targets[0].n_luns == 3, "three targets, three LUNs"))
		return;
	t = &c->targets[0];
	CHECK(c->target_index.covered == c->n_targets && t->lun_index.covered == t->n_luns &&
		  c->backstore_index.covered == c->n_backstores,
	      "the parser indexed everything");

	/* The first of duplicates, whether indexed or not. */
	for (int pass = 0; pass < 2; pass++) {
		const char *how = pass ? "linear" : "indexed";

		CHECK(tm_config_find_target(c, "iqn.2026-12.test.idx:a") == &c->targets[0],
		      "%s: the first of two targets with one IQN", how);
		CHECK(tm_config_find_target(c, "iqn.2026-12.test.idx:b") == &c->targets[1],
		      "%s: target b", how);
		CHECK(!tm_config_find_target(c, "iqn.2026-12.test.idx:c"), "%s: no target c", how);
		CHECK(tm_target_find_lun(t, 1) == &t->luns[1], "%s: the first LUN 1", how);
		CHECK(!tm_target_find_lun(t, 2), "%s: no LUN 2", how);
		CHECK(tm_target_find_portal(t, "10.0.0.1:3260") == &t->portals[0],
		      "%s: the first of two portals", how);
		CHECK(tm_target_find_acl(t, "iqn.2026-12.test.idx:i2") == &t->acls[1], "%s: ACL i2",
		      how);
		CHECK(tm_acl_find_mapped_lun(&t->acls[0], 1) == &t->acls[0].mapped_luns[1],
		      "%s: mapped LUN 1", how);
		for (size_t i = 0; i < c->n_backstores; i++) {
			const struct tm_backstore *b = &c->backstores[i];
			const struct tm_backstore *f = tm_config_find_backstore(c, b->hba, b->name);
			size_t first = 0;

			while (!streq(c->backstores[first].hba, b->hba) ||
			       !streq(c->backstores[first].name, b->name))
				first++;
			ok = ok && f == &c->backstores[first];
		}
		CHECK(ok, "%s: each backstore finds the first with its HBA and name", how);
		CHECK(!tm_config_find_backstore(c, "rd_mcp_1000", "nothing"), "%s: no such", how);
		tm_config_unindex(c);
		CHECK(c->target_index.covered == 0 && t->lun_index.covered == 0, "unindexed");
	}

	/* Appending makes the index partial: lookups stay right (linear), and indexing again
	   covers the new element. */
	CHECK_INT(tm_config_index(c), 0, "indexed again");
	struct tm_lun *l = TM_PUSH(t->luns, t->n_luns);
	if (!CHECK(l, "a LUN appended"))
		return;
	t = &c->targets[0];
	l->number = 9;
	CHECK(tm_target_find_lun(t, 9) == l, "an appended LUN is found before indexing");
	CHECK(t->lun_index.covered == t->n_luns - 1, "the index does not cover it yet");
	CHECK_INT(tm_config_index(c), 0, "indexed again");
	CHECK(t->lun_index.covered == t->n_luns && tm_target_find_lun(t, 9) == l,
	      "the index covers it and finds it");
	CHECK(tm_config_intern_file(c, "idx.conf") == c->files[0] && c->n_files == 1,
	      "a file name is interned once");
}

int main(void)
{
	test_hashmap();
	test_grow();
	test_index();
	return tap_done();
}

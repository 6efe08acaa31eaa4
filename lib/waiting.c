/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "waiting.h"

#include <errno.h>
#include <sys/stat.h>

#include "system.h"
#include "verify.h"

bool tm_device_present(const char *path, void *userdata _unused_)
{
	struct stat st;

	return stat(path, &st) == 0 || (errno != ENOENT && errno != ENOTDIR);
}

/* Moved objects carry origins that point into the source config's file names; the waiting
   config gets copies of its own, so that either config can be freed first. */
static int rehome_origin(struct tm_config *w, struct tm_origin *o)
{
	if (!o->file)
		return 0;
	o->file = tm_config_intern_file(w, o->file);
	return o->file ? 0 : -ENOMEM;
}

static int rehome_settings(struct tm_config *w, struct tm_settings *s)
{
	for (size_t i = 0; i < s->n; i++)
		if (rehome_origin(w, &s->v[i].origin) < 0)
			return -ENOMEM;
	return 0;
}

/* Removes element i of an array of n elements of the given size, keeping the order. */
static void array_remove(void *array, size_t *n, size_t size, size_t i)
{
	char *a = array;

	memmove(a + i * size, a + (i + 1) * size, (*n - i - 1) * size);
	(*n)--;
}

static struct tm_target *waiting_target(struct tm_config *w, const struct tm_target *t)
{
	struct tm_target *wt = tm_config_find_target(w, t->iqn);

	if (wt)
		return wt;
	wt = TM_PUSH(w->targets, w->n_targets);
	if (!wt)
		return NULL;
	wt->tpgt = t->tpgt;
	wt->origin = t->origin;
	wt->iqn = strdup(t->iqn);
	if (!wt->iqn || rehome_origin(w, &wt->origin) < 0)
		return NULL; /* freed with w */
	return wt;
}

static struct tm_acl *waiting_acl(struct tm_config *w, struct tm_target *wt, const struct tm_acl *a)
{
	struct tm_acl *wa = tm_target_find_acl(wt, a->initiator);

	if (wa)
		return wa;
	wa = TM_PUSH(wt->acls, wt->n_acls);
	if (!wa)
		return NULL;
	wa->origin = a->origin;
	wa->initiator = strdup(a->initiator);
	if (!wa->initiator || rehome_origin(w, &wa->origin) < 0)
		return NULL;
	return wa;
}

/* Moves LUN i of t, and the mapped LUNs that point at it, into w.  Each object is pushed
   onto w before it leaves config, so that on ENOMEM it is in exactly one of them. */
static int move_lun(struct tm_config *w, struct tm_target *t, size_t i)
{
	struct tm_target *wt = waiting_target(w, t);
	unsigned number = t->luns[i].number;
	struct tm_lun *wl;

	if (!wt)
		return -ENOMEM;
	for (size_t j = 0; j < t->n_acls; j++) {
		struct tm_acl *a = &t->acls[j];

		for (size_t k = 0; k < a->n_mapped_luns;) {
			struct tm_acl *wa;
			struct tm_mapped_lun *wm;

			if (a->mapped_luns[k].lun != number) {
				k++;
				continue;
			}
			wa = waiting_acl(w, wt, a);
			if (!wa)
				return -ENOMEM;
			wm = TM_PUSH(wa->mapped_luns, wa->n_mapped_luns);
			if (!wm)
				return -ENOMEM;
			*wm = a->mapped_luns[k];
			array_remove(a->mapped_luns, &a->n_mapped_luns, sizeof(*wm), k);
			if (rehome_origin(w, &wm->origin) < 0 ||
			    rehome_settings(w, &wm->settings) < 0)
				return -ENOMEM;
		}
	}
	wl = TM_PUSH(wt->luns, wt->n_luns);
	if (!wl)
		return -ENOMEM;
	*wl = t->luns[i];
	array_remove(t->luns, &t->n_luns, sizeof(*wl), i);
	return rehome_origin(w, &wl->origin) < 0 ? -ENOMEM : rehome_settings(w, &wl->settings);
}

int tm_waiting_split(struct tm_config *config, tm_device_present_t present, void *userdata,
		     struct tm_config **ret_waiting)
{
	_cleanup_config_ struct tm_config *w = tm_config_new();
	int n = 0, r;

	if (!w)
		return -ENOMEM;
	if (!present)
		present = tm_device_present;

	for (size_t i = 0; i < config->n_backstores;) {
		struct tm_backstore *b = &config->backstores[i], *wb;

		if (b->type != TM_BACKSTORE_IBLOCK || !b->path || present(b->path, userdata)) {
			i++;
			continue;
		}
		wb = TM_PUSH(w->backstores, w->n_backstores);
		if (!wb)
			return -ENOMEM;
		*wb = *b;
		array_remove(config->backstores, &config->n_backstores, sizeof(*b), i);
		if (rehome_origin(w, &wb->origin) < 0 || rehome_settings(w, &wb->settings) < 0)
			return -ENOMEM;
		for (size_t j = 0; j < wb->n_alua_groups; j++)
			if (rehome_origin(w, &wb->alua_groups[j].origin) < 0 ||
			    rehome_settings(w, &wb->alua_groups[j].settings) < 0)
				return -ENOMEM;
	}

	for (size_t i = 0; i < config->n_targets; i++) {
		struct tm_target *t = &config->targets[i];

		for (size_t j = 0; j < t->n_luns;) {
			const struct tm_lun *l = &t->luns[j];

			if (!tm_config_find_backstore(w, l->backstore_hba, l->backstore_name)) {
				j++;
				continue;
			}
			r = move_lun(w, t, j);
			if (r < 0)
				return r;
			n++;
		}
	}

	*ret_waiting = TAKE_PTR(w);
	return n;
}

size_t tm_waiting_count(const struct tm_config *waiting)
{
	size_t n = 0;

	for (size_t i = 0; waiting && i < waiting->n_targets; i++)
		n += waiting->targets[i].n_luns;
	return n;
}

void tm_waiting_print(FILE *f, const struct tm_config *waiting)
{
	for (size_t i = 0; waiting && i < waiting->n_targets; i++) {
		const struct tm_target *t = &waiting->targets[i];

		for (size_t j = 0; j < t->n_luns; j++) {
			const struct tm_lun *l = &t->luns[j];
			const struct tm_backstore *b = tm_waiting_backstore(waiting, l);

			fprintf(f, "  %s LUN %u: %s (%s:%u)\n", t->iqn, l->number,
				b && b->path ? b->path : "?", l->origin.file ? l->origin.file : "?",
				l->origin.line);
		}
	}
}

const struct tm_backstore *tm_waiting_backstore(const struct tm_config *waiting,
						const struct tm_lun *lun)
{
	return tm_config_find_backstore(waiting, lun->backstore_hba, lun->backstore_name);
}

int tm_declared_prepare(struct tm_config *config, unsigned verify_flags,
			tm_device_present_t present, void *userdata, struct tm_config **ret_waiting,
			struct tm_diags *diags)
{
	_cleanup_config_ struct tm_config *waiting = NULL;
	int errors, r;

	/* The rules that do not depend on the host hold for waiting LUNs too: a duplicate
	   serial is an error before the device appears, not after. */
	errors = tm_verify(config, verify_flags & ~TM_VERIFY_HOST, diags);
	if (errors > 0)
		return errors;
	r = tm_waiting_split(config, present, userdata, &waiting);
	if (r < 0)
		return r;
	for (size_t i = 0; i < waiting->n_targets; i++) {
		const struct tm_target *t = &waiting->targets[i];

		for (size_t j = 0; j < t->n_luns; j++) {
			const struct tm_lun *l = &t->luns[j];
			const struct tm_backstore *b = tm_waiting_backstore(waiting, l);

			r = tm_diag_add(diags, TM_WARNING, l->origin.file, l->origin.line,
					"LUN %u of %s waits for %s, which does not exist yet: "
					"it is attached when the device appears",
					l->number, t->iqn, b && b->path ? b->path : "its device");
			if (r < 0)
				return r;
		}
	}
	if (verify_flags & TM_VERIFY_HOST) {
		errors = tm_verify(config, verify_flags, diags);
		if (errors == 0)
			errors = tm_check_devices_mounted(config, NULL, diags);
		if (errors == 0) {
			r = tm_probe_thin_provisioning(config, NULL);
			if (r < 0)
				return r;
		}
	}
	if (ret_waiting)
		*ret_waiting = TAKE_PTR(waiting);
	return errors;
}

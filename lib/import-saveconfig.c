/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * targetcli's saveconfig.json (what rtslib-fb's RTSRoot.dump() writes and targetctl restores),
 * read with json-c.  The file is a dump of everything LIO had, defaults included: settings are
 * carried where they differ from what LIO gives a new object, so that the target files say
 * what the administrator chose.  JSON has no useful lines: messages name the object instead
 * ("storage_objects[2] (disk1)", "targets[0].tpgs[0] (iqn...)").
 */
#include <json-c/json.h>

#include "import.h"
#include "layout.h"
#include "policy.h"
#include "syntax.h"
#include "util.h"

struct ctx {
	struct tm_config *c;
	struct tm_diags *d;
	struct tm_origin o; /* the file, line 0 */
};

static const char *get_string(json_object *o, const char *key)
{
	json_object *v;

	if (!json_object_object_get_ex(o, key, &v) || json_object_is_type(v, json_type_null))
		return NULL;
	return json_object_get_string(v);
}

static bool get_bool(json_object *o, const char *key)
{
	json_object *v;

	return json_object_object_get_ex(o, key, &v) && json_object_get_boolean(v);
}

static json_object *get_array(json_object *o, const char *key)
{
	json_object *v;

	return json_object_object_get_ex(o, key, &v) && json_object_is_type(v, json_type_array)
		   ? v
		   : NULL;
}

/*
 * The "attributes" or "parameters" object of an object into s as prefix + name, where a value
 * differs from LIO's default; where: the object, for messages.
 */
static int carry_settings(struct ctx *x, json_object *obj, const char *key, const char *prefix,
			  enum tm_obj_kind kind, enum tm_backstore_type type, struct tm_settings *s,
			  const char *where, bool closed)
{
	json_object *set;

	if (!json_object_object_get_ex(obj, key, &set) ||
	    !json_object_is_type(set, json_type_object))
		return 0;
	json_object_object_foreach(set, name, value)
	{
		const char *v = json_object_get_string(value);
		_cleanup_free_ char *path = tm_strdupf("%s%s", prefix, name);
		int k;

		if (!path)
			return -ENOMEM;
		if (!v)
			continue;
		k = tm_policy_is_lio_default(kind, type, path, v);
		/* Linux 6.1 dereferences a NULL file in fd_configure_unmap() when emulate_tpu or
		   emulate_tpws is set on a fileio backstore before it is enabled, which is when
		   targetmgr writes attributes (found in tests/vm/guest/import.sh). */
		if (kind == TM_OBJ_BACKSTORE && type != TM_BACKSTORE_IBLOCK &&
		    (streq(name, "emulate_tpu") || streq(name, "emulate_tpws")) && !streq(v, "0")) {
			tm_import_warn(x->d, x->o,
				       "%s: %s %s = %s: not carried: the kernel crashes when it is "
				       "set on a file backstore before the backstore is enabled, "
				       "which is when targetmgr sets attributes; UNMAP stays off",
				       where, key, name, v);
			continue;
		}
		/* What the parser derives (generate_node_acls, ...) goes to the writer as is: it
		   leaves out what the target file implies. */
		k = tm_policy_tpg_attr_from_path(path) >= 0 ? 0 : k;
		/* ... except those that mean nothing for a target that names its initiators. */
		if (closed && tm_policy_tpg_attr_from_path(path) >= 0 &&
		    !tm_policy_tpg_value(tm_policy_tpg_attr_from_path(path), false, false))
			continue;
		if (k == 1 || k == -1)
			continue;
		if (k == -2 && !tm_syntax_setting_name_ok(name)) {
			tm_import_warn(x->d, x->o,
				       "%s: %s %s = %s: not a setting LIO has: not carried", where,
				       key, name, v);
			continue;
		}
		if (tm_settings_set(s, path, v, false, x->o) < 0)
			return -ENOMEM;
	}
	return 0;
}

/*
 * An ALUA group of a storage object (alua_tpgs[]), as the scanner reads one: its id, and
 * alua_access_type, alua_access_state and preferred as LIO's numbers; the writer turns the
 * groups LUNs are in into [alua NAME] sections.  LIO's default group is every LUN's already.
 */
static int carry_alua_group(struct ctx *x, json_object *tpg, struct tm_backstore *b,
			    const char *where)
{
	static const char *const keys[][2] = {
	    {"alua_access_type", TM_LAYOUT_ALUA_TYPE},
	    {"alua_access_state", TM_LAYOUT_ALUA_STATE},
	    {"preferred", TM_LAYOUT_ALUA_PREFERRED},
	};
	const char *name = get_string(tpg, "name");
	json_object *id;
	struct tm_alua_group *g;

	if (!name || streq(name, TM_LAYOUT_ALUA_DEFAULT_GROUP))
		return 0;
	if (!tm_syntax_alua_group_name_ok(name))
		return tm_import_warn(x->d, x->o,
				      "%s: ALUA group %s: not a name target files take (1 to 64 of "
				      "A-Z a-z 0-9 . _ -): not carried, its LUNs are in LIO's "
				      "default group",
				      where, name);
	g = TM_PUSH(b->alua_groups, b->n_alua_groups);
	if (!g || !(g->name = strdup(name)))
		return -ENOMEM;
	g->origin = x->o;
	if (json_object_object_get_ex(tpg, "tg_pt_gp_id", &id) && json_object_get_int(id) > 0 &&
	    json_object_get_int(id) <= (int)TM_SYNTAX_ALUA_ID_MAX)
		g->id = (unsigned)json_object_get_int(id);
	for (size_t i = 0; i < ELEMENTSOF(keys); i++) {
		const char *v = get_string(tpg, keys[i][0]);
		if (v && tm_settings_set(&g->settings, keys[i][1], v, false, x->o) < 0)
			return -ENOMEM;
	}
	return 0;
}

static int carry_chap(struct ctx *x, json_object *obj, struct tm_settings *s, const char *prefix)
{
	for (int mutual = 0; mutual < 2; mutual++) {
		const char *user = get_string(obj, mutual ? "chap_mutual_userid" : "chap_userid");
		const char *secret =
		    get_string(obj, mutual ? "chap_mutual_password" : "chap_password");

		if (user && *user &&
		    tm_import_set_chap(s, prefix, mutual, user, secret ? secret : "", x->o) < 0)
			return -ENOMEM;
	}
	return 0;
}

static int storage_objects(struct ctx *x, json_object *root)
{
	json_object *list = get_array(root, "storage_objects");

	for (size_t i = 0; list && i < json_object_array_length(list); i++) {
		json_object *so = json_object_array_get_idx(list, i);
		const char *name = get_string(so, "name"), *plugin = get_string(so, "plugin");
		const char *dev = get_string(so, "dev"), *wwn = get_string(so, "wwn");
		json_object *alua = get_array(so, "alua_tpgs");
		_cleanup_free_ char *where =
		    tm_strdupf("storage_objects[%zu] (%s)", i, name ? name : "?");
		enum tm_backstore_type type;
		struct tm_backstore *b;
		json_object *size, *write_back;

		if (!where)
			return -ENOMEM;
		if (!name || !plugin) {
			tm_import_warn(x->d, x->o, "%s: no name or plugin: not carried", where);
			continue;
		}
		if (streq(plugin, "block"))
			type = TM_BACKSTORE_IBLOCK;
		else if (streq(plugin, "fileio"))
			type = TM_BACKSTORE_FILEIO;
		else if (streq(plugin, "ramdisk"))
			type = TM_BACKSTORE_RAMDISK;
		else {
			tm_import_warn(x->d, x->o,
				       "%s: plugin %s: targetmgr manages block, fileio and ramdisk "
				       "backstores: not carried, nor the LUNs it serves",
				       where, plugin);
			continue;
		}
		if (type != TM_BACKSTORE_RAMDISK && !dev) {
			tm_import_warn(x->d, x->o, "%s: no dev: not carried", where);
			continue;
		}
		if (json_object_object_get_ex(so, "size", &size) &&
		    (json_object_get_int64(size) < 0 ||
		     (uint64_t)json_object_get_int64(size) > tm_syntax_size_max(type))) {
			tm_import_warn(x->d, x->o,
				       "%s: size %s: not a size LIO serves: not carried", where,
				       json_object_get_string(size));
			continue;
		}
		b = tm_import_add_backstore(x->c, type, name,
					    type == TM_BACKSTORE_RAMDISK ? NULL : dev, x->o);
		if (!b)
			return -ENOMEM;
		if (json_object_object_get_ex(so, "size", &size))
			b->size = (uint64_t)json_object_get_int64(size);
		b->readonly = get_bool(so, "readonly");
		b->nullio = get_bool(so, "nullio");
		if (wwn && !(b->serial = strdup(wwn)))
			return -ENOMEM;
		/* rtslib's write_back=false opens the file O_DSYNC: targetmgr's write-through.
		   write_back=true is targetmgr's default (buffered, WCE=1). */
		b->write_through = type == TM_BACKSTORE_FILEIO &&
				   json_object_object_get_ex(so, "write_back", &write_back) &&
				   !json_object_get_boolean(write_back);
		if (carry_settings(x, so, "attributes", "attrib/", TM_OBJ_BACKSTORE, type,
				   &b->settings, where, false) < 0)
			return -ENOMEM;
		for (size_t j = 0; alua && j < json_object_array_length(alua); j++)
			if (carry_alua_group(x, json_object_array_get_idx(alua, j), b, where) < 0)
				return -ENOMEM;
	}
	return 0;
}

/* "/backstores/block/disk1" -> the backstore. */
static const struct tm_backstore *find_storage_object(const struct tm_config *c, const char *ref)
{
	static const struct {
		const char *dir;
		enum tm_backstore_type type;
	} dirs[] = {{"block", TM_BACKSTORE_IBLOCK},
		    {"fileio", TM_BACKSTORE_FILEIO},
		    {"ramdisk", TM_BACKSTORE_RAMDISK}};
	const char *rest = ref ? startswith(ref, "/backstores/") : NULL;

	for (size_t i = 0; rest && i < ELEMENTSOF(dirs); i++) {
		const char *name = startswith(rest, dirs[i].dir);
		_cleanup_free_ char *hba = NULL;

		if (!name || *name != '/')
			continue;
		hba = tm_backstore_hba(dirs[i].type, name + 1);
		return hba ? tm_config_find_backstore(c, hba, name + 1) : NULL;
	}
	return NULL;
}

static int portals(struct ctx *x, json_object *tpg, struct tm_target *t, const char *where)
{
	json_object *list = get_array(tpg, "portals");

	free(t->portals[0].address); /* the default, replaced by what the file lists */
	t->n_portals = 0;
	for (size_t i = 0; list && i < json_object_array_length(list); i++) {
		json_object *p = json_object_array_get_idx(list, i);
		const char *ip = get_string(p, "ip_address");
		json_object *port;
		struct tm_portal *np;

		if (!ip)
			continue;
		if (get_bool(p, "iser") || get_bool(p, "offload"))
			tm_import_warn(x->d, x->o,
				       "%s: portal %s: %s is on, which target files do not set: "
				       "served over plain TCP",
				       where, ip, get_bool(p, "iser") ? "iser" : "offload");
		if (!json_object_object_get_ex(p, "port", &port))
			port = NULL;
		np = TM_PUSH(t->portals, t->n_portals);
		if (!np)
			return -ENOMEM;
		np->origin = x->o;
		np->address = tm_strdupf(strchr(ip, ':') ? "[%s]:%d" : "%s:%d", ip,
					 port ? json_object_get_int(port) : 3260);
		if (!np->address)
			return -ENOMEM;
	}
	return 0;
}

static int tpg_luns(struct ctx *x, json_object *tpg, struct tm_target *t, const char *where)
{
	json_object *list = get_array(tpg, "luns");

	for (size_t i = 0; list && i < json_object_array_length(list); i++) {
		json_object *l = json_object_array_get_idx(list, i);
		const char *so = get_string(l, "storage_object");
		const char *group = get_string(l, "alua_tg_pt_gp_name");
		const struct tm_backstore *b = find_storage_object(x->c, so);
		json_object *index;
		struct tm_lun *lun;

		if (!json_object_object_get_ex(l, "index", &index)) {
			tm_import_warn(x->d, x->o, "%s: luns[%zu]: no index: not carried", where,
				       i);
			continue;
		}
		if (!b) {
			tm_import_warn(x->d, x->o,
				       "%s: LUN %d: storage object %s is not carried: LUN not "
				       "carried",
				       where, json_object_get_int(index), so ? so : "(none)");
			continue;
		}
		lun = tm_import_add_lun(t, (unsigned)json_object_get_int(index), b, x->o);
		if (!lun)
			return -ENOMEM;
		if (!group || streq(group, TM_LAYOUT_ALUA_DEFAULT_GROUP))
			continue;
		if (!tm_backstore_find_alua_group(b, group))
			tm_import_warn(x->d, x->o,
				       "%s: LUN %d: ALUA group %s is not a carried group of its "
				       "storage object %s: the LUN is in LIO's default group",
				       where, json_object_get_int(index), group, b->name);
		else if (tm_settings_set(&lun->settings, TM_LAYOUT_LUN_ALUA_GROUP, group, false,
					 x->o) < 0)
			return -ENOMEM;
	}
	return 0;
}

/* Whether a carried LUN of backstore b is in its group g. */
static bool alua_group_used(const struct tm_config *c, const struct tm_backstore *b,
			    const struct tm_alua_group *g)
{
	for (size_t i = 0; i < c->n_targets; i++)
		for (size_t j = 0; j < c->targets[i].n_luns; j++) {
			const struct tm_lun *l = &c->targets[i].luns[j];
			const struct tm_setting *s =
			    tm_settings_find(&l->settings, TM_LAYOUT_LUN_ALUA_GROUP);

			if (s && streq(s->value, g->name) && streq(l->backstore_hba, b->hba) &&
			    streq(l->backstore_name, b->name))
				return true;
		}
	return false;
}

/* Target files declare the groups LUNs are in: a group no LUN is in is not written. */
static int warn_idle_alua_groups(struct ctx *x)
{
	for (size_t i = 0; i < x->c->n_backstores; i++) {
		const struct tm_backstore *b = &x->c->backstores[i];

		for (size_t j = 0; j < b->n_alua_groups; j++) {
			int r = 0;
			if (!alua_group_used(x->c, b, &b->alua_groups[j]))
				r = tm_import_warn(
				    x->d, x->o,
				    "storage object %s: ALUA group %s has no LUN: not "
				    "carried",
				    b->name, b->alua_groups[j].name);
			if (r < 0)
				return r;
		}
	}
	return 0;
}

static int node_acls(struct ctx *x, json_object *tpg, struct tm_target *t, const char *where)
{
	json_object *list = get_array(tpg, "node_acls");

	for (size_t i = 0; list && i < json_object_array_length(list); i++) {
		json_object *acl = json_object_array_get_idx(list, i);
		const char *wwn = get_string(acl, "node_wwn"), *tag = get_string(acl, "tag");
		json_object *mapped = get_array(acl, "mapped_luns");
		_cleanup_free_ char *aw = tm_strdupf("%s: node ACL %s", where, wwn ? wwn : "?");
		struct tm_acl *a;

		if (!aw)
			return -ENOMEM;
		if (!wwn)
			continue;
		if (tag)
			tm_import_warn(x->d, x->o,
				       "%s: tag %s: targetcli's ACL groups are not "
				       "carried; the ACL is",
				       aw, tag);
		a = tm_import_add_acl(t, wwn, false, x->o);
		if (!a)
			return -ENOMEM;
		for (size_t j = 0; mapped && j < json_object_array_length(mapped); j++) {
			json_object *m = json_object_array_get_idx(mapped, j), *idx, *lun;

			if (!json_object_object_get_ex(m, "index", &idx) ||
			    !json_object_object_get_ex(m, "tpg_lun", &lun))
				continue;
			if (!tm_import_add_mapped_lun(a, (unsigned)json_object_get_int(idx),
						      (unsigned)json_object_get_int(lun),
						      get_bool(m, "write_protect"), x->o))
				return -ENOMEM;
		}
		if (carry_chap(x, acl, &a->settings, "auth/") < 0 ||
		    carry_settings(x, acl, "attributes", "attrib/", TM_OBJ_ACL, 0, &a->settings, aw,
				   false) < 0)
			return -ENOMEM;
	}
	return 0;
}

static int targets(struct ctx *x, json_object *root)
{
	json_object *list = get_array(root, "targets");

	for (size_t i = 0; list && i < json_object_array_length(list); i++) {
		json_object *tj = json_object_array_get_idx(list, i);
		const char *wwn = get_string(tj, "wwn"), *fabric = get_string(tj, "fabric");
		json_object *tpgs = get_array(tj, "tpgs"), *tpg, *tag, *attrs, *gna;
		_cleanup_free_ char *where = tm_strdupf("targets[%zu] (%s)", i, wwn ? wwn : "?");
		struct tm_target *t;
		bool open;
		int k;

		if (!where)
			return -ENOMEM;
		if (!wwn || !fabric || !streq(fabric, "iscsi")) {
			tm_import_warn(x->d, x->o,
				       "%s: fabric %s: targetmgr serves iSCSI: not carried", where,
				       fabric ? fabric : "(none)");
			continue;
		}
		if (!tpgs || json_object_array_length(tpgs) == 0) {
			tm_import_warn(x->d, x->o, "%s: no TPG: not carried", where);
			continue;
		}
		for (size_t j = 1; j < json_object_array_length(tpgs); j++)
			tm_import_warn(
			    x->d, x->o,
			    "%s: tpgs[%zu]: targetmgr serves one portal group per target: "
			    "only the first is carried",
			    where, j);
		tpg = json_object_array_get_idx(tpgs, 0);
		open = json_object_object_get_ex(tpg, "attributes", &attrs) &&
		       json_object_object_get_ex(attrs, "generate_node_acls", &gna) &&
		       json_object_get_int(gna) == 1;
		t = tm_import_add_target(x->c, wwn, open, x->o);
		if (!t)
			return -ENOMEM;
		if (json_object_object_get_ex(tpg, "tag", &tag))
			t->tpgt = (unsigned)json_object_get_int(tag);
		if (!get_bool(tpg, "enable") &&
		    tm_settings_set(&t->settings, "enable", "0", false, x->o) < 0)
			return -ENOMEM;
		k = portals(x, tpg, t, where);
		if (k >= 0)
			k = tpg_luns(x, tpg, t, where);
		if (k >= 0)
			k = node_acls(x, tpg, t, where);
		if (k >= 0)
			k = carry_chap(x, tpg, &t->settings, "auth/");
		if (k >= 0)
			k = carry_settings(x, tpg, "attributes", "attrib/", TM_OBJ_TARGET, 0,
					   &t->settings, where, !open);
		if (k >= 0)
			k = carry_settings(x, tpg, "parameters", "param/", TM_OBJ_TARGET, 0,
					   &t->settings, where, !open);
		if (k < 0)
			return k;
	}
	return 0;
}

static int discovery(struct ctx *x, json_object *root)
{
	json_object *list = get_array(root, "fabric_modules");
	static const struct {
		const char *json, *path;
		bool secret;
	} keys[] = {
	    {"discovery_userid", "userid", false},
	    {"discovery_password", "password", true},
	    {"discovery_mutual_userid", "userid_mutual", false},
	    {"discovery_mutual_password", "password_mutual", true},
	};

	for (size_t i = 0; list && i < json_object_array_length(list); i++) {
		json_object *fm = json_object_array_get_idx(list, i);
		const char *name = get_string(fm, "name");

		if (!name || !streq(name, "iscsi"))
			continue;
		if (tm_settings_set(&x->c->discovery, TM_POLICY_DISCOVERY_ENFORCE,
				    get_bool(fm, "discovery_enable_auth") ? "1" : "0", false,
				    x->o) < 0)
			return -ENOMEM;
		for (size_t k = 0; k < ELEMENTSOF(keys); k++) {
			const char *v = get_string(fm, keys[k].json);

			if (v && tm_settings_set(&x->c->discovery, keys[k].path, v, keys[k].secret,
						 x->o) < 0)
				return -ENOMEM;
		}
		/* Not enforced and no credentials: nothing to say, and nothing to change. */
		if (!get_bool(fm, "discovery_enable_auth") && !get_string(fm, "discovery_userid"))
			tm_settings_clear(&x->c->discovery);
	}
	return 0;
}

static void put_json(json_object **o)
{
	if (*o)
		json_object_put(*o);
}

int tm_import_saveconfig(const char *path, const struct tm_import_options *opts,
			 struct tm_config *c, struct tm_diags *d)
{
	_cleanup_(put_json) json_object *root = NULL;
	_cleanup_free_ char *text = NULL;
	struct ctx x = {.c = c, .d = d};
	json_tokener *tok;
	size_t len = 0;
	int k;

	if (!path) {
		static const char *const defaults[] = TM_IMPORT_SAVECONFIG_DEFAULTS;

		/* The first that exists; else the first, whose absence is then the error. */
		path = defaults[0];
		for (size_t i = ELEMENTSOF(defaults); i-- > 0;) {
			_cleanup_free_ char *full = tm_import_rooted(opts, defaults[i]);

			if (!full)
				return -ENOMEM;
			if (access(full, F_OK) == 0)
				path = defaults[i];
		}
	}
	x.o.file = tm_config_intern_file(c, path);
	if (!x.o.file)
		return -ENOMEM;
	k = tm_import_read_file(opts, path, &text, &len);
	if (k < 0) {
		tm_import_error(d, x.o, "cannot read %s: %s", path, strerror(-k));
		return k;
	}
	tok = json_tokener_new();
	if (!tok)
		return -ENOMEM;
	root = json_tokener_parse_ex(tok, text, (int)len);
	if (!root || json_tokener_get_error(tok) != json_tokener_success) {
		size_t end = json_tokener_get_parse_end(tok);
		unsigned line = 1;

		for (size_t i = 0; i < end && i < len; i++)
			line += text[i] == '\n';
		tm_import_error(d, (struct tm_origin){x.o.file, line}, "not JSON: %s",
				json_tokener_error_desc(json_tokener_get_error(tok)));
		json_tokener_free(tok);
		explicit_bzero(text, len);
		return -EINVAL;
	}
	json_tokener_free(tok);
	explicit_bzero(text, len);
	if (!json_object_is_type(root, json_type_object)) {
		tm_import_error(d, x.o, "not a saveconfig.json: the top is not an object");
		return -EINVAL;
	}
	k = storage_objects(&x, root);
	if (k >= 0)
		k = targets(&x, root);
	if (k >= 0)
		k = warn_idle_alua_groups(&x);
	if (k >= 0)
		k = discovery(&x, root);
	if (k >= 0 && tm_config_index(c) < 0)
		k = -ENOMEM;
	return k;
}

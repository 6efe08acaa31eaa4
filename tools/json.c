/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "json.h"

#include "../lib/util.h"

/* json-c copies strings as they are, invalid UTF-8 included, which a strict parser then
   rejects: whatever is not UTF-8 (a path, a name read from the kernel, a key quoted in a
   message) is escaped first (tm_utf8_escape()). */
static char *utf8_or_escaped(const char *s, char **escaped)
{
	*escaped = NULL;
	for (const char *p = s; *p;) {
		size_t n = tm_utf8_sequence(p);
		if (n == 0)
			return *escaped = tm_utf8_escape(s);
		p += n;
	}
	return (char *)s;
}

json_object *json_add(json_object *o, const char *key, json_object *value)
{
	_cleanup_free_ char *escaped = NULL;
	const char *k = utf8_or_escaped(key, &escaped);

	/* Out of memory: the key as it is, rather than a value freed under the caller. */
	json_object_object_add(o, k ? k : key, value);
	return value;
}

json_object *json_push(json_object *a, json_object *value)
{
	if (json_object_array_add(a, value) < 0)
		json_object_put(value);
	return value;
}

json_object *json_val_str(const char *s)
{
	_cleanup_free_ char *escaped = NULL;

	if (!s)
		return NULL;
	s = utf8_or_escaped(s, &escaped);
	return s ? json_object_new_string(s) : NULL;
}

json_object *json_val_uint(unsigned long long v)
{
	return json_object_new_uint64(v);
}

json_object *json_val_bool(bool v)
{
	return json_object_new_boolean(v);
}

void json_print(FILE *f, json_object *doc)
{
	const char *s = json_object_to_json_string_ext(doc, JSON_C_TO_STRING_PLAIN |
								JSON_C_TO_STRING_NOSLASHESCAPE);

	if (s)
		fprintf(f, "%s\n", s);
	json_object_put(doc);
}

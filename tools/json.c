/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "json.h"

json_object *json_add(json_object *o, const char *key, json_object *value)
{
	json_object_object_add(o, key, value);
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

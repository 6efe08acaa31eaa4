/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * JSON output on json-c, the library the saveconfig importer reads with: one JSON code path.
 * Builders that take what the printers hold (NULL strings become null), and the one way a
 * document is written: compact, '/' unescaped, one line.
 */
#pragma once

#include <stdbool.h>
#include <stdio.h>

#include <json-c/json.h>

/* Adds key = value to object o (value NULL: null); returns value, for nesting. */
json_object *json_add(json_object *o, const char *key, json_object *value);
/* Appends value to array a; returns value. */
json_object *json_push(json_object *a, json_object *value);

json_object *json_val_str(const char *s); /* NULL -> null */
json_object *json_val_uint(unsigned long long v);
json_object *json_val_bool(bool v);

/* Writes the document and a newline to f, and drops the reference to it. */
void json_print(FILE *f, json_object *doc);

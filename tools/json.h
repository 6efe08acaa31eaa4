/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* A minimal streaming JSON writer: keys are given for object members, NULL for array items. */
#pragma once

#include <stdbool.h>
#include <stdio.h>

#define JSON_MAX_DEPTH 16

struct json {
	FILE *f;
	int depth;
	bool need_comma[JSON_MAX_DEPTH];
};

void json_open(struct json *j, const char *key, char bracket);        /* '{' or '[' */
void json_close(struct json *j, char bracket);                        /* '}' or ']' */
void json_string(struct json *j, const char *key, const char *value); /* NULL -> null */
void json_uint(struct json *j, const char *key, unsigned long long value);
void json_bool(struct json *j, const char *key, bool value);

/* The naming rules every backend and the configuration share, so a name that works on
 * the laptop (local store, SQLite) also works on AWS (S3, DynamoDB), and the other way. */
#ifndef ENLARGER_NAMES_H
#define ENLARGER_NAMES_H

#include <stddef.h>

#include "enlarger/err.h"

/* S3's rules for general purpose bucket names. NULL for a good name, else why not, as a
 * phrase to follow the name ("must be 3 to 63 characters"). Borrowed, static. */
const char *enl_bucket_name_problem(const char *name);

/* The same check as a store call's error: 0, or ENL_EINVAL with e->text
 * "bucket name <problem>". */
int enl_bucket_name_check(const char *name, struct enl_errmsg *e);

/* 1 when s is 1..max bytes of [A-Za-z0-9_.-] (DynamoDB's characters for table and
 * attribute names, also safe as a SQLite identifier and a file name), else 0. */
int enl_ident_ok(const char *s, size_t max);

#endif

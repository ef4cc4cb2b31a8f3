/* The keys of one listing, collected so both stores hand them out in byte order
 * whatever order they were found in (a folder walk, or a server's pages). */
#ifndef ENLARGER_STORE_KEYLIST_H
#define ENLARGER_STORE_KEYLIST_H

#include <stddef.h>

#include "enlarger/store.h"

struct enl_keylist {
	char **keys; /* each malloc'd; owned by the list */
	size_t n, cap;
	size_t max; /* adds past this many keys fail with ENL_ETOOBIG; 0 = no cap */
};

/* Adds a copy of key. 0, ENL_ETOOBIG or ENL_ENOMEM. */
int enl_keylist_add(struct enl_keylist *l, const char *key);

/* Sorts the keys by unsigned bytes (S3's order) and calls cb once for each distinct
 * key, stopping at the first non-zero return, which it returns. */
int enl_keylist_emit(struct enl_keylist *l, enl_store_list_cb cb, void *ud);

/* Frees the keys and the array; l may be reused after. */
void enl_keylist_free(struct enl_keylist *l);

#endif

/* A listing's keys, sorted and handed out once each (see keylist.h). */
#include "keylist.h"

#include <stdlib.h>
#include <string.h>

int enl_keylist_add(struct enl_keylist *l, const char *key)
{
	if (l->max && l->n >= l->max)
		return ENL_ETOOBIG;
	if (l->n == l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 64;
		char **k = realloc(l->keys, cap * sizeof(*k));
		if (!k)
			return ENL_ENOMEM;
		l->keys = k;
		l->cap = cap;
	}
	if (!(l->keys[l->n] = strdup(key)))
		return ENL_ENOMEM;
	l->n++;
	return ENL_OK;
}

static int key_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b); /* strcmp: unsigned bytes */
}

int enl_keylist_emit(struct enl_keylist *l, enl_store_list_cb cb, void *ud)
{
	int rc = ENL_OK;
	if (l->n)
		qsort(l->keys, l->n, sizeof(*l->keys), key_cmp);
	for (size_t i = 0; i < l->n && !rc; i++)
		if (i == 0 || strcmp(l->keys[i], l->keys[i - 1]) != 0)
			rc = cb(ud, l->keys[i]);
	return rc;
}

void enl_keylist_free(struct enl_keylist *l)
{
	for (size_t i = 0; i < l->n; i++)
		free(l->keys[i]);
	free(l->keys);
	l->keys = NULL;
	l->n = l->cap = 0;
}

/* Growable byte buffers with a hard cap (see include/enlarger/buf.h). */
#include "enlarger/buf.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "enlarger/err.h"

void enl_buf_init(struct enl_buf *b, size_t max)
{
	memset(b, 0, sizeof(*b));
	b->max = max;
}

int enl_buf_reserve(struct enl_buf *b, size_t n)
{
	if (n > SIZE_MAX - b->len - 1 || (b->max && b->len + n > b->max))
		return ENL_ETOOBIG;
	if (b->len + n + 1 <= b->cap)
		return 0;
	/* Only buffers we allocated can grow; adopted ones are copied first. */
	size_t cap = b->cap ? b->cap : 4096;
	while (cap < b->len + n + 1)
		cap = cap > SIZE_MAX / 2 ? SIZE_MAX : cap * 2;
	if (b->max && cap > b->max + 1)
		cap = b->max + 1;
	unsigned char *d;
	if (b->free_fn && b->free_fn != free) {
		d = malloc(cap);
		if (d && b->len)
			memcpy(d, b->data, b->len);
		if (d) {
			b->free_fn(b->data);
			b->free_fn = NULL;
		}
	} else {
		d = realloc(b->data, cap);
	}
	if (!d)
		return ENL_ENOMEM;
	b->data = d;
	b->cap = cap;
	return 0;
}

int enl_buf_append(struct enl_buf *b, const void *p, size_t n)
{
	int rc;
	if (n == 0)
		return 0;
	if ((rc = enl_buf_reserve(b, n)))
		return rc;
	memcpy(b->data + b->len, p, n);
	b->len += n;
	b->data[b->len] = 0; /* always NUL-terminated, handy for text bodies */
	return 0;
}

void enl_buf_adopt(struct enl_buf *b, void *data, size_t len, void (*free_fn)(void *))
{
	size_t max = b->max;
	enl_buf_free(b);
	b->data = data;
	b->len = len;
	b->cap = len;
	b->max = max;
	b->free_fn = free_fn;
}

void *enl_buf_steal(struct enl_buf *b, size_t *len_out)
{
	void *d = b->data;
	if (len_out)
		*len_out = b->len;
	b->data = NULL;
	b->len = b->cap = 0;
	return d;
}

void enl_buf_move(struct enl_buf *dst, struct enl_buf *src)
{
	if (dst == src)
		return;
	size_t max = dst->max;
	enl_buf_free(dst);
	dst->data = src->data;
	dst->len = src->len;
	dst->cap = src->cap;
	dst->free_fn = src->data ? src->free_fn : NULL;
	dst->max = max;
	src->data = NULL;
	src->len = src->cap = 0;
	src->free_fn = NULL;
}

void enl_buf_free(struct enl_buf *b)
{
	if (b->data)
		(b->free_fn ? b->free_fn : free)(b->data);
	b->data = NULL;
	b->len = b->cap = 0;
	b->free_fn = NULL;
}

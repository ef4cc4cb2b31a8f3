/* A byte buffer with a hard cap that carries its own free function, so a
 * g_free'd libvips buffer and a malloc'd curl buffer travel the same way. */
#ifndef ENLARGER_BUF_H
#define ENLARGER_BUF_H

#include <stddef.h>

struct enl_buf {
	unsigned char *data;
	size_t len;
	size_t cap;
	size_t max;              /* appends past this fail with ENL_ETOOBIG; 0 = no cap */
	void (*free_fn)(void *); /* how data is released (free by default) */
};

#define ENL_BUF_INIT                                                                               \
	{                                                                                          \
		NULL, 0, 0, 0, NULL                                                                \
	}

void enl_buf_init(struct enl_buf *b, size_t max);
/* 0, ENL_ENOMEM, or ENL_ETOOBIG when len would pass max. */
int enl_buf_append(struct enl_buf *b, const void *p, size_t n);
/* Room for n more bytes (and the NUL) at data + len, to write there and add to len: 0,
 * ENL_ENOMEM, or ENL_ETOOBIG when len + n would pass max. */
int enl_buf_reserve(struct enl_buf *b, size_t n);
/* Takes ownership of data (released later with free_fn). Frees what b held. */
void enl_buf_adopt(struct enl_buf *b, void *data, size_t len, void (*free_fn)(void *));
/* Hands the bytes to the caller (who frees them with b->free_fn) and empties b. */
void *enl_buf_steal(struct enl_buf *b, size_t *len_out);
/* Moves src's bytes, with their free function, into dst (whose old bytes are freed; its
 * max stays) and leaves src empty. */
void enl_buf_move(struct enl_buf *dst, struct enl_buf *src);
void enl_buf_free(struct enl_buf *b);

#endif

/* Bodies held by reference instead of as bytes of their own: refcounted bytes that several
 * answers share without a copy (the requests that waited on one render), and a stretch of
 * an open file (a cached variant in the local store). The HTTP server sends both without
 * copying them (the file with sendfile); a door that carries bodies in memory (Lambda's
 * base64 payload) reads one with enl_body_read, under a cap. */
#ifndef ENLARGER_BODY_H
#define ENLARGER_BODY_H

#include <stddef.h>
#include <stdint.h>

#include "enlarger/buf.h"
#include "enlarger/err.h"

/* ---- shared bytes ---- */

struct enl_shared;

/* Called once the last reference to s is dropped, before its bytes are freed. */
typedef void (*enl_shared_free_fn)(void *ctx, struct enl_shared *s);

/* Wraps the bytes of from (taken, with their free function: from is left empty) in a new
 * shared buffer holding one reference. on_free may be NULL. 0, or ENL_ENOMEM (from then
 * keeps its bytes). */
int enl_shared_new(struct enl_buf *from, enl_shared_free_fn on_free, void *ctx,
                   struct enl_shared **out);
/* Another reference: returns s. */
struct enl_shared *enl_shared_ref(struct enl_shared *s);
/* Another reference unless the last one has already been dropped (then NULL): for a
 * registry that lists s without holding a reference, looked up under a lock that s's
 * on_free also takes before it unlists s. */
struct enl_shared *enl_shared_try_ref(struct enl_shared *s);
/* Drops a reference; the last one runs on_free and frees the bytes. NULL is fine. */
void enl_shared_unref(struct enl_shared *s);
/* The bytes (borrowed while a reference is held); never written after enl_shared_new. */
const unsigned char *enl_shared_data(const struct enl_shared *s);
size_t enl_shared_len(const struct enl_shared *s);

/* ---- a body by reference ---- */

enum enl_body_kind {
	ENL_BODY_NONE,   /* nothing held */
	ENL_BODY_SHARED, /* shared bytes: one reference, owned */
	ENL_BODY_FILE,   /* an open file: fd owned (closed by enl_body_free), the bytes
	                    [offset, offset + len) */
};

struct enl_body {
	enum enl_body_kind kind;
	struct enl_shared *shared;
	int fd;
	uint64_t offset;
	uint64_t len; /* the body's length, of either kind */
};

void enl_body_init(struct enl_body *b);
/* Holds s (the caller's reference is taken) as b's body. */
void enl_body_set_shared(struct enl_body *b, struct enl_shared *s);
/* Holds len bytes of fd from offset (fd is taken) as b's body. */
void enl_body_set_file(struct enl_body *b, int fd, uint64_t offset, uint64_t len);
/* Moves src's body into dst (whose own is released) and leaves src empty. */
void enl_body_move(struct enl_body *dst, struct enl_body *src);
/* Releases what b holds and leaves it empty. */
void enl_body_free(struct enl_body *b);
/* Copies b's bytes into out (initialised here; freed on error). max: the most bytes a
 * caller takes (0: no cap), checked before anything is read. 0, ENL_ETOOBIG past max,
 * ENL_ENOMEM, or ENL_EIO when the file cannot be read or ends early. */
int enl_body_read(const struct enl_body *b, size_t max, struct enl_buf *out, struct enl_errmsg *e);

#endif

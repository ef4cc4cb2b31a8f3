/* Bodies by reference: refcounted shared bytes and stretches of open files (see
 * include/enlarger/body.h). */
#include "enlarger/body.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct enl_shared {
	int refs; /* atomic */
	unsigned char *data;
	size_t len;
	void (*free_fn)(void *);
	enl_shared_free_fn on_free;
	void *ctx;
};

int enl_shared_new(struct enl_buf *from, enl_shared_free_fn on_free, void *ctx,
                   struct enl_shared **out)
{
	struct enl_shared *s = calloc(1, sizeof(*s));
	*out = NULL;
	if (!s)
		return ENL_ENOMEM;
	s->refs = 1;
	s->free_fn = from->free_fn ? from->free_fn : free;
	s->data = enl_buf_steal(from, &s->len);
	from->free_fn = NULL;
	s->on_free = on_free;
	s->ctx = ctx;
	*out = s;
	return 0;
}

struct enl_shared *enl_shared_ref(struct enl_shared *s)
{
	__atomic_add_fetch(&s->refs, 1, __ATOMIC_RELAXED);
	return s;
}

struct enl_shared *enl_shared_try_ref(struct enl_shared *s)
{
	int n = __atomic_load_n(&s->refs, __ATOMIC_RELAXED);
	while (n > 0)
		if (__atomic_compare_exchange_n(&s->refs, &n, n + 1, 0, __ATOMIC_ACQUIRE,
		                                __ATOMIC_RELAXED))
			return s;
	return NULL;
}

void enl_shared_unref(struct enl_shared *s)
{
	if (!s || __atomic_sub_fetch(&s->refs, 1, __ATOMIC_ACQ_REL) != 0)
		return;
	if (s->on_free)
		s->on_free(s->ctx, s);
	if (s->data)
		s->free_fn(s->data);
	free(s);
}

const unsigned char *enl_shared_data(const struct enl_shared *s)
{
	return s->data;
}

size_t enl_shared_len(const struct enl_shared *s)
{
	return s->len;
}

void enl_body_init(struct enl_body *b)
{
	memset(b, 0, sizeof(*b));
	b->fd = -1;
}

void enl_body_set_shared(struct enl_body *b, struct enl_shared *s)
{
	enl_body_free(b);
	b->kind = ENL_BODY_SHARED;
	b->shared = s;
	b->len = s->len;
}

void enl_body_set_file(struct enl_body *b, int fd, uint64_t offset, uint64_t len)
{
	enl_body_free(b);
	b->kind = ENL_BODY_FILE;
	b->fd = fd;
	b->offset = offset;
	b->len = len;
}

void enl_body_move(struct enl_body *dst, struct enl_body *src)
{
	if (dst == src)
		return;
	enl_body_free(dst);
	*dst = *src;
	enl_body_init(src);
}

void enl_body_free(struct enl_body *b)
{
	if (b->kind == ENL_BODY_SHARED)
		enl_shared_unref(b->shared);
	else if (b->kind == ENL_BODY_FILE && b->fd >= 0)
		close(b->fd);
	enl_body_init(b);
}

/* Exactly len bytes of fd from off into p. */
static int pread_all(int fd, unsigned char *p, size_t len, uint64_t off, struct enl_errmsg *e)
{
	size_t got = 0;
	while (got < len) {
		ssize_t r = pread(fd, p + got, len - got, (off_t)(off + got));
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return enl_fail(e, ENL_EIO, "cannot read the body's file: %s",
			                strerror(errno));
		if (r == 0)
			return enl_fail(e, ENL_EIO, "the body's file ended early");
		got += (size_t)r;
	}
	return 0;
}

int enl_body_read(const struct enl_body *b, size_t max, struct enl_buf *out, struct enl_errmsg *e)
{
	unsigned char *p = NULL;
	int rc = 0;
	enl_buf_init(out, max);
	if (b->kind == ENL_BODY_NONE)
		return 0;
	if ((max && b->len > max) || b->len >= SIZE_MAX)
		return enl_fail(e, ENL_ETOOBIG, "the body is over the %zu bytes this door carries",
		                max);
	size_t len = (size_t)b->len;
	/* One allocation of the exact size, NUL-terminated like every enl_buf. */
	if (!(p = malloc(len + 1)))
		return enl_fail(e, ENL_ENOMEM, "out of memory");
	if (b->kind == ENL_BODY_SHARED && len)
		memcpy(p, b->shared->data, len);
	else if ((rc = pread_all(b->fd, p, len, b->offset, e)))
		goto done;
	p[len] = 0;
	enl_buf_adopt(out, p, len, free);
	p = NULL;
done:
	free(p);
	return rc;
}

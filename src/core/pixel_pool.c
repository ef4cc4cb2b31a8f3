/* Anonymous mappings for a render's pixels (the decode, the C resize's scratch and its
 * result), kept for reuse. Each render writes a few MB of pixels; in a fresh mapping every
 * 4 KiB page costs a fault and a zeroing on first write (hundreds a render, a tenth of a
 * miss's CPU on a VM: bench/profile.md), and from malloc the pages would stay in the arenas
 * of whichever connection threads ran the job. A small pool of mappings gives the same
 * pages to the next render instead. A mapping the pool cannot give (a large decode) is
 * made populated: every page of it is written anyway, and one call fills them for less
 * than a fault each. */
#include "vips_internal.h"

#include <pthread.h>
#include <sys/mman.h>
#include <unistd.h>

#include "enlarger/defaults.h"

struct slot {
	void *p;
	size_t cap;
};

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static struct slot pool[ENL_PIXEL_POOL_SLOTS];

static size_t page_round(size_t n)
{
	size_t page = (size_t)sysconf(_SC_PAGESIZE);
	return n > SIZE_MAX - page ? 0 : (n + page - 1) / page * page;
}

void *enl_pixel_pool_get(size_t n, size_t *cap)
{
	size_t want = page_round(n ? n : 1);
	struct slot *best = NULL;
	void *p;

	*cap = 0;
	if (!want)
		return NULL;
	pthread_mutex_lock(&lock);
	for (size_t i = 0; i < ENL_PIXEL_POOL_SLOTS; i++)
		if (pool[i].p && pool[i].cap >= want && (!best || pool[i].cap < best->cap))
			best = &pool[i];
	if (best) {
		p = best->p;
		*cap = best->cap;
		best->p = NULL;
		pthread_mutex_unlock(&lock);
		return p;
	}
	pthread_mutex_unlock(&lock);
	p = mmap(NULL, want, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1,
	         0);
	if (p == MAP_FAILED)
		return NULL;
	*cap = want;
	return p;
}

void enl_pixel_pool_put(void *p, size_t cap)
{
	if (!p)
		return;
	if (cap <= ENL_PIXEL_POOL_MAX_BYTES) {
		pthread_mutex_lock(&lock);
		/* A free slot, else the smallest kept one if p is larger: the pool keeps the
		 * mappings that fit the most decodes. */
		struct slot *s = NULL;
		for (size_t i = 0; i < ENL_PIXEL_POOL_SLOTS; i++)
			if (!pool[i].p || !s || (s->p && pool[i].cap < s->cap))
				s = &pool[i];
		if (!s->p || s->cap < cap) {
			void *old = s->p;
			size_t old_cap = s->cap;
			s->p = p;
			s->cap = cap;
			p = old;
			cap = old_cap;
		}
		pthread_mutex_unlock(&lock);
		if (!p)
			return;
	}
	munmap(p, cap);
}

size_t enl_pixel_pool_kept(void)
{
	size_t n = 0;
	pthread_mutex_lock(&lock);
	for (size_t i = 0; i < ENL_PIXEL_POOL_SLOTS; i++)
		n += pool[i].p ? pool[i].cap : 0;
	pthread_mutex_unlock(&lock);
	return n;
}

/* An image's pixels, in a mapping of the pool, given back when the image closes. */
struct pixels {
	void *p;
	size_t cap;
};

static void put_pixels(VipsImage *im, void *arg)
{
	struct pixels *px = arg;
	(void)im;
	enl_pixel_pool_put(px->p, px->cap);
	g_free(px);
}

VipsImage *enl_pixel_pool_image(int w, int h)
{
	struct pixels *px = g_new0(struct pixels, 1);
	size_t n = (size_t)w * (size_t)h * 3;
	VipsImage *im;
	px->p = enl_pixel_pool_get(n, &px->cap);
	if (!px->p) {
		g_free(px);
		return NULL;
	}
	im = vips_image_new_from_memory(px->p, n, w, h, 3, VIPS_FORMAT_UCHAR);
	if (!im) {
		enl_pixel_pool_put(px->p, px->cap);
		g_free(px);
		return NULL;
	}
	im->Type = VIPS_INTERPRETATION_sRGB;
	g_signal_connect(im, "postclose", G_CALLBACK(put_pixels), px);
	return im;
}

/* The sizes of originals' versions, as the render path learns them (source.h). */
#include "source.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "enlarger/clock.h"
#include "enlarger/defaults.h"
#include "enlarger/log.h"

struct slot {
	unsigned char id[32]; /* SHA-256 of key, NUL, version: names the version */
	int width, height;    /* 0: empty */
	int jpeg;
	enum enl_source_mezz mezz;
	int64_t none_at_ms; /* mezz NONE: when the store said so (monotonic) */
};

struct enl_sources {
	pthread_mutex_t lock;
	struct slot slots[ENL_SOURCES_SLOTS];
};

int enl_sources_new(struct enl_sources **out)
{
	*out = calloc(1, sizeof(**out));
	if (!*out)
		return ENL_ENOMEM;
	pthread_mutex_init(&(*out)->lock, NULL);
	return 0;
}

void enl_sources_free(struct enl_sources *m)
{
	if (!m)
		return;
	pthread_mutex_destroy(&m->lock);
	free(m);
}

static void version_id(const char *key, const char *version, unsigned char id[32])
{
	EVP_MD_CTX *c = EVP_MD_CTX_new();
	unsigned int n = 0;
	memset(id, 0, 32);
	if (!c)
		return;
	if (EVP_DigestInit_ex(c, EVP_sha256(), NULL) != 1 ||
	    EVP_DigestUpdate(c, key, strlen(key) + 1) != 1 ||
	    EVP_DigestUpdate(c, version, strlen(version)) != 1 ||
	    EVP_DigestFinal_ex(c, id, &n) != 1)
		memset(id, 0, 32);
	EVP_MD_CTX_free(c);
}

static struct slot *slot_of(struct enl_sources *m, const unsigned char id[32])
{
	size_t i = ((size_t)id[0] | (size_t)id[1] << 8 | (size_t)id[2] << 16) % ENL_SOURCES_SLOTS;
	return &m->slots[i];
}

/* id's slot when it holds id, else NULL. Under m->lock. */
static struct slot *held(struct enl_sources *m, const unsigned char id[32])
{
	struct slot *s = slot_of(m, id);
	return s->width > 0 && memcmp(s->id, id, 32) == 0 ? s : NULL;
}

static int map_find(struct enl_sources *m, const unsigned char id[32], struct enl_source *out)
{
	int rc = ENL_ENOTFOUND;
	pthread_mutex_lock(&m->lock);
	struct slot *s = held(m, id);
	if (s) {
		out->width = s->width;
		out->height = s->height;
		out->jpeg = s->jpeg;
		out->mezz = s->mezz;
		if (s->mezz == ENL_SOURCE_MEZZ_NONE &&
		    enl_mono_ms() - s->none_at_ms > (int64_t)ENL_MEZZANINE_RECHECK_S * 1000)
			out->mezz = ENL_SOURCE_MEZZ_UNKNOWN;
		rc = 0;
	}
	pthread_mutex_unlock(&m->lock);
	return rc;
}

static void map_put(struct enl_sources *m, const unsigned char id[32], const struct enl_source *src)
{
	if (src->width < 1 || src->height < 1)
		return;
	pthread_mutex_lock(&m->lock);
	struct slot *s = slot_of(m, id);
	if (memcmp(s->id, id, 32) != 0 || src->mezz != ENL_SOURCE_MEZZ_UNKNOWN) {
		s->mezz = src->mezz;
		s->none_at_ms = enl_mono_ms();
	}
	memcpy(s->id, id, 32);
	s->width = src->width;
	s->height = src->height;
	s->jpeg = src->jpeg;
	pthread_mutex_unlock(&m->lock);
}

void enl_source_remember(struct enl_app *app, const char *key, const char *version,
                         const struct enl_source *src)
{
	unsigned char id[32];
	version_id(key, version, id);
	map_put(app->sources, id, src);
}

void enl_source_no_mezzanine(struct enl_app *app, const char *key, const char *version)
{
	unsigned char id[32];
	version_id(key, version, id);
	pthread_mutex_lock(&app->sources->lock);
	struct slot *s = held(app->sources, id);
	if (s) {
		s->mezz = ENL_SOURCE_MEZZ_NONE;
		s->none_at_ms = enl_mono_ms();
	}
	pthread_mutex_unlock(&app->sources->lock);
}

/* A positive integer member of item, or 0. */
static int dimension(json_t *item, const char *name)
{
	json_t *v = json_object_get(item, name);
	json_int_t n = json_is_integer(v) ? json_integer_value(v) : 0;
	return n > 0 && n <= 1000000 ? (int)n : 0;
}

/* The photo item's size when it was made from this very version of key. */
static int from_item(struct enl_app *app, const char *key, const char *version,
                     const struct enl_object_info *info, struct enl_source *out)
{
	char id[ENL_PHOTO_ID_MAX + 1];
	struct enl_errmsg e = {{0}};
	json_t *item = NULL;
	int rc = ENL_ENOTFOUND;

	if (enl_photo_id(app->cfg->photo_id_rule, key, info, id, sizeof(id), &e))
		return ENL_ENOTFOUND;
	int trc = enl_table_get(app->table, id, &item, &e);
	if (trc) {
		if (trc != ENL_ENOTFOUND)
			enl_logf(ENL_LOG_WARN,
			         "photo table read failed; the render reads the original: %s",
			         e.text);
		return ENL_ENOTFOUND;
	}
	/* Another original may share the id (ENLARGER_PHOTO_ID_RULE=basename), and the
	 * results stay those of the last version processed until the next completes. */
	const char *k = json_string_value(json_object_get(item, "objectKey"));
	const char *v = json_string_value(json_object_get(item, "version"));
	if (k && v && strcmp(k, key) == 0 && strcmp(v, version) == 0) {
		out->mezz = ENL_SOURCE_MEZZ_UNKNOWN;
		out->width = dimension(item, "width");
		out->height = dimension(item, "height");
		const char *fmt = json_string_value(json_object_get(item, "sourceFormat"));
		out->jpeg = !fmt || strcmp(fmt, "jpeg") == 0;
		if (out->width && out->height)
			rc = 0;
	}
	json_decref(item);
	return rc;
}

int enl_source_find(struct enl_app *app, const char *key, const char *version,
                    const struct enl_object_info *info, struct enl_source *out)
{
	unsigned char id[32];
	version_id(key, version, id);
	if (map_find(app->sources, id, out) == 0)
		return 0;
	if (from_item(app, key, version, info, out))
		return ENL_ENOTFOUND;
	map_put(app->sources, id, out);
	return 0;
}

/* Sweeps of a photo's derivatives and of an original's render variants: list, read what is
 * current, delete the other versions (the order and why it is safe: sweep.h). */
#include "sweep.h"

#include <stdlib.h>
#include <string.h>

#include "enlarger/keys.h"
#include "enlarger/log.h"

/* A sweep handles at most this many objects; the rest waits for the next sweep (a photo
 * has four derivatives per version, an original a few dozen variants). */
#define SWEEP_MAX_KEYS 10000
/* Versions a photo's item can name at once: its derivative keys' and its etag's. */
#define SWEEP_MAX_KEEP 8

struct found {
	char *key;
	char version[ENL_VERSION_TAG_MAX + 1];
};

struct sweep {
	const char *photo_id; /* derivatives: whose keys; NULL for render variants */
	struct enl_sweep_stats *stats;
	struct found *f;
	size_t n, cap;
	int full;
	char keep[SWEEP_MAX_KEEP][ENL_VERSION_TAG_MAX + 1];
	int n_keep;
};

static void sweep_free(struct sweep *s)
{
	for (size_t i = 0; i < s->n; i++)
		free(s->f[i].key);
	free(s->f);
	memset(s, 0, sizeof(*s));
}

static void keep(struct sweep *s, const char *version)
{
	for (int i = 0; i < s->n_keep; i++)
		if (strcmp(s->keep[i], version) == 0)
			return;
	if (s->n_keep < SWEEP_MAX_KEEP)
		snprintf(s->keep[s->n_keep++], sizeof(s->keep[0]), "%s", version);
}

static int kept(const struct sweep *s, const char *version)
{
	for (int i = 0; i < s->n_keep; i++)
		if (strcmp(s->keep[i], version) == 0)
			return 1;
	return 0;
}

/* The listing's callback: keeps the keys that are the photo's (or the original's), with
 * the version they name; others under the prefix (another photo "a/b" under "a/") are
 * not looked at again. */
static int collect(void *ud, const char *key)
{
	struct sweep *s = ud;
	struct found one;
	int rc = s->photo_id ? enl_derivative_key_version(s->photo_id, key, one.version)
	                     : enl_render_cache_key_version(key, one.version);
	if (rc)
		return 0;
	if (s->n == SWEEP_MAX_KEYS) {
		s->full = 1;
		return 1; /* stops the listing */
	}
	if (s->n == s->cap) {
		size_t cap = s->cap ? 2 * s->cap : 16;
		struct found *f = realloc(s->f, cap * sizeof(*f));
		if (!f)
			return ENL_ENOMEM;
		s->f = f;
		s->cap = cap;
	}
	one.key = strdup(key);
	if (!one.key)
		return ENL_ENOMEM;
	s->f[s->n++] = one;
	return 0;
}

static int list_into(struct enl_app *app, const char *bucket, const char *prefix, struct sweep *s,
                     struct enl_errmsg *e)
{
	int rc = enl_store_list(app->store, bucket, prefix, collect, s, e);
	if (rc == 1 || rc == ENL_ENOTFOUND) /* full, or a bucket (folder) never written */
		rc = 0;
	if (s->full)
		s->stats->more = 1;
	if (rc == ENL_ENOMEM)
		rc = enl_fail(e, rc, "out of memory");
	return rc;
}

/* Deletes the listed objects of bucket whose version is not kept. */
static int delete_others(struct enl_app *app, const char *bucket, struct sweep *s, size_t from,
                         size_t to, struct enl_sweep_stats *st, struct enl_errmsg *e)
{
	for (size_t i = from; i < to; i++) {
		if (kept(s, s->f[i].version))
			continue;
		int rc = enl_store_del(app->store, bucket, s->f[i].key, e);
		if (rc)
			return rc;
		st->deleted++;
	}
	return 0;
}

/* The versions the photo's item names: every string of it that is a derivative key of
 * the photo, and the version of its etag (the one a running attempt writes). */
static int keep_from_item(struct enl_app *app, const char *photo_id, struct sweep *s,
                          struct enl_errmsg *e)
{
	json_t *item = NULL; /* new reference, released here */
	int rc = enl_table_get(app->table, photo_id, &item, e);
	if (rc == ENL_ENOTFOUND)
		return 0;
	if (rc)
		return rc;
	const char *name;
	json_t *v;
	char version[ENL_VERSION_TAG_MAX + 1];
	json_object_foreach(item, name, v)
	{
		if (json_is_string(v) &&
		    enl_derivative_key_version(photo_id, json_string_value(v), version) == 0)
			keep(s, version);
	}
	const char *etag = json_string_value(json_object_get(item, "etag"));
	const char *status = json_string_value(json_object_get(item, "processingStatus"));
	if (etag && etag[0]) {
		struct enl_object_info info;
		memset(&info, 0, sizeof(info));
		snprintf(info.etag, sizeof(info.etag), "%s", etag);
		enl_version_tag(&info, version);
		keep(s, version);
	} else if (status && strcmp(status, "processing") == 0) {
		/* A version in flight that the item cannot name: leave the photo alone now. */
		rc = enl_fail(e, ENL_EBUSY, "a version of the photo is being processed");
	}
	json_decref(item);
	return rc;
}

int enl_sweep_derivatives(struct enl_app *app, const char *photo_id, struct enl_sweep_stats *st,
                          struct enl_errmsg *e)
{
	const struct enl_config *cfg = app->cfg;
	struct sweep s = {.photo_id = photo_id, .stats = st};
	char prefix[ENL_KEY_MAX + 2];
	int rc;
	size_t n_thumbs;

	snprintf(prefix, sizeof(prefix), "%s/", photo_id);
	if ((rc = list_into(app, cfg->thumbnails_bucket, prefix, &s, e)))
		goto done;
	n_thumbs = s.n;
	if ((rc = list_into(app, cfg->optimized_bucket, prefix, &s, e)))
		goto done;
	st->listed += (unsigned)s.n;
	if (s.n == 0)
		goto done;
	if ((rc = keep_from_item(app, photo_id, &s, e)))
		goto done;
	rc = delete_others(app, cfg->thumbnails_bucket, &s, 0, n_thumbs, st, e);
	if (!rc)
		rc = delete_others(app, cfg->optimized_bucket, &s, n_thumbs, s.n, st, e);
done:
	sweep_free(&s);
	return rc;
}

int enl_sweep_renders(struct enl_app *app, const char *key, struct enl_sweep_stats *st,
                      struct enl_errmsg *e)
{
	const struct enl_config *cfg = app->cfg;
	struct sweep s = {.stats = st};
	struct enl_object_info info;
	char hash[65], prefix[80], version[ENL_VERSION_TAG_MAX + 1];
	int rc;

	enl_key_hash(key, hash);
	snprintf(prefix, sizeof(prefix), "%s/", hash);
	if ((rc = list_into(app, cfg->render_bucket, prefix, &s, e)))
		goto done;
	st->listed += (unsigned)s.n;
	if (s.n == 0)
		goto done;
	rc = enl_store_head(app->store, cfg->originals_bucket, key, &info, e);
	if (rc == 0) {
		enl_version_tag(&info, version);
		keep(&s, version);
	} else if (rc != ENL_ENOTFOUND) {
		goto done;
	}
	rc = delete_others(app, cfg->render_bucket, &s, 0, s.n, st, e);
done:
	sweep_free(&s);
	return rc;
}

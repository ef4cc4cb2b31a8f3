/* Replacements: when a new version of a photo completes, the previous version's
 * derivatives and render variants go away, in the background and only after the item
 * points at the new keys (lifecycle.h, cleanup.h). */
#include "lifecycle.h"

#include <string.h>

#include "enlarger/log.h"
#include "cleanup.h"

json_t *enl_item_read(struct enl_app *app, const char *photo_id)
{
	json_t *item = NULL;
	struct enl_errmsg e = {{0}};
	int rc = enl_table_get(app->table, photo_id, &item, &e);
	if (rc && rc != ENL_ENOTFOUND) {
		json_t *f = json_object();
		json_object_set_new(f, "photoId", json_string(photo_id));
		json_object_set_new(f, "error", json_string(e.text));
		enl_log_json(ENL_LOG_WARN, "cannot read the photo item", f);
	}
	return rc ? NULL : item;
}

void enl_replace_note(struct enl_app *app, const char *photo_id, struct enl_prev *out)
{
	memset(out, 0, sizeof(*out));
	json_t *item = enl_item_read(app, photo_id);
	const char *thumb = json_string_value(json_object_get(item, "thumbnailKey"));
	const char *key = json_string_value(json_object_get(item, "objectKey"));
	if (thumb && enl_derivative_key_version(photo_id, thumb, out->version))
		out->version[0] = '\0';
	if (key)
		snprintf(out->key, sizeof(out->key), "%s", key);
	json_decref(item);
}

void enl_replace_done(struct enl_app *app, const char *photo_id, const char *key,
                      const char *version, const struct enl_prev *prev)
{
	int replaced = prev->version[0] && strcmp(prev->version, version) != 0;
	int moved = prev->key[0] && strcmp(prev->key, key) != 0;
	if (replaced)
		enl_cleanup_enqueue(app, photo_id, key,
		                    ENL_CLEANUP_DERIVATIVES | ENL_CLEANUP_RENDERS |
		                        ENL_CLEANUP_INVALIDATE);
	/* The photo id now names another original (a photo-id metadata moved to a new key):
	 * the old original's render variants are nobody's any more. */
	if (moved)
		enl_cleanup_enqueue(app, NULL, prev->key,
		                    ENL_CLEANUP_RENDERS | ENL_CLEANUP_INVALIDATE);
}

void enl_replace_superseded(struct enl_app *app, const char *photo_id)
{
	enl_cleanup_enqueue(app, photo_id, NULL, ENL_CLEANUP_DERIVATIVES);
}

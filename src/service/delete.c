/* The delete use case: an S3 "Object Deleted" event (EventBridge) or ObjectRemoved:*
 * record, handed to enl_service_process by any door (POST /process, the Lambda door).
 *
 * The photo is found by ENLARGER_PHOTO_ID_RULE over the deleted key (S3 keeps no
 * metadata of a deleted object, so a `photo-id` from metadata cannot be read back). The
 * table records the delete first (sequencer rules as for uploads: an older delete is
 * stale, a newer upload wins; no item is ever created), then the derivatives are swept
 * before the answer: they are public through the CDN, so a 200 means they are gone, and a
 * failure is a 5xx that EventBridge retries (the retry is a duplicate and sweeps again).
 * The render variants are unreachable once the original is gone (/render HEADs it), so
 * they, and the CDN invalidation, follow in the background. */
#include "lifecycle.h"

#include <string.h>

#include "enlarger/clock.h"
#include "enlarger/log.h"
#include "cleanup.h"
#include "sweep.h"

static void log_delete(enum enl_log_level lvl, const char *msg, const char *photo_id,
                       const char *key, const struct enl_sweep_stats *st, const char *error)
{
	json_t *f = json_object();
	json_object_set_new(f, "photoId", json_string(photo_id));
	json_object_set_new(f, "key", json_string(key));
	if (st)
		json_object_set_new(f, "derivativesDeleted", json_integer(st->deleted));
	if (error)
		json_object_set_new(f, "error", json_string(error));
	enl_log_json(lvl, msg, f);
}

int enl_service_delete(struct enl_app *app, const struct enl_event *ev,
                       struct enl_process_result *out, struct enl_errmsg *e)
{
	const struct enl_config *cfg = app->cfg;
	struct enl_sweep_stats st = {0};
	enum enl_delete_result res;
	int rc;

	if (strcmp(ev->bucket, cfg->originals_bucket) != 0)
		return enl_fail(e, ENL_EINVAL, "bucket \"%.100s\" is not the originals bucket (%s)",
		                ev->bucket, cfg->originals_bucket);
	if ((rc = enl_photo_id(cfg->photo_id_rule, ev->key, NULL, out->photo_id,
	                       sizeof(out->photo_id), e)))
		return rc;
	struct enl_delete_req req = {
	    .photo_id = out->photo_id,
	    .sequencer = ev->sequencer[0] ? ev->sequencer : NULL,
	    .key = ev->key,
	    .now_ms = enl_wall_ms(),
	};
	if ((rc = enl_table_mark_deleted(app->table, &req, &res, e)))
		return rc;

	switch (res) {
	case ENL_DELETE_STALE:
		out->outcome = ENL_OUTCOME_STALE;
		out->item = enl_item_read(app, out->photo_id);
		log_delete(ENL_LOG_INFO, "stale delete ignored", out->photo_id, ev->key, NULL,
		           NULL);
		return 0;
	case ENL_DELETE_OTHER_KEY:
		/* The photo id is another original's: its item and derivatives stay; only what
		 * was made from this key goes. */
		out->outcome = ENL_OUTCOME_DELETED;
		enl_cleanup_enqueue(app, NULL, ev->key,
		                    ENL_CLEANUP_RENDERS | ENL_CLEANUP_INVALIDATE);
		log_delete(ENL_LOG_INFO, "deleted original's photo id belongs to another original",
		           out->photo_id, ev->key, NULL, NULL);
		return 0;
	case ENL_DELETE_OK:
	case ENL_DELETE_NO_ITEM:
	case ENL_DELETE_DUPLICATE: break;
	}

	rc = enl_sweep_derivatives(app, out->photo_id, &st, e);
	if (rc == ENL_EBUSY)
		rc = 0; /* a newer upload took the photo over meanwhile: its versions stay */
	if (rc) {
		log_delete(ENL_LOG_ERROR, "photo deleted, derivatives not (retryable)",
		           out->photo_id, ev->key, &st, e->text);
		return rc;
	}
	enl_cleanup_enqueue(app, out->photo_id, ev->key,
	                    ENL_CLEANUP_RENDERS | ENL_CLEANUP_INVALIDATE);
	out->outcome = res == ENL_DELETE_DUPLICATE ? ENL_OUTCOME_DUPLICATE : ENL_OUTCOME_DELETED;
	out->item = enl_item_read(app, out->photo_id);
	log_delete(ENL_LOG_INFO,
	           res == ENL_DELETE_NO_ITEM ? "deleted original had no photo item"
	                                     : "photo deleted",
	           out->photo_id, ev->key, &st, NULL);
	return 0;
}

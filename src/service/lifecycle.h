/* Private to src/service/: the parts of a photo's life after its first processing, shared
 * by the process use case (process.c) and the delete use case (delete.c): reading the
 * item, noticing a replacement (replace.c), and deleting (delete.c). */
#ifndef ENLARGER_SERVICE_LIFECYCLE_H
#define ENLARGER_SERVICE_LIFECYCLE_H

#include "enlarger/keys.h"
#include "enlarger/service.h"

/* The photo's item, or NULL when there is none or it cannot be read (logged). New
 * reference. */
json_t *enl_item_read(struct enl_app *app, const char *photo_id);

/* What the item named before this attempt wrote its result: the version of its derivatives
 * and the original's key, "" when none. */
struct enl_prev {
	char version[ENL_VERSION_TAG_MAX + 1];
	char key[ENL_KEY_MAX + 1];
};

/* Once the attempt owns the photo (claimed), before it writes anything: reads what the
 * item names now into *out. A read that fails leaves *out empty (no cleanup follows). */
void enl_replace_note(struct enl_app *app, const char *photo_id, struct enl_prev *out);

/* After the item points at version's keys (complete succeeded): when prev named another
 * version or another original, queues the cleanup of the old derivatives and render
 * variants and the CDN invalidation (cleanup.h). Never fails the attempt. */
void enl_replace_done(struct enl_app *app, const char *photo_id, const char *key,
                      const char *version, const struct enl_prev *prev);

/* After an attempt's result was dropped (a newer event took the photo over): queues a
 * sweep of its derivatives, which nothing names. */
void enl_replace_superseded(struct enl_app *app, const char *photo_id);

/* The delete use case for an "Object Deleted" event (enl_service_process dispatches it
 * here), with the same contract as enl_service_process; outcomes DELETED, DUPLICATE or
 * STALE. */
int enl_service_delete(struct enl_app *app, const struct enl_event *ev,
                       struct enl_process_result *out, struct enl_errmsg *e);

#endif

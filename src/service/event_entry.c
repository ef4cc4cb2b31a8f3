/* The /process use case as the doors that take S3 events call it (POST /process, the
 * Lambda door): an event's body in; the photo item and the event's outcome out. */
#include "enlarger/service.h"

#include <string.h>

/* A retried event whose photo its first attempt marked failed gets that attempt's error
 * again (from the item: no download, no decode). A door that saw the first answer time
 * out (EventBridge's 5 s while the job waited its turn) would otherwise get a 200
 * "duplicate", and the event would never reach the dead-letter queue. */
static int failed_before(struct enl_process_result *out, struct enl_errmsg *e)
{
	const char *status = json_string_value(json_object_get(out->item, "processingStatus"));
	if (out->outcome != ENL_OUTCOME_DUPLICATE || !status || strcmp(status, "failed") != 0)
		return 0;
	const char *why = json_string_value(json_object_get(out->item, "processingError"));
	out->outcome = ENL_OUTCOME_FAILED;
	return enl_fail(e, ENL_EDECODE, "photo \"%.80s\" failed before: %.150s", out->photo_id,
	                why ? why : "the image was rejected");
}

int enl_service_event(struct enl_app *app, const void *body, size_t len, struct enl_event *ev,
                      struct enl_process_result *out, struct enl_errmsg *e)
{
	int rc;
	memset(out, 0, sizeof(*out));
	out->outcome = ENL_OUTCOME_NONE;
	if ((rc = enl_event_parse(body, len, ev, e)))
		return rc;
	if ((rc = enl_service_process(app, ev, out, e)))
		return rc;
	return failed_before(out, e);
}

const char *enl_process_outcome_name(enum enl_process_outcome o)
{
	switch (o) {
	case ENL_OUTCOME_PROCESSED: return "processed";
	case ENL_OUTCOME_DUPLICATE: return "duplicate";
	case ENL_OUTCOME_STALE: return "stale";
	case ENL_OUTCOME_SUPERSEDED: return "superseded";
	case ENL_OUTCOME_IN_FLIGHT: return "in-flight";
	case ENL_OUTCOME_FAILED: return "failed";
	case ENL_OUTCOME_DELETED: return "deleted";
	case ENL_OUTCOME_NONE: break;
	}
	return "none";
}

json_t *enl_process_result_json(struct enl_process_result *r)
{
	/* A delete of a photo without an item has no item: the id says which photo. */
	json_t *body = r->item ? json_incref(r->item) : json_pack("{s:s}", "photoId", r->photo_id);
	if (body)
		json_object_set_new(body, "outcome",
		                    json_string(enl_process_outcome_name(r->outcome)));
	if (body && r->mezzanine)
		json_object_set(body, "mezzanine", r->mezzanine);
	return body;
}

/* DynamoDB photo table over the low-level JSON API (POST / with X-Amz-Target
 * DynamoDB_20120810.<Op>, Content-Type application/x-amz-json-1.0), signed and sent by
 * enl_aws_request. Same item and same claim rules as src/table/sqlite.c
 * (docs/photo-item.md); the claim is one conditional UpdateItem.
 *
 * References (Amazon DynamoDB Developer Guide / API Reference): UpdateItem, GetItem;
 * "Condition expressions" (attribute_not_exists, comparators, NOT/AND/OR, IN);
 * "Update expressions" (SET and REMOVE in one call); "Error handling with DynamoDB":
 * retry ProvisionedThroughputExceededException, ThrottlingException, RequestLimitExceeded
 * and 5xx with backoff; ConditionalCheckFailedException and ValidationException are
 * final. ReturnValuesOnConditionCheckFailure is not used (dynalite ignores it): a failed
 * claim reads the item back with a consistent GetItem instead. */
#include "enlarger/table.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "enlarger/aws.h"
#include "enlarger/clock.h"
#include "enlarger/log.h"
#include "enlarger/names.h"
#include "claim_internal.h"
#include "dynamodb_internal.h"

#define DDB_RESPONSE_MAX (1u << 20) /* an item is at most 400 KB */
#define DDB_CLAIM_TRIES 5           /* claim races lost to an item that changed meanwhile */
#define DDB_PING_KEY "__enlarger_ping__"
#define DDB_WHAT "the photo table"

struct ddb_table {
	struct enl_table base; /* first: the dispatch casts */
	struct enl_aws_config cfg;
	struct enl_aws_client *client; /* borrowed */
	char *url;
	char table[256];
	char key_attr[256];
	long deadline_ms;
};

/* ---- one call ---- */

void ddb_error_type(const struct enl_aws_response *r, char *out, size_t cap)
{
	out[0] = '\0';
	if (!r->body.data || !r->body.len)
		return;
	json_t *j = json_loadb((const char *)r->body.data, r->body.len, 0, NULL);
	const char *t = json_string_value(json_object_get(j, "__type"));
	if (t) {
		const char *hash = strrchr(t, '#');
		snprintf(out, cap, "%s", hash ? hash + 1 : t);
		/* Names are identifiers; anything else is not echoed. */
		for (char *c = out; *c; c++)
			if (!((*c >= 'A' && *c <= 'Z') || (*c >= 'a' && *c <= 'z') ||
			      (*c >= '0' && *c <= '9'))) {
				*c = '\0';
				break;
			}
	}
	json_decref(j);
}

/* Throttling comes as a 400 with these types; 5xx are retried by the helper. */
static int ddb_retry_if(void *arg, const struct enl_aws_response *r)
{
	(void)arg;
	if (r->status != 400)
		return 0;
	char t[96];
	ddb_error_type(r, t, sizeof(t));
	return strcmp(t, "ProvisionedThroughputExceededException") == 0 ||
	       strcmp(t, "ThrottlingException") == 0 || strcmp(t, "RequestLimitExceeded") == 0;
}

/* Outcome of one call: 0 with *out the parsed 200 body (new reference), ENL_ECONFLICT
 * for ConditionalCheckFailedException, or another enl_err with e set. */
static int ddb_call(struct ddb_table *t, const char *op, json_t *body, json_t **out,
                    struct enl_errmsg *e)
{
	char target[64], type[96];
	struct enl_aws_response r;
	int rc;
	char *text = json_dumps(body, JSON_COMPACT);
	memset(&r, 0, sizeof(r));
	*out = NULL;
	if (!text)
		return enl_fail(e, ENL_ENOMEM, "out of memory");
	snprintf(target, sizeof(target), "DynamoDB_20120810.%s", op);
	struct enl_sigv4_header h[2] = {{"Content-Type", "application/x-amz-json-1.0"},
	                                {"X-Amz-Target", target}};
	struct enl_aws_request rq = {
	    .method = "POST",
	    .url = t->url,
	    .headers = h,
	    .n_headers = 2,
	    .body = text,
	    .body_len = strlen(text),
	    .service = "dynamodb",
	    .region = t->cfg.region,
	    .max_response = DDB_RESPONSE_MAX,
	    .deadline_ms = t->deadline_ms,
	    .retry_if = ddb_retry_if,
	};
	rc = enl_aws_request(t->client, &rq, &r, e);
	if (rc) {
		enl_log_json(rc == ENL_EDENIED ? ENL_LOG_ERROR : ENL_LOG_WARN,
		             "dynamodb request failed",
		             json_pack("{s:s, s:s, s:s, s:i, s:s, s:s}", "op", op, "table",
		                       t->table, "error", enl_err_name(rc), "status", (int)r.status,
		                       "detail", e ? e->text : "", "endpoint", t->url));
		rc = enl_fail_backend(e, rc, DDB_WHAT);
		goto done;
	}
	if (r.status == 200) {
		*out =
		    json_loadb((const char *)r.body.data, r.body.len, JSON_REJECT_DUPLICATES, NULL);
		rc = *out ? ENL_OK : enl_fail(e, ENL_EIO, "photo table: DynamoDB %s: bad JSON", op);
		goto done;
	}
	ddb_error_type(&r, type, sizeof(type));
	if (strcmp(type, "ConditionalCheckFailedException") == 0) {
		rc = ENL_ECONFLICT;
		goto done;
	}
	/* A request DynamoDB refuses as malformed is ours or the table's (a key schema
	 * other than ENLARGER_TABLE_KEY), never the client's: a 500, which EventBridge
	 * retries until it is fixed. The service's own credentials or role: ENL_EDENIED. */
	if (strcmp(type, "ValidationException") == 0 || strcmp(type, "SerializationException") == 0)
		rc = ENL_EINTERNAL;
	else if (r.status == 401 || r.status == 403 ||
	         strcmp(type, "UnrecognizedClientException") == 0 ||
	         strcmp(type, "AccessDeniedException") == 0 ||
	         strcmp(type, "MissingAuthenticationTokenException") == 0 ||
	         strcmp(type, "ExpiredTokenException") == 0 ||
	         strcmp(type, "InvalidSignatureException") == 0 ||
	         strcmp(type, "IncompleteSignatureException") == 0)
		rc = ENL_EDENIED;
	else
		rc = ENL_EIO; /* ResourceNotFoundException (no table), throttling after retries */
	enl_log_json(rc == ENL_EIO ? ENL_LOG_WARN : ENL_LOG_ERROR, "dynamodb request failed",
	             json_pack("{s:s, s:s, s:i, s:s, s:s}", "op", op, "table", t->table, "status",
	                       (int)r.status, "type", type, "endpoint", t->url));
	rc = rc == ENL_EINTERNAL
	         ? enl_fail(e, rc,
	                    "the photo table refused the request; the log has the details "
	                    "under this request id")
	         : enl_fail_backend(e, rc, DDB_WHAT);
done:
	enl_aws_response_free(&r);
	free(text);
	return rc;
}

/* ---- expressions ---- */

/* One UpdateItem being built: the expression attribute names and values actually used
 * (DynamoDB refuses unused ones). */
struct expr {
	json_t *names;  /* "#x" -> attribute name */
	json_t *values; /* ":x" -> AttributeValue */
};

static const char *N(struct expr *x, const char *ph, const char *attr)
{
	json_object_set_new(x->names, ph, json_string(attr));
	return ph;
}

static const char *V(struct expr *x, const char *ph, json_t *av)
{
	json_object_set_new(x->values, ph, av); /* steals av (NULL: set fails, caught later) */
	return ph;
}

/* Appends printf-formatted text to b (capped at construction). */
__attribute__((format(printf, 2, 3))) static int put(struct enl_buf *b, const char *fmt, ...)
{
	char tmp[512];
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(tmp, sizeof(tmp), fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sizeof(tmp))
		return ENL_EINVAL;
	return enl_buf_append(b, tmp, (size_t)n);
}

static json_t *key_of(struct ddb_table *t, const char *photo_id)
{
	return json_pack("{s:{s:s}}", t->key_attr, "S", photo_id);
}

/* UpdateItem with the expressions in upd / cond (cond may be NULL). */
static int update_item(struct ddb_table *t, const char *photo_id, struct expr *x, const char *upd,
                       const char *cond, struct enl_errmsg *e)
{
	json_t *body =
	    json_pack("{s:s, s:o, s:s, s:O}", "TableName", t->table, "Key", key_of(t, photo_id),
	              "UpdateExpression", upd, "ExpressionAttributeNames", x->names);
	json_t *res = NULL;
	int rc;
	if (!body)
		return enl_fail(e, ENL_ENOMEM, "out of memory");
	if (cond)
		json_object_set_new(body, "ConditionExpression", json_string(cond));
	if (json_object_size(x->values))
		json_object_set(body, "ExpressionAttributeValues", x->values);
	rc = ddb_call(t, "UpdateItem", body, &res, e);
	json_decref(res);
	json_decref(body);
	return rc;
}

/* The item as DynamoDB JSON (new reference in *out), or ENL_ENOTFOUND. */
static int get_raw(struct ddb_table *t, const char *photo_id, int consistent, json_t **out,
                   struct enl_errmsg *e)
{
	json_t *body = json_pack("{s:s, s:o, s:b}", "TableName", t->table, "Key",
	                         key_of(t, photo_id), "ConsistentRead", consistent);
	json_t *res = NULL;
	*out = NULL;
	if (!body)
		return enl_fail(e, ENL_ENOMEM, "out of memory");
	int rc = ddb_call(t, "GetItem", body, &res, e);
	json_decref(body);
	if (rc)
		return rc == ENL_ECONFLICT ? enl_fail(e, ENL_EIO, "photo table: GetItem conflict")
		                           : rc;
	json_t *item = json_object_get(res, "Item");
	if (!json_is_object(item)) {
		json_decref(res);
		return enl_fail(e, ENL_ENOTFOUND, "no such photo");
	}
	*out = json_incref(item);
	json_decref(res);
	return ENL_OK;
}

/* ---- claim ---- */

static const char *item_s(json_t *item, const char *name)
{
	return json_string_value(json_object_get(json_object_get(item, name), "S"));
}

static int64_t item_n(json_t *item, const char *name)
{
	const char *n = json_string_value(json_object_get(json_object_get(item, name), "N"));
	return n ? strtoll(n, NULL, 10) : 0;
}

/* One conditional UpdateItem that takes the photo when the rules allow. ENL_OK: taken;
 * ENL_ECONFLICT: the condition failed. The condition is the claim table's OK rows:
 *   no item
 *   OR stored sequencer < ours
 *   OR (same sequencer AND claimable)
 *   OR (no stored sequencer AND (no stored ETag OR another ETag OR claimable))
 * where claimable = not completed/failed and not processing under a live lease. A
 * request without a sequencer has only the ETag part. */
static int claim_write(struct ddb_table *t, const struct enl_claim_req *req, struct enl_errmsg *e)
{
	const char *seq = req->sequencer, *etag = req->etag;
	struct expr x = {json_object(), json_object()};
	struct enl_buf upd = ENL_BUF_INIT, cond = ENL_BUF_INIT;
	char when[32];
	int rc = 0;
	enl_buf_init(&upd, 4096);
	enl_buf_init(&cond, 4096);
	if (!x.names || !x.values) {
		rc = enl_fail(e, ENL_ENOMEM, "out of memory");
		goto done;
	}
	enl_iso8601_ms(req->now_ms, when);
	rc = put(&upd, "SET %s = %s, %s = %s, %s = %s, %s = %s", N(&x, "#st", "processingStatus"),
	         V(&x, ":processing", ddb_av_s("processing")), N(&x, "#att", "attempt"),
	         V(&x, ":att", ddb_av_s(req->attempt)), N(&x, "#lease", "leaseUntil"),
	         V(&x, ":lease", ddb_av_int(req->now_ms + req->lease_ms)),
	         N(&x, "#upd", "updatedAt"), V(&x, ":upd", ddb_av_s(when)));
	if (!rc && etag)
		rc = put(&upd, ", %s = %s", N(&x, "#etag", "etag"), V(&x, ":etag", ddb_av_s(etag)));
	if (!rc && seq)
		rc = put(&upd, ", %s = %s", N(&x, "#seq", "sequencer"),
		         V(&x, ":seq", ddb_av_s(seq)));
	if (!rc && req->bucket)
		rc = put(&upd, ", %s = %s", N(&x, "#bucket", "bucket"),
		         V(&x, ":bucket", ddb_av_s(req->bucket)));
	if (!rc && req->key)
		rc = put(&upd, ", %s = %s", N(&x, "#okey", "objectKey"),
		         V(&x, ":okey", ddb_av_s(req->key)));
	if (!rc)
		rc = put(&upd, " REMOVE %s", N(&x, "#err", "processingError"));
	if (!rc && !etag) /* this version's ETag is unknown: forget the old one */
		rc = put(&upd, ", %s", N(&x, "#etag", "etag"));

	/* The condition (none when the request has neither sequencer nor ETag: such a
	 * request always takes the photo). */
	if (!rc && (seq || etag)) {
		const char *c = "(NOT (#st IN (:completed, :failed)) AND "
		                "NOT (#st = :processing AND #lease > :now))";
		N(&x, "#pk", t->key_attr);
		V(&x, ":completed", ddb_av_s("completed"));
		V(&x, ":failed", ddb_av_s("failed"));
		V(&x, ":now", ddb_av_int(req->now_ms));
		if (seq && etag)
			rc = put(
			    &cond,
			    "attribute_not_exists(#pk) OR #seq < :seq OR (#seq = :seq AND %s) OR "
			    "(attribute_not_exists(#seq) AND (attribute_not_exists(#etag) OR "
			    "#etag <> :etag OR %s))",
			    c, c);
		else if (seq)
			rc = put(
			    &cond,
			    "attribute_not_exists(#pk) OR #seq < :seq OR (#seq = :seq AND %s) OR "
			    "attribute_not_exists(#seq)",
			    c);
		else
			rc = put(&cond,
			         "attribute_not_exists(#pk) OR attribute_not_exists(#etag) OR "
			         "#etag <> :etag OR %s",
			         c);
	}
	if (rc) {
		rc = rc == ENL_ENOMEM ? enl_fail(e, rc, "out of memory")
		                      : enl_fail(e, ENL_EINTERNAL, "claim expression too long");
		goto done;
	}
	/* A value that failed to allocate was never set: count what must be there. */
	if (json_object_size(x.values) <
	    4u + !!etag + !!seq + !!req->bucket + !!req->key + ((seq || etag) ? 3u : 0u)) {
		rc = enl_fail(e, ENL_ENOMEM, "out of memory");
		goto done;
	}
	rc = update_item(t, req->photo_id, &x, (const char *)upd.data,
	                 cond.len ? (const char *)cond.data : NULL, e);
done:
	json_decref(x.names);
	json_decref(x.values);
	enl_buf_free(&upd);
	enl_buf_free(&cond);
	return rc;
}

/* A conditional write (the claim's, the delete's) and, when its condition fails, a
 * consistent read of the item classified by the same table the SQLite table decides with.
 * write returns ENL_OK (written) or ENL_ECONFLICT (the condition failed); classify gets
 * the item (NULL: there is none), records the decision in ud and returns 1 when the item
 * changed in between and the write should be tried again. ENL_OK when written or decided. */
static int write_or_classify(struct ddb_table *t, const char *photo_id, const char *what,
                             int (*write)(struct ddb_table *t, void *ud, struct enl_errmsg *e),
                             int (*classify)(void *ud, json_t *item), void *ud,
                             struct enl_errmsg *e)
{
	for (int tries = 0; tries < DDB_CLAIM_TRIES; tries++) {
		int rc = write(t, ud, e);
		if (rc != ENL_ECONFLICT)
			return rc;
		json_t *item = NULL;
		rc = get_raw(t, photo_id, 1, &item, e);
		if (rc && rc != ENL_ENOTFOUND)
			return rc;
		int again = classify(ud, item);
		json_decref(item);
		if (!again)
			return ENL_OK;
	}
	return enl_fail(e, ENL_ETIMEOUT, "photo table: %s kept racing; try again", what);
}

struct claim_ctx {
	const struct enl_claim_req *req;
	enum enl_claim_result res;
};

static int claim_write_cb(struct ddb_table *t, void *ud, struct enl_errmsg *e)
{
	return claim_write(t, ((struct claim_ctx *)ud)->req, e);
}

static int claim_classify(void *ud, json_t *item)
{
	struct claim_ctx *c = ud;
	const struct enl_claim_req *req = c->req;
	if (!item)
		return 1; /* deleted in between: try again */
	const char *att = item_s(item, "attempt"), *st = item_s(item, "processingStatus");
	if (att && strcmp(att, req->attempt) == 0 && st && strcmp(st, "processing") == 0) {
		/* Our own write landed and its answer was lost (a timeout, then the helper's
		 * retry found the condition false): the claim is ours. */
		c->res = ENL_CLAIM_OK;
		return 0;
	}
	c->res = enl_table_claim_decide(1, item_s(item, "sequencer"), item_s(item, "etag"), st,
	                                item_n(item, "leaseUntil"), req->sequencer, req->etag,
	                                req->now_ms);
	return c->res == ENL_CLAIM_OK; /* claimable now: it changed in between */
}

static int ddb_claim(struct enl_table *tb, const struct enl_claim_req *req,
                     enum enl_claim_result *out, struct enl_errmsg *e)
{
	struct claim_ctx c = {req, ENL_CLAIM_OK};
	int rc = write_or_classify((struct ddb_table *)tb, req->photo_id, "claim", claim_write_cb,
	                           claim_classify, &c, e);
	if (!rc)
		*out = c.res;
	return rc;
}

/* ---- complete / fail / release ---- */

/* An UpdateItem conditional on the attempt owning the item: a failed condition is the
 * caller's ENL_ECONFLICT, said the same way by complete, fail, release and renew. */
static int owned_update(struct ddb_table *t, const char *photo_id, struct expr *x, const char *upd,
                        const char *cond, struct enl_errmsg *e)
{
	int rc = update_item(t, photo_id, x, upd, cond, e);
	return rc == ENL_ECONFLICT ? enl_fail(e, ENL_ECONFLICT, "a newer attempt owns this photo")
	                           : rc;
}

static int ddb_complete(struct enl_table *tb, const char *photo_id, const char *attempt,
                        json_t *fields, struct enl_errmsg *e)
{
	struct ddb_table *t = (struct ddb_table *)tb;
	struct expr x = {json_object(), json_object()};
	struct enl_buf set = ENL_BUF_INIT, rem = ENL_BUF_INIT, upd = ENL_BUF_INIT;
	char when[32];
	int rc = ENL_OK;
	enl_buf_init(&set, 16384);
	enl_buf_init(&rem, 16384);
	enl_buf_init(&upd, 32768);
	if (!x.names || !x.values) {
		rc = enl_fail(e, ENL_ENOMEM, "out of memory");
		goto done;
	}
	enl_iso8601_ms(enl_wall_ms(), when);
	rc = put(&set, "SET %s = %s, %s = %s", N(&x, "#st", "processingStatus"),
	         V(&x, ":completed", ddb_av_s("completed")), N(&x, "#upd", "updatedAt"),
	         V(&x, ":upd", ddb_av_s(when)));
	if (!rc)
		rc = put(&rem, " REMOVE %s, %s", N(&x, "#err", "processingError"),
		         N(&x, "#lease", "leaseUntil"));
	for (size_t i = 0; !rc && i < ddb_n_fields; i++) {
		const struct ddb_field *f = &ddb_fields[i];
		if (f->kind == DDB_CONTROL)
			continue;
		char ph[32], vph[32];
		snprintf(ph, sizeof(ph), "#f%zu", i);
		snprintf(vph, sizeof(vph), ":f%zu", i);
		json_t *av = NULL;
		rc = f->kind == DDB_RESULT ? ddb_result_value(&av, f, fields, e) : ENL_OK;
		if (rc)
			goto done;
		if (!av && strcmp(f->name, "processedAt") == 0)
			av = ddb_av_s(when);
		N(&x, ph, f->name);
		if (av)
			rc = put(&set, ", %s = %s", ph, V(&x, vph, av));
		else
			rc = put(&rem, ", %s", ph);
	}
	if (!rc)
		rc = put(&upd, "%s%s", (const char *)set.data, (const char *)rem.data);
	if (rc) {
		rc = rc == ENL_ENOMEM ? enl_fail(e, rc, "out of memory")
		                      : enl_fail(e, ENL_EINTERNAL, "update expression too long");
		goto done;
	}
	N(&x, "#att", "attempt");
	V(&x, ":att", ddb_av_s(attempt));
	rc = owned_update(t, photo_id, &x, (const char *)upd.data, "#att = :att", e);
done:
	json_decref(x.names);
	json_decref(x.values);
	enl_buf_free(&set);
	enl_buf_free(&rem);
	enl_buf_free(&upd);
	return rc;
}

/* fail and release: status, processingError = reason, no lease, when attempt owns the
 * item; release also needs it still processing, and leaves it owned by no attempt. */
static int owned_reason_update(struct ddb_table *t, const char *photo_id, const char *attempt,
                               const char *status, const char *reason, int only_processing,
                               struct enl_errmsg *e)
{
	struct expr x = {json_object(), json_object()};
	char when[32];
	int rc;
	if (!x.names || !x.values) {
		rc = enl_fail(e, ENL_ENOMEM, "out of memory");
		goto done;
	}
	enl_iso8601_ms(enl_wall_ms(), when);
	char upd[256];
	snprintf(upd, sizeof(upd), "SET %s = %s, %s = %s, %s = %s REMOVE %s%s",
	         N(&x, "#st", "processingStatus"), V(&x, ":status", ddb_av_s(status)),
	         N(&x, "#err", "processingError"), V(&x, ":err", ddb_av_s(reason)),
	         N(&x, "#upd", "updatedAt"), V(&x, ":upd", ddb_av_s(when)),
	         N(&x, "#lease", "leaseUntil"), only_processing ? ", #att" : "");
	N(&x, "#att", "attempt");
	V(&x, ":att", ddb_av_s(attempt));
	if (only_processing)
		V(&x, ":processing", ddb_av_s("processing"));
	if (json_object_size(x.values) != 4u + !!only_processing) {
		rc = enl_fail(e, ENL_ENOMEM, "out of memory");
		goto done;
	}
	rc = owned_update(t, photo_id, &x, upd,
	                  only_processing ? "#att = :att AND #st = :processing" : "#att = :att", e);
done:
	json_decref(x.names);
	json_decref(x.values);
	return rc;
}

static int ddb_fail(struct enl_table *tb, const char *photo_id, const char *attempt,
                    const char *reason, struct enl_errmsg *e)
{
	return owned_reason_update((struct ddb_table *)tb, photo_id, attempt, "failed", reason, 0,
	                           e);
}

/* Conditional on the attempt (and on "processing"), like complete and fail. */
static int ddb_release(struct enl_table *tb, const char *photo_id, const char *attempt,
                       const char *reason, struct enl_errmsg *e)
{
	return owned_reason_update((struct ddb_table *)tb, photo_id, attempt, "pending", reason, 1,
	                           e);
}

/* The heartbeat: only leaseUntil moves, and only under a live claim of this attempt (a
 * missing item fails the condition too, so nothing is created). */
static int ddb_renew(struct enl_table *tb, const char *photo_id, const char *attempt,
                     int64_t lease_until_ms, struct enl_errmsg *e)
{
	struct expr x = {json_object(), json_object()};
	int rc;
	if (!x.names || !x.values) {
		rc = enl_fail(e, ENL_ENOMEM, "out of memory");
		goto done;
	}
	N(&x, "#lease", "leaseUntil");
	N(&x, "#att", "attempt");
	N(&x, "#st", "processingStatus");
	V(&x, ":lease", ddb_av_int(lease_until_ms));
	V(&x, ":att", ddb_av_s(attempt));
	V(&x, ":processing", ddb_av_s("processing"));
	if (json_object_size(x.values) != 3) {
		rc = enl_fail(e, ENL_ENOMEM, "out of memory");
		goto done;
	}
	rc = owned_update((struct ddb_table *)tb, photo_id, &x, "SET #lease = :lease",
	                  "#att = :att AND #st = :processing", e);
done:
	json_decref(x.names);
	json_decref(x.values);
	return rc;
}

/* ---- delete ---- */

/* One conditional UpdateItem that records the delete when the delete table says OK:
 *   the item exists AND it names no key or this key
 *   AND (no stored sequencer OR stored < ours OR (same AND not deleted yet))
 * (without a sequencer: AND not deleted yet). Keeps bucket and objectKey; removes every
 * result attribute (and the names an older version wrote), the version and the owner.
 * ENL_OK: written; ENL_ECONFLICT: the condition failed. */
static int delete_write(struct ddb_table *t, const struct enl_delete_req *req, struct enl_errmsg *e)
{
	struct expr x = {json_object(), json_object()};
	struct enl_buf upd = ENL_BUF_INIT;
	char when[32];
	int rc = 0;
	enl_buf_init(&upd, 16384);
	if (!x.names || !x.values) {
		rc = enl_fail(e, ENL_ENOMEM, "out of memory");
		goto done;
	}
	enl_iso8601_ms(req->now_ms, when);
	rc = put(&upd, "SET %s = %s, %s = %s", N(&x, "#st", "processingStatus"),
	         V(&x, ":deleted", ddb_av_s("deleted")), N(&x, "#upd", "updatedAt"),
	         V(&x, ":upd", ddb_av_s(when)));
	if (!rc && req->sequencer)
		rc = put(&upd, ", %s = %s", N(&x, "#seq", "sequencer"),
		         V(&x, ":seq", ddb_av_s(req->sequencer)));
	if (!rc)
		rc = put(&upd, " REMOVE %s, %s, %s, %s", N(&x, "#err", "processingError"),
		         N(&x, "#etag", "etag"), N(&x, "#att", "attempt"),
		         N(&x, "#lease", "leaseUntil"));
	for (size_t i = 0; !rc && i < ddb_n_fields; i++) {
		if (ddb_fields[i].kind == DDB_CONTROL)
			continue;
		char ph[32];
		snprintf(ph, sizeof(ph), "#f%zu", i);
		rc = put(&upd, ", %s", N(&x, ph, ddb_fields[i].name));
	}
	N(&x, "#pk", t->key_attr);
	N(&x, "#okey", "objectKey");
	V(&x, ":okey", ddb_av_s(req->key));
	if (rc) {
		rc = rc == ENL_ENOMEM ? enl_fail(e, rc, "out of memory")
		                      : enl_fail(e, ENL_EINTERNAL, "delete expression too long");
		goto done;
	}
	if (json_object_size(x.values) != 3u + !!req->sequencer) {
		rc = enl_fail(e, ENL_ENOMEM, "out of memory");
		goto done;
	}
	rc = update_item(t, req->photo_id, &x, (const char *)upd.data,
	                 req->sequencer
	                     ? "attribute_exists(#pk) AND (attribute_not_exists(#okey) OR "
	                       "#okey = :okey) AND (attribute_not_exists(#seq) OR #seq < :seq OR "
	                       "(#seq = :seq AND #st <> :deleted))"
	                     : "attribute_exists(#pk) AND (attribute_not_exists(#okey) OR "
	                       "#okey = :okey) AND #st <> :deleted",
	                 e);
done:
	json_decref(x.names);
	json_decref(x.values);
	enl_buf_free(&upd);
	return rc;
}

struct delete_ctx {
	const struct enl_delete_req *req;
	enum enl_delete_result res;
};

static int delete_write_cb(struct ddb_table *t, void *ud, struct enl_errmsg *e)
{
	return delete_write(t, ((struct delete_ctx *)ud)->req, e);
}

static int delete_classify(void *ud, json_t *item)
{
	struct delete_ctx *c = ud;
	c->res = item ? enl_table_delete_decide(
	                    1, item_s(item, "sequencer"), item_s(item, "objectKey"),
	                    item_s(item, "processingStatus"), c->req->sequencer, c->req->key)
	              : ENL_DELETE_NO_ITEM;
	return c->res == ENL_DELETE_OK; /* deletable now: it changed in between */
}

static int ddb_mark_deleted(struct enl_table *tb, const struct enl_delete_req *req,
                            enum enl_delete_result *out, struct enl_errmsg *e)
{
	struct delete_ctx c = {req, ENL_DELETE_OK};
	int rc = write_or_classify((struct ddb_table *)tb, req->photo_id, "delete", delete_write_cb,
	                           delete_classify, &c, e);
	if (!rc)
		*out = c.res;
	return rc;
}

/* ---- get / ping ---- */

static int ddb_get(struct enl_table *tb, const char *photo_id, json_t **out, struct enl_errmsg *e)
{
	struct ddb_table *t = (struct ddb_table *)tb;
	json_t *item = NULL;
	int rc = get_raw(t, photo_id, 1, &item, e);
	if (rc)
		return rc;
	*out = ddb_item_to_json(item, t->key_attr);
	json_decref(item);
	return *out ? ENL_OK : enl_fail(e, ENL_ENOMEM, "out of memory");
}

/* A GetItem of a key no photo has: proves the endpoint, the credentials, the table and
 * the GetItem permission (the task role has GetItem and UpdateItem only, not
 * DescribeTable). */
static int ddb_ping(struct enl_table *tb, struct enl_errmsg *e)
{
	struct ddb_table *t = (struct ddb_table *)tb;
	json_t *item = NULL;
	int rc = get_raw(t, DDB_PING_KEY, 0, &item, e);
	json_decref(item);
	return rc == ENL_ENOTFOUND ? ENL_OK : rc;
}

static void ddb_destroy(struct enl_table *tb)
{
	struct ddb_table *t = (struct ddb_table *)tb;
	if (!t)
		return;
	free(t->url);
	free(t);
}

static const struct enl_table_ops ddb_ops = {
    .claim = ddb_claim,
    .complete = ddb_complete,
    .fail = ddb_fail,
    .release = ddb_release,
    .renew = ddb_renew,
    .mark_deleted = ddb_mark_deleted,
    .get = ddb_get,
    .ping = ddb_ping,
    .destroy = ddb_destroy,
};

int enl_table_dynamodb_open(const struct enl_aws_config *cfg, struct enl_aws_client *client,
                            long deadline_ms, const char *table, const char *key_attr,
                            struct enl_table **out, struct enl_errmsg *e)
{
	*out = NULL;
	if (!cfg || !client)
		return enl_fail(e, ENL_EINVAL,
		                "DynamoDB table needs an AWS configuration and client");
	/* DynamoDB table names are 3-255 of [A-Za-z0-9_.-]. */
	if (!enl_ident_ok(table, 255) || strlen(table) < 3)
		return enl_fail(e, ENL_EINVAL,
		                "dynamodb table: table name must be 3-255 of A-Z a-z 0-9 _ . -");
	if (!enl_ident_ok(key_attr, 255))
		return enl_fail(e, ENL_EINVAL,
		                "dynamodb table: key attribute must be 1-255 of A-Z a-z 0-9 _ . -");
	if (ddb_key_clashes(key_attr))
		return enl_fail(e, ENL_EINVAL,
		                "dynamodb table: key attribute clashes with a field");
	struct ddb_table *t = calloc(1, sizeof(*t));
	if (!t)
		return enl_fail(e, ENL_ENOMEM, "out of memory");
	t->base.ops = &ddb_ops;
	t->base.name = "dynamodb";
	t->cfg = *cfg;
	t->client = client;
	t->deadline_ms = deadline_ms > 0 ? deadline_ms : 0;
	snprintf(t->table, sizeof(t->table), "%s", table);
	snprintf(t->key_attr, sizeof(t->key_attr), "%s", key_attr);
	if (enl_aws_dynamodb_url(&t->url, cfg)) {
		ddb_destroy(&t->base);
		return enl_fail(e, ENL_ENOMEM, "out of memory");
	}
	*out = &t->base;
	return ENL_OK;
}

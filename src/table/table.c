/* Photo table dispatch: the enl_table_* calls check and normalise the contract (ids,
 * sequencer padding, ETag quotes, the reason's cap, the result's type) once, then forward
 * to the implementation's ops, so SQLite and DynamoDB cannot drift apart on it. */
#include "enlarger/table.h"

#include <stdio.h>
#include <string.h>

#include "enlarger/text.h"

/* An ETag is at most 80 bytes with its quotes (struct enl_object_info); a longer one
 * is cut here, as it would be when stored in the object info. */
#define TABLE_ETAG_MAX 127

#define ENL_TABLE_CHECK(t, op, e)                                                                  \
	do {                                                                                       \
		if (!(t) || !(t)->ops || !(t)->ops->op)                                            \
			return enl_fail((e), ENL_EINTERNAL, "photo table not configured");         \
	} while (0)

/* seq padded into buf (a request's sequencer, NULL when none): *out is buf or NULL. */
static int pad_sequencer(const char *seq, char buf[ENL_SEQ_WIDTH + 1], const char **out,
                         struct enl_errmsg *e)
{
	*out = NULL;
	if (!seq)
		return ENL_OK;
	if (enl_seq_pad(seq, buf) != ENL_OK)
		return enl_fail(e, ENL_EINVAL, "sequencer is not a hex string of at most %d",
		                ENL_SEQ_WIDTH);
	*out = buf;
	return ENL_OK;
}

int enl_table_claim(struct enl_table *t, const struct enl_claim_req *req,
                    enum enl_claim_result *out, struct enl_errmsg *e)
{
	ENL_TABLE_CHECK(t, claim, e);
	if (!req || !req->photo_id || !req->photo_id[0] || !req->attempt || !req->attempt[0])
		return enl_fail(e, ENL_EINVAL, "claim needs a photo id and an attempt id");
	struct enl_claim_req r = *req;
	char seq[ENL_SEQ_WIDTH + 1], etag[TABLE_ETAG_MAX + 1];
	int rc = pad_sequencer(req->sequencer, seq, &r.sequencer, e);
	if (rc)
		return rc;
	if (req->etag) {
		size_t n = strlen(req->etag);
		const char *v = enl_unquote(req->etag, &n);
		snprintf(etag, sizeof(etag), "%.*s", (int)n, v);
		r.etag = etag[0] ? etag : NULL; /* empty: this version's ETag is unknown */
	}
	return t->ops->claim(t, &r, out, e);
}

int enl_table_complete(struct enl_table *t, const char *photo_id, const char *attempt,
                       json_t *fields, struct enl_errmsg *e)
{
	ENL_TABLE_CHECK(t, complete, e);
	if (!photo_id || !attempt)
		return enl_fail(e, ENL_EINVAL, "complete needs a photo id and an attempt id");
	if (fields && !json_is_object(fields))
		return enl_fail(e, ENL_EINVAL, "result fields must be an object");
	return t->ops->complete(t, photo_id, attempt, fields, e);
}

/* reason (NULL: "") cut to ENL_TABLE_REASON_MAX bytes on a UTF-8 character boundary, in
 * out when it had to be cut. Borrowed. */
static const char *cap_reason(const char *reason, char out[ENL_TABLE_REASON_MAX + 1])
{
	if (!reason)
		return "";
	size_t n = strnlen(reason, ENL_TABLE_REASON_MAX + 1);
	if (n <= ENL_TABLE_REASON_MAX)
		return reason;
	n = ENL_TABLE_REASON_MAX;
	while (n > 0 && ((unsigned char)reason[n] & 0xc0) == 0x80)
		n--;
	memcpy(out, reason, n);
	out[n] = '\0';
	return out;
}

int enl_table_fail(struct enl_table *t, const char *photo_id, const char *attempt,
                   const char *reason, struct enl_errmsg *e)
{
	ENL_TABLE_CHECK(t, fail, e);
	if (!photo_id || !attempt)
		return enl_fail(e, ENL_EINVAL, "fail needs a photo id and an attempt id");
	char buf[ENL_TABLE_REASON_MAX + 1];
	return t->ops->fail(t, photo_id, attempt, cap_reason(reason, buf), e);
}

int enl_table_release(struct enl_table *t, const char *photo_id, const char *attempt,
                      const char *reason, struct enl_errmsg *e)
{
	ENL_TABLE_CHECK(t, release, e);
	if (!photo_id || !attempt)
		return enl_fail(e, ENL_EINVAL, "release needs a photo id and an attempt id");
	char buf[ENL_TABLE_REASON_MAX + 1];
	return t->ops->release(t, photo_id, attempt, cap_reason(reason, buf), e);
}

int enl_table_renew(struct enl_table *t, const char *photo_id, const char *attempt,
                    int64_t lease_until_ms, struct enl_errmsg *e)
{
	ENL_TABLE_CHECK(t, renew, e);
	if (!photo_id || !attempt)
		return enl_fail(e, ENL_EINVAL, "renew needs a photo id and an attempt id");
	return t->ops->renew(t, photo_id, attempt, lease_until_ms, e);
}

int enl_table_mark_deleted(struct enl_table *t, const struct enl_delete_req *req,
                           enum enl_delete_result *out, struct enl_errmsg *e)
{
	ENL_TABLE_CHECK(t, mark_deleted, e);
	if (!req || !req->photo_id || !req->photo_id[0] || !req->key || !req->key[0])
		return enl_fail(e, ENL_EINVAL, "a delete needs a photo id and a key");
	struct enl_delete_req r = *req;
	char seq[ENL_SEQ_WIDTH + 1];
	int rc = pad_sequencer(req->sequencer, seq, &r.sequencer, e);
	return rc ? rc : t->ops->mark_deleted(t, &r, out, e);
}

int enl_table_get(struct enl_table *t, const char *photo_id, json_t **out, struct enl_errmsg *e)
{
	ENL_TABLE_CHECK(t, get, e);
	*out = NULL;
	if (!photo_id)
		return enl_fail(e, ENL_EINVAL, "get needs a photo id");
	return t->ops->get(t, photo_id, out, e);
}

int enl_table_ping(struct enl_table *t, struct enl_errmsg *e)
{
	ENL_TABLE_CHECK(t, ping, e);
	return t->ops->ping(t, e);
}

void enl_table_destroy(struct enl_table *t)
{
	if (t && t->ops && t->ops->destroy)
		t->ops->destroy(t);
}

int enl_seq_pad(const char *seq, char out[ENL_SEQ_WIDTH + 1])
{
	if (!seq)
		return ENL_EINVAL;
	size_t n = strnlen(seq, ENL_SEQ_WIDTH + 1);
	if (n == 0 || n > ENL_SEQ_WIDTH)
		return ENL_EINVAL;
	size_t pad = ENL_SEQ_WIDTH - n;
	memset(out, '0', pad);
	for (size_t i = 0; i < n; i++) {
		char c = seq[i];
		/* Upper case, as S3 writes them, so "0a" and "0A" are the same sequencer
		 * and compare bytewise in SQLite and DynamoDB alike. */
		if (c >= 'a' && c <= 'f')
			c = (char)(c - 'a' + 'A');
		else if (!((c >= '0' && c <= '9') || (c >= 'A' && c <= 'F')))
			return ENL_EINVAL;
		out[pad + i] = c;
	}
	out[ENL_SEQ_WIDTH] = '\0';
	return ENL_OK;
}

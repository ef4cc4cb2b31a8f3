/* Photo table dispatch: the enl_table_* calls forward to the implementation's ops,
 * and sequencer padding shared by every implementation. */
#include "enlarger/table.h"

#include <string.h>

#define ENL_TABLE_CHECK(t, op, e)                                                                  \
	do {                                                                                       \
		if (!(t) || !(t)->ops || !(t)->ops->op)                                            \
			return enl_fail((e), ENL_EINTERNAL, "photo table not configured");         \
	} while (0)

int enl_table_claim(struct enl_table *t, const struct enl_claim_req *req,
                    enum enl_claim_result *out, struct enl_errmsg *e)
{
	ENL_TABLE_CHECK(t, claim, e);
	if (!req || !req->photo_id || !req->photo_id[0] || !req->attempt || !req->attempt[0])
		return enl_fail(e, ENL_EINVAL, "claim needs a photo id and an attempt id");
	return t->ops->claim(t, req, out, e);
}

int enl_table_complete(struct enl_table *t, const char *photo_id, const char *attempt,
                       json_t *fields, struct enl_errmsg *e)
{
	ENL_TABLE_CHECK(t, complete, e);
	if (!photo_id || !attempt)
		return enl_fail(e, ENL_EINVAL, "complete needs a photo id and an attempt id");
	return t->ops->complete(t, photo_id, attempt, fields, e);
}

int enl_table_fail(struct enl_table *t, const char *photo_id, const char *attempt,
                   const char *reason, struct enl_errmsg *e)
{
	ENL_TABLE_CHECK(t, fail, e);
	if (!photo_id || !attempt)
		return enl_fail(e, ENL_EINVAL, "fail needs a photo id and an attempt id");
	return t->ops->fail(t, photo_id, attempt, reason ? reason : "", e);
}

int enl_table_release(struct enl_table *t, const char *photo_id, const char *attempt,
                      const char *reason, struct enl_errmsg *e)
{
	ENL_TABLE_CHECK(t, release, e);
	if (!photo_id || !attempt)
		return enl_fail(e, ENL_EINVAL, "release needs a photo id and an attempt id");
	return t->ops->release(t, photo_id, attempt, reason ? reason : "", e);
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

/* The claim and delete rules shared by the SQLite and DynamoDB tables (see
 * claim_internal.h). */
#include "claim_internal.h"

#include <string.h>

enum enl_claim_result enl_table_claim_decide(int has_row, const char *st_seq, const char *st_etag,
                                             const char *status, int64_t lease_until,
                                             const char *seq, const char *etag, int64_t now)
{
	if (!has_row)
		return ENL_CLAIM_OK;
	/* A version deleted under this sequencer is as done as a processed one: an upload
	 * event cannot share a delete's sequencer, so only a replay would. */
	int done = status && (strcmp(status, "completed") == 0 || strcmp(status, "failed") == 0 ||
	                      strcmp(status, "deleted") == 0);
	int live = status && strcmp(status, "processing") == 0 && lease_until > now;
	if (seq && st_seq && st_seq[0]) {
		int c = strcmp(st_seq, seq);
		if (c < 0)
			return ENL_CLAIM_OK; /* newer: take over, even from a live older attempt */
		if (c > 0)
			return ENL_CLAIM_STALE;
		return done ? ENL_CLAIM_DUPLICATE : live ? ENL_CLAIM_BUSY : ENL_CLAIM_OK;
	}
	/* No sequencer on one side (a curl request, or a row a curl request made): the
	 * ETag says whether it is the same object. */
	if (etag && st_etag && strcmp(etag, st_etag) == 0)
		return done ? ENL_CLAIM_DUPLICATE : live ? ENL_CLAIM_BUSY : ENL_CLAIM_OK;
	return ENL_CLAIM_OK;
}

enum enl_delete_result enl_table_delete_decide(int has_row, const char *st_seq, const char *st_key,
                                               const char *status, const char *seq, const char *key)
{
	if (!has_row)
		return ENL_DELETE_NO_ITEM;
	/* Two originals can share a photo id (the basename rules): a delete of one never
	 * touches the other's item. An item the gallery made before any event names no key. */
	if (st_key && st_key[0] && strcmp(st_key, key) != 0)
		return ENL_DELETE_OTHER_KEY;
	int deleted = status && strcmp(status, "deleted") == 0;
	if (seq && st_seq && st_seq[0]) {
		int c = strcmp(st_seq, seq);
		if (c > 0)
			return ENL_DELETE_STALE; /* a newer upload (or delete) is stored */
		if (c == 0 && deleted)
			return ENL_DELETE_DUPLICATE;
		return ENL_DELETE_OK;
	}
	return deleted ? ENL_DELETE_DUPLICATE : ENL_DELETE_OK;
}

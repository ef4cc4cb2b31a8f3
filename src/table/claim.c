/* The claim rules shared by the SQLite and DynamoDB tables (see claim_internal.h). */
#include "claim_internal.h"

#include <string.h>

enum enl_claim_result enl_table_claim_decide(int has_row, const char *st_seq, const char *st_etag,
                                             const char *status, int64_t lease_until,
                                             const char *seq, const char *etag, int64_t now)
{
	if (!has_row)
		return ENL_CLAIM_OK;
	int done = status && (strcmp(status, "completed") == 0 || strcmp(status, "failed") == 0);
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

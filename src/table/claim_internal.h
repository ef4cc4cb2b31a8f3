/* The claim rules both photo tables apply (src/table/claim.c), so SQLite and DynamoDB
 * decide a claim the same way. */
#ifndef ENLARGER_TABLE_CLAIM_INTERNAL_H
#define ENLARGER_TABLE_CLAIM_INTERNAL_H

#include <stdint.h>

#include "enlarger/table.h"

/* The claim rules (docs/photo-item.md), given the stored row (has_row 0: none; st_seq,
 * st_etag, status and lease_until are its fields) and the claim's sequencer, ETag and
 * the time now (ms). SQLite decides with it; DynamoDB classifies a failed condition. */
enum enl_claim_result enl_table_claim_decide(int has_row, const char *st_seq, const char *st_etag,
                                             const char *status, int64_t lease_until,
                                             const char *seq, const char *etag, int64_t now);

/* The delete rules (docs/photo-item.md, "Delete"), given the stored row (has_row 0:
 * none; st_seq, st_key and status are its fields) and the delete's sequencer and key. */
enum enl_delete_result enl_table_delete_decide(int has_row, const char *st_seq, const char *st_key,
                                               const char *status, const char *seq,
                                               const char *key);

#endif

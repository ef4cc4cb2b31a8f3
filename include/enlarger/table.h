/* Photo table: one item per photo, keyed by photo id. Implementations: SQLite
 * (src/table/sqlite.c, the embedded default) and DynamoDB (src/table/dynamodb.c). */
#ifndef ENLARGER_TABLE_H
#define ENLARGER_TABLE_H

#include <stdint.h>

#include <jansson.h>

#include "enlarger/err.h"

/* Sequencers compare as hex strings after left-padding to this width, so the
 * stored form is always this long (DynamoDB compares strings bytewise). */
#define ENL_SEQ_WIDTH 32

/* processingError holds at most this many bytes of a fail or release reason. */
#define ENL_TABLE_REASON_MAX 1000

/* What a claim found, decided atomically in the table. */
enum enl_claim_result {
	ENL_CLAIM_OK,        /* this attempt owns the photo: status is now "processing" */
	ENL_CLAIM_DUPLICATE, /* same sequencer (or ETag) already completed or failed */
	ENL_CLAIM_STALE,     /* a newer sequencer is stored: nothing to do */
	ENL_CLAIM_BUSY,      /* same sequencer is being processed and its lease is live */
};

struct enl_claim_req {
	const char *photo_id;
	const char *sequencer; /* padded to ENL_SEQ_WIDTH, or NULL (curl requests) */
	const char *etag;      /* the original's ETag; decides when sequencer is NULL */
	const char *attempt;   /* unique id of this attempt; complete/fail must quote it */
	const char *bucket;    /* original's location, stored on the item */
	const char *key;
	int64_t now_ms;
	int64_t lease_ms; /* a processing claim older than this may be taken over */
};

/* What a delete found, decided atomically in the table. */
enum enl_delete_result {
	ENL_DELETE_OK,        /* the item is now "deleted", its result attributes removed */
	ENL_DELETE_NO_ITEM,   /* no item: none is created for a delete */
	ENL_DELETE_OTHER_KEY, /* the item is another original's (the same photo id): untouched */
	ENL_DELETE_STALE,     /* a newer sequencer is stored: nothing changed */
	ENL_DELETE_DUPLICATE, /* this delete was recorded already: nothing changed */
};

struct enl_delete_req {
	const char *photo_id;
	const char *sequencer; /* the delete event's, padded (enl_seq_pad); NULL when none */
	const char *key;       /* the deleted original's key */
	int64_t now_ms;
};

struct enl_table;

/* What an implementation provides. The enl_table_* calls check and normalise the contract
 * before they dispatch (src/table/table.c), so an implementation gets: ids and attempts
 * that are not NULL; a claim whose sequencer is padded (enl_seq_pad) or NULL and whose
 * etag has no surrounding quotes and is NULL when empty; a delete whose sequencer is padded
 * or NULL and whose key is not NULL; complete's fields NULL or an
 * object; a fail or release reason that is not NULL and holds at most
 * ENL_TABLE_REASON_MAX bytes, cut on a UTF-8 character boundary. */
struct enl_table_ops {
	int (*claim)(struct enl_table *t, const struct enl_claim_req *req,
	             enum enl_claim_result *out, struct enl_errmsg *e);
	/* fields: a flat object of the result (see docs/photo-item.md); borrowed. */
	int (*complete)(struct enl_table *t, const char *photo_id, const char *attempt,
	                json_t *fields, struct enl_errmsg *e);
	int (*fail)(struct enl_table *t, const char *photo_id, const char *attempt,
	            const char *reason, struct enl_errmsg *e);
	int (*release)(struct enl_table *t, const char *photo_id, const char *attempt,
	               const char *reason, struct enl_errmsg *e);
	int (*renew)(struct enl_table *t, const char *photo_id, const char *attempt,
	             int64_t lease_until_ms, struct enl_errmsg *e);
	int (*mark_deleted)(struct enl_table *t, const struct enl_delete_req *req,
	                    enum enl_delete_result *out, struct enl_errmsg *e);
	int (*get)(struct enl_table *t, const char *photo_id, json_t **out, struct enl_errmsg *e);
	int (*ping)(struct enl_table *t, struct enl_errmsg *e);
	void (*destroy)(struct enl_table *t);
};

struct enl_table {
	const struct enl_table_ops *ops;
	const char *name; /* "sqlite" or "dynamodb" */
};

/* claim: ENL_OK with *out set, ENL_EINVAL for a sequencer that is not hex, or
 * ENL_EIO/ENL_ETIMEOUT. The rules are in docs/photo-item.md; req->sequencer is
 * padded again (enl_seq_pad) and req->etag compared without surrounding quotes (an
 * empty one is no ETag).
 * complete replaces every result field (absent ones are removed, so a new version
 * of a photo keeps none of the old one's EXIF or GPS), sets processedAt (now, unless
 * fields gives one) and status "completed"; ENL_EINVAL when a field has the wrong
 * JSON type. fail sets status "failed" and processingError (capped at
 * ENL_TABLE_REASON_MAX bytes).
 * complete/fail: ENL_OK, ENL_ECONFLICT when attempt no longer owns the photo (a
 * newer event took over: the result is dropped), ENL_EIO/ENL_ETIMEOUT.
 * release gives a claim back after a retryable failure (store or table error, out of
 * memory, timeout) so the event's retry need not wait for the lease: only while attempt
 * still owns the item and it is "processing", status becomes "pending", leaseUntil and
 * attempt are removed, processingError is set to reason (capped as for fail); sequencer
 * and ETag stay, so the retry of the same event claims OK and an older one is stale.
 * ENL_OK, ENL_ECONFLICT (not owned or no longer processing: nothing changes),
 * ENL_EIO/ENL_ETIMEOUT (best effort: the lease still ends).
 * renew is the claim's heartbeat: while attempt still owns the item and it is
 * "processing", leaseUntil becomes lease_until_ms (nothing else changes), so a lease
 * can be short (a dead process's claim is soon free) and still never run out under
 * work that goes on. ENL_OK, ENL_ECONFLICT (not owned or no longer processing:
 * nothing changes; the attempt's result will be dropped), ENL_EIO/ENL_ETIMEOUT.
 * mark_deleted records that the original was deleted (docs/photo-item.md, "Delete"),
 * decided atomically by the delete table there: when the item exists, belongs to req->key
 * (or names no key) and its sequencer is older (or either side has none), its status
 * becomes "deleted", the sequencer the delete's, and every result attribute, etag,
 * attempt, leaseUntil and processingError is removed; a live claim of an older version is
 * taken over (its complete then conflicts). Never creates an item. ENL_OK with *out, or
 * ENL_EINVAL / ENL_EIO / ENL_ETIMEOUT.
 * get: ENL_OK with a new reference in *out, or ENL_ENOTFOUND. */
int enl_table_claim(struct enl_table *t, const struct enl_claim_req *req,
                    enum enl_claim_result *out, struct enl_errmsg *e);
int enl_table_complete(struct enl_table *t, const char *photo_id, const char *attempt,
                       json_t *fields, struct enl_errmsg *e);
int enl_table_fail(struct enl_table *t, const char *photo_id, const char *attempt,
                   const char *reason, struct enl_errmsg *e);
int enl_table_release(struct enl_table *t, const char *photo_id, const char *attempt,
                      const char *reason, struct enl_errmsg *e);
int enl_table_renew(struct enl_table *t, const char *photo_id, const char *attempt,
                    int64_t lease_until_ms, struct enl_errmsg *e);
int enl_table_mark_deleted(struct enl_table *t, const struct enl_delete_req *req,
                           enum enl_delete_result *out, struct enl_errmsg *e);
int enl_table_get(struct enl_table *t, const char *photo_id, json_t **out, struct enl_errmsg *e);
int enl_table_ping(struct enl_table *t, struct enl_errmsg *e);
void enl_table_destroy(struct enl_table *t);

/* Pads a hex sequencer to ENL_SEQ_WIDTH into out[ENL_SEQ_WIDTH + 1], with '0' on the
 * left and hex digits in upper case (as S3 writes them), so "0a" and "A" are one
 * sequencer. ENL_EINVAL when seq is empty, not hex or too long. */
int enl_seq_pad(const char *seq, char out[ENL_SEQ_WIDTH + 1]);

/* SQLite table at path (WAL). key_attr names the key column ("photoId"). table
 * and key_attr: 1-255 of [A-Za-z0-9_.-] (DynamoDB's rule); the table is created, and
 * columns an older version lacks are added. Safe to call from many threads. */
int enl_table_sqlite_open(const char *path, const char *table, const char *key_attr,
                          struct enl_table **out, struct enl_errmsg *e);

struct enl_aws_config;
struct enl_aws_client;

/* DynamoDB table (src/table/dynamodb.c) named table, partition key key_attr (type S),
 * over client (borrowed: must outlive the table), endpoint and region from cfg (copied).
 * deadline_ms (0 = none) bounds each call's retries. The table must exist; nothing is
 * created. Needs dynamodb:GetItem and dynamodb:UpdateItem only. Safe to call from many
 * threads. */
int enl_table_dynamodb_open(const struct enl_aws_config *cfg, struct enl_aws_client *client,
                            long deadline_ms, const char *table, const char *key_attr,
                            struct enl_table **out, struct enl_errmsg *e);

#endif

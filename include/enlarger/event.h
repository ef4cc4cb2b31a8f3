/* The bodies POST /process accepts, reduced to one object to process. Pure: no I/O.
 *   - EventBridge S3 "Object Created": {"detail-type":"Object Created","source":"aws.s3",
 *     "detail":{"bucket":{"name":..},"object":{"key":..,"etag":..,"sequencer":..}}}
 *   - classic S3 notification: {"Records":[{"eventName":"ObjectCreated:Put","s3":{
 *     "bucket":{"name":..},"object":{"key":..,"eTag":..,"sequencer":..}}}]}
 *     whose keys are URL-encoded with '+' for space;
 *   - {"bucket":..,"key":..} for curl, the key taken literally. */
#ifndef ENLARGER_EVENT_H
#define ENLARGER_EVENT_H

#include <stddef.h>
#include <stdint.h>

#include "enlarger/err.h"
#include "enlarger/table.h"

/* S3 keys are at most 1024 bytes of UTF-8. */
#define ENL_KEY_MAX 1024

enum enl_event_kind { ENL_EVENT_EVENTBRIDGE, ENL_EVENT_S3_RECORD, ENL_EVENT_SIMPLE };

struct enl_event {
	enum enl_event_kind kind;
	char bucket[256];
	char key[ENL_KEY_MAX + 1];
	/* A second spelling to try when key is not found: whether EventBridge URL-encodes
	 * keys is not documented, so its key is tried decoded first, then as sent. Empty
	 * when there is no other spelling. */
	char alt_key[ENL_KEY_MAX + 1];
	char sequencer[ENL_SEQ_WIDTH + 1]; /* padded (enl_seq_pad); empty when absent */
	char etag[80];                     /* without quotes; empty when absent */
	uint64_t size;                     /* has_size */
	int has_size;
};

/* Parses body (len bytes, not necessarily NUL-terminated) with duplicate keys
 * rejected. ENL_EINVAL with a client-safe e->text naming what is wrong. Records[]
 * must hold exactly one record (S3 sends one per notification). */
int enl_event_parse(const void *body, size_t len, struct enl_event *out, struct enl_errmsg *e);

#endif

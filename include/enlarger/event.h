/* The bodies POST /process accepts, reduced to one object created or deleted. Pure: no
 * I/O.
 *   - EventBridge S3 "Object Created" / "Object Deleted": {"detail-type":"Object Created",
 *     "source":"aws.s3","detail":{"bucket":{"name":..},"object":{"key":..,"etag":..,
 *     "sequencer":..}}};
 *   - classic S3 notification: {"Records":[{"eventName":"ObjectCreated:Put" (or
 *     "ObjectRemoved:Delete", "ObjectRemoved:DeleteMarkerCreated"),"s3":{"bucket":
 *     {"name":..},"object":{"key":..,"eTag":..,"sequencer":..}}}]};
 *   - {"bucket":..,"key":..} for curl: created, the key taken literally.
 * The keys of both S3 forms are URL-encoded with '+' for space and decoded once (the
 * rule is in src/service/event.c and docs/keys.md). */
#ifndef ENLARGER_EVENT_H
#define ENLARGER_EVENT_H

#include <stddef.h>
#include <stdint.h>

#include "enlarger/err.h"
#include "enlarger/table.h"

/* S3 keys are at most 1024 bytes of UTF-8. */
#define ENL_KEY_MAX 1024

enum enl_event_kind { ENL_EVENT_EVENTBRIDGE, ENL_EVENT_S3_RECORD, ENL_EVENT_SIMPLE };

/* What happened to the object. CREATED is 0, so an event built by hand (the folder
 * watcher) is an upload. */
enum enl_event_action { ENL_EVENT_CREATED = 0, ENL_EVENT_DELETED };

struct enl_event {
	enum enl_event_kind kind;
	enum enl_event_action action;
	char bucket[256];
	char key[ENL_KEY_MAX + 1];         /* decoded; no control characters, valid UTF-8 */
	char sequencer[ENL_SEQ_WIDTH + 1]; /* padded (enl_seq_pad); empty when absent */
	char etag[80];                     /* without quotes; empty when absent */
	uint64_t size;                     /* has_size */
	int has_size;
};

/* Parses body (len bytes, not necessarily NUL-terminated) with duplicate keys
 * rejected. ENL_EINVAL with a client-safe e->text naming what is wrong (a key that is
 * not valid URL-encoded text, holds a control character or is not UTF-8 included).
 * Records[] must hold exactly one record (S3 sends one per notification). A delete
 * carries no ETag or size. */
int enl_event_parse(const void *body, size_t len, struct enl_event *out, struct enl_errmsg *e);

#endif

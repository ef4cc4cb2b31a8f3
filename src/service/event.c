/* Event parsing for POST /process: EventBridge, classic S3 notifications and
 * {"bucket","key"}, reduced to struct enl_event (see include/enlarger/event.h).
 *
 * One rule for the keys of S3 events, whichever way they came: URL-decoded once, '+'
 * a space. Classic notifications are documented so (S3 user guide, "Event message
 * structure"); EventBridge's "Object Created" / "Object Deleted" events carry the same
 * encoding (AWS's own Powertools for Lambda decodes detail.object.key with
 * unquote_plus), so "a+b.jpg" in an event always names "a b.jpg", and the key
 * "a+b.jpg" arrives as "a%2Bb.jpg". There is no second guess with the key as sent: a
 * key that is not valid URL-encoded text is refused (400). Only {"bucket","key"} takes
 * its key literally. Whatever the form, a decoded key with a control character (NUL
 * included) or that is not UTF-8 is refused: S3 keys are UTF-8, and no photographer's
 * file name holds a control character. */
#include "enlarger/event.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include <jansson.h>

#include "enlarger/text.h"

/* An S3 event's key (URL-encoded, '+' for space: the rule above) into ev->key. what
 * names the member for the message. */
static int set_event_key(struct enl_event *ev, const char *key, const char *what,
                         struct enl_errmsg *e)
{
	if (!key)
		return enl_fail(e, ENL_EINVAL, "%s is missing", what);
	if (strlen(key) > 3 * ENL_KEY_MAX)
		return enl_fail(e, ENL_EINVAL, "%s is longer than %d bytes", what, ENL_KEY_MAX);
	size_t n = 0;
	char tmp[3 * ENL_KEY_MAX + 1];
	if (strstr(key, "%00"))
		return enl_fail(e, ENL_EINVAL, "key contains a NUL character");
	if (enl_pct_decode(key, strlen(key), ENL_PCT_PLUS_SPACE, tmp, sizeof(tmp), &n))
		return enl_fail(e, ENL_EINVAL,
		                "%s is not valid URL-encoded text (S3 events encode keys, '+' "
		                "for space, %%2B for '+')",
		                what);
	if (n > ENL_KEY_MAX)
		return enl_fail(e, ENL_EINVAL, "key is longer than %d bytes", ENL_KEY_MAX);
	memcpy(ev->key, tmp, n + 1);
	return 0;
}

/* A borrowed string member, or NULL when absent or not a string. */
static const char *str_at(json_t *obj, const char *name)
{
	return json_string_value(json_object_get(obj, name));
}

static int copy_str(char *dst, size_t dstsz, const char *src)
{
	size_t n = strlen(src);
	if (n >= dstsz)
		return ENL_EINVAL;
	memcpy(dst, src, n + 1);
	return 0;
}

/* ETags arrive quoted or not; we keep the bare value. */
static int set_etag(struct enl_event *ev, const char *etag, struct enl_errmsg *e)
{
	if (!etag)
		return 0;
	size_t n = strlen(etag);
	etag = enl_unquote(etag, &n);
	if (n >= sizeof(ev->etag))
		return enl_fail(e, ENL_EINVAL, "etag is too long");
	for (size_t i = 0; i < n; i++)
		if (!isalnum((unsigned char)etag[i]) && etag[i] != '-')
			return enl_fail(e, ENL_EINVAL, "etag has unexpected characters");
	memcpy(ev->etag, etag, n);
	ev->etag[n] = '\0';
	return 0;
}

static int set_sequencer(struct enl_event *ev, json_t *v, struct enl_errmsg *e)
{
	if (!v || json_is_null(v))
		return 0;
	if (!json_is_string(v) || enl_seq_pad(json_string_value(v), ev->sequencer))
		return enl_fail(e, ENL_EINVAL,
		                "sequencer must be a hex string of at most %d digits",
		                ENL_SEQ_WIDTH);
	return 0;
}

static int set_size(struct enl_event *ev, json_t *v)
{
	if (json_is_integer(v) && json_integer_value(v) >= 0) {
		ev->size = (uint64_t)json_integer_value(v);
		ev->has_size = 1;
	}
	return 0;
}

/* The checks every form shares, on the decoded key. */
static int check_key(const char *key, struct enl_errmsg *e)
{
	size_t n = strlen(key);
	if (n == 0)
		return enl_fail(e, ENL_EINVAL, "key is empty");
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)key[i];
		if (c < 0x20 || c == 0x7f)
			return enl_fail(e, ENL_EINVAL,
			                "key has a control character (0x%02x at byte %zu)", c, i);
	}
	if (!enl_utf8_valid(key, n))
		return enl_fail(e, ENL_EINVAL, "key is not valid UTF-8");
	return 0;
}

static int set_bucket(struct enl_event *ev, const char *bucket, struct enl_errmsg *e)
{
	if (!bucket || !bucket[0])
		return enl_fail(e, ENL_EINVAL, "bucket name is missing");
	if (copy_str(ev->bucket, sizeof(ev->bucket), bucket))
		return enl_fail(e, ENL_EINVAL, "bucket name is too long");
	return 0;
}

static int parse_eventbridge(json_t *root, struct enl_event *ev, struct enl_errmsg *e)
{
	const char *type = str_at(root, "detail-type");
	const char *source = str_at(root, "source");
	json_t *detail = json_object_get(root, "detail");
	json_t *object = json_object_get(detail, "object");
	int rc;

	if (type && strcmp(type, "Object Created") == 0)
		ev->action = ENL_EVENT_CREATED;
	else if (type && strcmp(type, "Object Deleted") == 0)
		ev->action = ENL_EVENT_DELETED;
	else
		return enl_fail(e, ENL_EINVAL,
		                "detail-type must be \"Object Created\" or \"Object Deleted\"");
	if (source && strcmp(source, "aws.s3") != 0)
		return enl_fail(e, ENL_EINVAL, "source must be \"aws.s3\"");
	if (!json_is_object(detail) || !json_is_object(object))
		return enl_fail(e, ENL_EINVAL, "detail.object is missing");
	if ((rc = set_bucket(ev, str_at(json_object_get(detail, "bucket"), "name"), e)))
		return rc;
	ev->kind = ENL_EVENT_EVENTBRIDGE;
	if ((rc = set_event_key(ev, str_at(object, "key"), "detail.object.key", e)) ||
	    (rc = check_key(ev->key, e)))
		return rc;
	if ((rc = set_etag(ev, str_at(object, "etag"), e)))
		return rc;
	set_size(ev, json_object_get(object, "size"));
	return set_sequencer(ev, json_object_get(object, "sequencer"), e);
}

static int parse_record(json_t *root, struct enl_event *ev, struct enl_errmsg *e)
{
	json_t *records = json_object_get(root, "Records");
	json_t *rec, *s3, *object;
	const char *name;
	int rc;

	if (!json_is_array(records) || json_array_size(records) != 1)
		return enl_fail(e, ENL_EINVAL, "Records must hold exactly one record");
	rec = json_array_get(records, 0);
	name = str_at(rec, "eventName");
	if (name && strncmp(name, "ObjectCreated:", 14) == 0)
		ev->action = ENL_EVENT_CREATED;
	else if (name && strncmp(name, "ObjectRemoved:", 14) == 0)
		ev->action = ENL_EVENT_DELETED;
	else
		return enl_fail(e, ENL_EINVAL,
		                "eventName must be ObjectCreated:* or ObjectRemoved:*");
	s3 = json_object_get(rec, "s3");
	object = json_object_get(s3, "object");
	if (!json_is_object(object))
		return enl_fail(e, ENL_EINVAL, "Records[0].s3.object is missing");
	if ((rc = set_bucket(ev, str_at(json_object_get(s3, "bucket"), "name"), e)))
		return rc;
	ev->kind = ENL_EVENT_S3_RECORD;
	if ((rc = set_event_key(ev, str_at(object, "key"), "Records[0].s3.object.key", e)) ||
	    (rc = check_key(ev->key, e)))
		return rc;
	if ((rc = set_etag(ev, str_at(object, "eTag"), e)))
		return rc;
	set_size(ev, json_object_get(object, "size"));
	return set_sequencer(ev, json_object_get(object, "sequencer"), e);
}

static int parse_simple(json_t *root, struct enl_event *ev, struct enl_errmsg *e)
{
	json_t *key = json_object_get(root, "key");
	int rc;

	if ((rc = set_bucket(ev, json_string_value(json_object_get(root, "bucket")), e)))
		return rc;
	if (!json_is_string(key))
		return enl_fail(e, ENL_EINVAL, "key must be a string");
	ev->kind = ENL_EVENT_SIMPLE;
	if (json_string_length(key) != strlen(json_string_value(key)))
		return enl_fail(e, ENL_EINVAL, "key contains a NUL character");
	if (copy_str(ev->key, sizeof(ev->key), json_string_value(key)))
		return enl_fail(e, ENL_EINVAL, "key is longer than %d bytes", ENL_KEY_MAX);
	if ((rc = check_key(ev->key, e)))
		return rc;
	if ((rc = set_etag(ev, str_at(root, "etag"), e)))
		return rc;
	return set_sequencer(ev, json_object_get(root, "sequencer"), e);
}

int enl_event_parse(const void *body, size_t len, struct enl_event *out, struct enl_errmsg *e)
{
	json_error_t jerr;
	json_t *root = NULL; /* new reference, released at done */
	int rc;

	memset(out, 0, sizeof(*out));
	if (!body || len == 0) {
		rc = enl_fail(e, ENL_EINVAL, "the body is empty; send an S3 event as JSON");
		goto done;
	}
	root = json_loadb(body, len, JSON_REJECT_DUPLICATES, &jerr);
	if (!root) {
		rc = enl_fail(e, ENL_EINVAL, "malformed JSON at line %d column %d: %.120s",
		              jerr.line, jerr.column, jerr.text);
		goto done;
	}
	if (!json_is_object(root)) {
		rc = enl_fail(e, ENL_EINVAL, "the body must be a JSON object");
		goto done;
	}
	if (json_object_get(root, "detail-type") || json_object_get(root, "detail"))
		rc = parse_eventbridge(root, out, e);
	else if (json_object_get(root, "Records"))
		rc = parse_record(root, out, e);
	else if (json_object_get(root, "bucket") || json_object_get(root, "key"))
		rc = parse_simple(root, out, e);
	else
		rc = enl_fail(e, ENL_EINVAL,
		              "not an S3 event: expected an EventBridge \"Object Created\" or "
		              "\"Object Deleted\" event, Records[], or {\"bucket\",\"key\"}");
done:
	json_decref(root);
	return rc;
}

/* Fuzz target for enl_event_parse (the bodies POST /process accepts). The input is the
 * body. Checks what include/enlarger/event.h promises: an accepted event names a bucket
 * and a key within their sizes and without control characters, a sequencer is empty or padded to
 * ENL_SEQ_WIDTH upper-case hex digits, an ETag carries no quotes; a refusal is ENL_EINVAL with a
 * message. (The percent-decoding of keys is fuzz_pct_decode's, against an oracle.) */
#include "enlarger/event.h"
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct enl_event ev;
	struct enl_errmsg e = {""};
	int rc = enl_event_parse(data, size, &ev, &e);
	FUZZ_CHECK(rc == 0 || rc == ENL_EINVAL || rc == ENL_ENOMEM);
	FUZZ_CHECK(memchr(e.text, 0, sizeof(e.text)) != NULL);
	if (rc == 0) {
		FUZZ_CHECK(ev.kind == ENL_EVENT_EVENTBRIDGE || ev.kind == ENL_EVENT_S3_RECORD ||
		           ev.kind == ENL_EVENT_SIMPLE);
		FUZZ_CHECK(memchr(ev.bucket, 0, sizeof(ev.bucket)) && ev.bucket[0]);
		FUZZ_CHECK(memchr(ev.key, 0, sizeof(ev.key)) && ev.key[0]);
		FUZZ_CHECK(ev.action == ENL_EVENT_CREATED || ev.action == ENL_EVENT_DELETED);
		for (const char *k = ev.key; *k; k++)
			FUZZ_CHECK((unsigned char)*k >= 0x20 && *k != 0x7f);
		FUZZ_CHECK(memchr(ev.etag, 0, sizeof(ev.etag)) && !strchr(ev.etag, '"'));
		size_t sl = strnlen(ev.sequencer, sizeof(ev.sequencer));
		FUZZ_CHECK(sl == 0 ||
		           (sl == ENL_SEQ_WIDTH && strspn(ev.sequencer, "0123456789ABCDEF") == sl));
	} else {
		FUZZ_CHECK(rc == ENL_ENOMEM || e.text[0] != 0);
	}
	return 0;
}

/* If-None-Match against a variant's ETag (GET /render revalidation). */
#ifndef ENLARGER_SERVICE_ETAG_H
#define ENLARGER_SERVICE_ETAG_H

/* 1 when the If-None-Match list inm (comma-separated, white space around elements
 * ignored) holds etag (a quoted strong ETag) in its strong or weak ("W/") form, or "*";
 * else 0. Weak comparison, as RFC 9110 asks for If-None-Match. */
int enl_etag_matches(const char *inm, const char *etag);

#endif

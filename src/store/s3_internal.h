/* Private to src/store/s3*.c (and tests/fuzz/fuzz_s3_response.c): the limits the S3
 * store's files share, the metadata codec (s3_meta.c), the listing reader (s3_list.c),
 * and the readers of answers that live with the calls in s3.c. */
#ifndef ENLARGER_STORE_S3_INTERNAL_H
#define ENLARGER_STORE_S3_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "enlarger/aws.h"
#include "enlarger/store.h"
#include "keylist.h"

#define S3_KEY_MAX 1024
#define S3_LIST_KEYS_MAX 1000000 /* a listing is for one photo's variants: far fewer */

/* ---- s3_meta.c: user metadata in headers ---- */

/* Whether v is printable ASCII (no CR/LF that could split a header): what we send as a
 * header value as is. */
int enl_s3_header_value_ok(const char *v);
/* A metadata value as sent: as is when printable ASCII, else (UTF-8, no control
 * characters) as one RFC 2047 "B" encoded word, which S3 stores decoded. out holds a
 * value's size * 4/3 + 16. ENL_OK or ENL_EINVAL. */
int enl_s3_meta_encode(char *out, size_t cap, const char *v);
/* Decodes one RFC 2047 encoded word "=?UTF-8?B?...?=" or "=?UTF-8?Q?...?=" (how S3
 * returns non-ASCII metadata values) into out; a value that is not one, or does not
 * decode to UTF-8, is copied as is. */
void enl_s3_meta_decode(char *out, size_t cap, const char *v);

/* ---- s3_list.c: ListObjectsV2 pages ---- */

/* One page b[0..len): adds each key to l (at most l->max); sets *token (malloc'd, or
 * NULL when the listing is complete). 0, or ENL_EIO for a page that is not a listing or
 * is malformed, ENL_ETOOBIG past l->max, ENL_ENOMEM; e says which. */
int enl_s3_list_page(const char *b, size_t len, struct enl_keylist *l, char **token,
                     struct enl_errmsg *e);

/* ---- s3.c: the answers to the calls ---- */

/* An RFC 7231 IMF-fixdate ("Sun, 06 Nov 1994 08:49:37 GMT") as unix seconds; 0 when v
 * is NULL or not one. */
int64_t enl_s3_http_date(const char *v);
/* Size, ETag, type, cache control, Last-Modified and x-amz-meta-* (decoded) from a HEAD
 * or GET answer's headers. */
void enl_s3_info_from_headers(struct enl_object_info *info, const struct enl_aws_response *r);

#endif

/* What S3 would report for a file dropped in by hand: the MD5 hex ETag of its bytes and
 * a content type sniffed from its first bytes. */
#include "local_internal.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "enlarger/text.h"

int enl_local_md5(const void *data, size_t len, char out[33])
{
	unsigned char d[EVP_MAX_MD_SIZE];
	unsigned int dlen = 0;
	if (!EVP_Digest(data, len, d, &dlen, EVP_md5(), NULL) || dlen != 16)
		return ENL_EINTERNAL;
	enl_hex_encode(out, d, 16);
	return ENL_OK;
}

/* MD5 of everything fd holds, read from the start. ENL_EIO with *err set when a
 * read fails. */
int enl_local_md5_fd(int fd, char out[33], int *err)
{
	int rc = ENL_EINTERNAL;
	*err = 0;
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	unsigned char *chunk = malloc(64 * 1024);
	if (!ctx || !chunk || !EVP_DigestInit_ex(ctx, EVP_md5(), NULL))
		goto done;
	off_t off = 0;
	for (;;) {
		ssize_t r = pread(fd, chunk, 64 * 1024, off);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			*err = errno;
			rc = ENL_EIO;
			goto done;
		}
		if (r == 0)
			break;
		if (!EVP_DigestUpdate(ctx, chunk, (size_t)r))
			goto done;
		off += r;
	}
	unsigned char d[EVP_MAX_MD_SIZE];
	unsigned int dlen = 0;
	if (!EVP_DigestFinal_ex(ctx, d, &dlen) || dlen != 16)
		goto done;
	enl_hex_encode(out, d, 16);
	rc = ENL_OK;
done:
	free(chunk);
	EVP_MD_CTX_free(ctx);
	return rc;
}

/* A content type from the first bytes, for files dropped in by hand. Borrowed, static. */
const char *enl_local_sniff_type(const unsigned char *h, size_t n)
{
	if (n >= 3 && h[0] == 0xff && h[1] == 0xd8 && h[2] == 0xff)
		return "image/jpeg";
	if (n >= 8 && memcmp(h, "\x89PNG\r\n\x1a\n", 8) == 0)
		return "image/png";
	if (n >= 6 && (memcmp(h, "GIF87a", 6) == 0 || memcmp(h, "GIF89a", 6) == 0))
		return "image/gif";
	if (n >= 12 && memcmp(h, "RIFF", 4) == 0 && memcmp(h + 8, "WEBP", 4) == 0)
		return "image/webp";
	if (n >= 12 && memcmp(h + 4, "ftyp", 4) == 0) {
		const unsigned char *b = h + 8;
		if (memcmp(b, "avif", 4) == 0 || memcmp(b, "avis", 4) == 0)
			return "image/avif";
		if (memcmp(b, "heic", 4) == 0 || memcmp(b, "heix", 4) == 0 ||
		    memcmp(b, "mif1", 4) == 0 || memcmp(b, "msf1", 4) == 0 ||
		    memcmp(b, "hevc", 4) == 0)
			return "image/heic";
	}
	if (n >= 4 && (memcmp(h, "II*\0", 4) == 0 || memcmp(h, "MM\0*", 4) == 0))
		return "image/tiff";
	if (n >= 2 && h[0] == 'B' && h[1] == 'M')
		return "image/bmp";
	return "application/octet-stream";
}

/* Private to src/core: the libvips side shared by pipeline.c, render.c, decode.c, format.c. */
#ifndef ENLARGER_VIPS_INTERNAL_H
#define ENLARGER_VIPS_INTERNAL_H

#include <vips/vips.h>

#include "core_internal.h"

/* Logs libvips' (process-global) error buffer with `what` at warn level and clears it.
 * The client never sees that text. */
void enl_vips_log(const char *what);

/* One decode of data, already probed into src: shrink-on-load, oriented, converted to sRGB
 * from any embedded profile, 8-bit, 3 bands (4 with alpha), fitted inside w x h (never
 * upscaled) or, with crop != VIPS_INTERESTING_NONE, cover-cropped to exactly w x h.
 * The pixels are in memory: *out is new, the caller unrefs it. 0 or ENL_EDECODE. */
int enl_decode_image(const void *data, size_t len, const struct enl_source *src, int w, int h,
                     VipsInteresting crop, VipsImage **out, struct enl_errmsg *e);

/* The JPEG shrink-on-load factor (1, 2, 4 or 8) enl_decode_image uses for a w x h box
 * (cover-cropped when crop is not VIPS_INTERESTING_NONE). */
int enl_decode_jpeg_shrink(const struct enl_source *src, int w, int h, VipsInteresting crop);

/* Removes an alpha band by flattening onto white. *out is new (a ref of in when there is no
 * alpha). 0 or ENL_EINTERNAL. */
int enl_flatten_white(VipsImage *in, VipsImage **out, struct enl_errmsg *e);

/* Encodes img (sRGB, 8-bit) as fmt with every metadata item stripped, then, when artist or
 * copyright is non-empty, adds them back as a minimal EXIF block (outmeta.c). quality 0 =
 * the format's default. JPEG wants an image without alpha (see enl_flatten_white).
 * out->bytes owns a g_malloc'd buffer (freed by enl_buf_free). 0, ENL_EUNSUPPORTED (AVIF
 * encoder missing), ENL_EINTERNAL. */
int enl_encode(VipsImage *img, enum enl_format fmt, int quality, const char *artist,
               const char *copyright, struct enl_output *out, struct enl_errmsg *e);

#endif

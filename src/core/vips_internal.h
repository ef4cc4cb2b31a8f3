/* Private to src/core: the libvips side the files that work on images share. */
#ifndef ENLARGER_VIPS_INTERNAL_H
#define ENLARGER_VIPS_INTERNAL_H

#include <vips/vips.h>

#include "core_internal.h"

/* Logs libvips' (process-global) error buffer with `what` at warn level and clears it.
 * The client never sees that text. */
void enl_vips_log(const char *what);

/* How enl_decode_image decodes (decode_plan.c): streamed through vips_thumbnail's own
 * shrink-on-load; a JPEG by DCT scaling (the plan's shrink); or the stored image whole
 * (libheif has no scaled decode, and vips_thumbnail would take a HEIF's small, soft
 * embedded thumbnail). */
enum enl_decode_way { ENL_DECODE_STREAM, ENL_DECODE_DCT, ENL_DECODE_WHOLE };

/* The way, its shrink and its blur. */
struct enl_decode_plan {
	enum enl_decode_way way;
	int shrink; /* ENL_DECODE_DCT's shrink-on-load: 1, 2, 4 or 8 */
	int blur;   /* k of a [k, 256 - 2k, k] / 256 blur of the decoded JPEG (enl_blur3),
	             * 0: none */
};

/* The plan for a decode of src into a w x h box (cover-cropped when crop is not
 * VIPS_INTERESTING_NONE). from: the render, when src is the mezzanine of a larger
 * original (its original_width and original_jpeg); else NULL. o: the pipeline's settings,
 * which /process cut the mezzanine with. */
void enl_decode_plan(const struct enl_probe *src, int w, int h, VipsInteresting crop,
                     const struct enl_render_req *from, const struct enl_pipeline_opts *o,
                     struct enl_decode_plan *plan);

/* The box /process decodes an original of src's size (oriented) into (pipeline.c). */
void enl_process_decode_box(const struct enl_probe *src, const struct enl_pipeline_opts *o, int *w,
                            int *h);

/* One decode of data, already probed into src: shrink-on-load, oriented, converted to sRGB
 * from any embedded profile, 8-bit, 3 bands (4 with alpha), fitted inside w x h (never
 * upscaled) or, with crop != VIPS_INTERESTING_NONE, cover-cropped to exactly w x h; size
 * VIPS_SIZE_FORCE instead resizes to exactly w x h (no larger than the source, crop NONE).
 * The pixels are in memory: *out is new, the caller unrefs it. 0 or ENL_EDECODE. */
int enl_decode_image(const void *data, size_t len, const struct enl_probe *src, int w, int h,
                     VipsInteresting crop, VipsSize size, const struct enl_decode_plan *plan,
                     VipsImage **out, struct enl_errmsg *e);

/* pixel_pool.c: a w x h 3-band sRGB memory image whose pixels are a mapping from the
 * pool, given back when it closes; NULL when out of memory. */
VipsImage *enl_pixel_pool_image(int w, int h);

/* jpeg_decode.c: an 8-bit YCbCr or RGB JPEG decoded whole by libjpeg-turbo with DCT
 * scaling 1/shrink (1, 2, 4 or 8) into a new sRGB memory image (pixels from the pixel
 * pool; writable until another image uses it), with its ICC profile and orientation
 * (1-8) attached. ENL_EUNSUPPORTED for any other JPEG (the caller uses libvips' loader),
 * ENL_EDECODE when it is corrupt or truncated. */
int enl_jpeg_decode(const void *data, size_t len, int shrink, int orientation, VipsImage **out);

/* Removes an alpha band by flattening onto white. *out is new (a ref of in when there is no
 * alpha). 0 or ENL_EINTERNAL. */
int enl_flatten_white(VipsImage *in, VipsImage **out, struct enl_errmsg *e);

/* Encodes img (sRGB, 8-bit) as fmt with every metadata item stripped, then, when artist or
 * copyright is non-empty, adds them back as a minimal EXIF block (outmeta.c). quality 0 =
 * the format's default. threads is the job's share of the cores (enl_pipeline_opts): more
 * than 1 lets the WebP encoder use a second thread (libwebp's thread_level; the bytes are
 * the same); other formats ignore it. JPEG wants an image without alpha (see
 * enl_flatten_white). out->bytes owns the buffer with its free function (enl_buf_free). 0,
 * ENL_EUNSUPPORTED (AVIF encoder missing), ENL_EINTERNAL. */
int enl_encode(VipsImage *img, enum enl_format fmt, int quality, int threads, const char *artist,
               const char *copyright, struct enl_output *out, struct enl_errmsg *e);
/* The mezzanine's encode: JPEG at ENL_MEZZANINE_QUALITY, chroma not subsampled (4:4:4) and
 * baseline (it decodes faster than progressive), otherwise as enl_encode. */
int enl_encode_mezzanine(VipsImage *img, const char *artist, const char *copyright,
                         struct enl_output *out, struct enl_errmsg *e);

/* mezzanine.c: the mezzanine of an original of w x h (oriented) cut from mem, its one
 * decode (sRGB, 8-bit, at least the mezzanine's size): out->bytes stay empty when it gets
 * none (enl_mezzanine_size, or alpha). 0 or the errors of enl_encode. */
int enl_mezzanine_make(VipsImage *mem, int w, int h, const char *artist, const char *copyright,
                       struct enl_output *out, struct enl_errmsg *e);

/* The direct libwebp encoder (webp_encode.c). Fields at -1 keep the value of libwebp's
 * default preset at that quality. */
struct enl_webp_opts {
	int quality; /* 1-100, libwebp's (= vips_webpsave's Q) */
	int method;  /* 0-6 (= vips_webpsave's effort) */
	int sns_strength, filter_strength, filter_sharpness, segments, partitions, pass;
	int thread_level; /* 0 or 1 */
};
/* enlarger's settings at quality. */
void enl_webp_opts_default(struct enl_webp_opts *o, int quality);
/* 1 when img can be encoded by enl_webp_encode: a memory image (vips_image_copy_memory),
 * 8-bit sRGB, 3 or 4 bands. */
int enl_webp_can_encode(VipsImage *img);
/* Lossy WebP of img, no metadata chunks: a simple file (RIFF, VP8) or, with a non-opaque
 * alpha, VP8X + ALPH + VP8. *out is new, freed with enl_webp_free. 0, or -1 with the reason
 * in libvips' error buffer. */
int enl_webp_encode(VipsImage *img, const struct enl_webp_opts *o, void **out, size_t *out_len);
void enl_webp_free(void *p);

#endif

/* Private to src/core: what the pipeline files share. The VipsImage parts are in
 * vips_internal.h, for the files that work on images. */
#ifndef ENLARGER_CORE_INTERNAL_H
#define ENLARGER_CORE_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "enlarger/buf.h"
#include "enlarger/err.h"
#include "enlarger/exif.h"
#include "enlarger/pipeline.h"

/* ---- orc_guard.c: libvips' compiles and frees of ORC programs under one lock ---- */

/* 1 when libvips' calls to orc_program_compile/free go through the guard (the executable
 * exports them), else 0: then liborc's unlocked free can race a compile. */
int enl_orc_guard_active(void);
/* Compiles and frees that went through the guard so far (for tests). */
uint64_t enl_orc_guard_calls(void);

/* ---- pixel_pool.c: anonymous mappings for decoded pixels, reused ---- */

/* A mapping of at least n bytes, from the pool when a kept one is large enough (its pages
 * already written: no faults), else a fresh one, populated. *cap gets its size, for the
 * put. NULL when out of memory. */
void *enl_pixel_pool_get(size_t n, size_t *cap);
/* Gives a mapping back: kept while the pool has room (ENL_PIXEL_POOL_SLOTS; a larger one
 * displaces the smallest) and it is at most ENL_PIXEL_POOL_MAX_BYTES, else unmapped. */
void enl_pixel_pool_put(void *p, size_t cap);
/* Bytes the pool keeps now (for tests). */
size_t enl_pixel_pool_kept(void);

/* ---- blur3.c: pure C over 8-bit pixels (no libvips) ---- */

/* Blurs px in place by [k, 256 - 2k, k] / 256 across and then down, rounded to nearest:
 * w x h pixels of `bands` bytes, rows `stride` bytes apart; an edge pixel counts itself
 * for its missing neighbour. k 0 (or under) leaves px alone; k at most 128. 0 or
 * ENL_ENOMEM. */
int enl_blur3(unsigned char *px, int w, int h, size_t stride, int bands, int k);

/* ---- resize.c: pure C over 8-bit pixels (no libvips) ---- */

/* Reduces src (sw x sh RGB pixels, rows sstride bytes apart) by xshrink across and
 * yshrink down as vips_resize does (a box average from a factor of 4, then libvips'
 * Lanczos3), after a [k, 256 - 2k, k] / 256 blur as enl_blur3's (k 0: none), and turns the
 * result upright by EXIF orientation (1-8) into out: round(sw / xshrink) x round(sh /
 * yshrink) pixels (the two swapped for orientations 5-8), rows ostride bytes apart.
 * ENL_EUNSUPPORTED for no reduce on an axis, a box over 64 samples, or an image smaller
 * than the kernel; else 0 or ENL_ENOMEM. */
int enl_resize_down(const unsigned char *src, int sw, int sh, size_t sstride, int k,
                    int orientation, double xshrink, double yshrink, unsigned char *out,
                    size_t ostride);

/* ---- placeholder.c: pure C over 8-bit pixels (no libvips) ---- */

/* BlurHash of px (w x h, `channels` bytes per pixel, RGB first; alpha ignored), with
 * cx x cy components (1..9). Same arithmetic, order of summation and quantisation as the npm
 * blurhash 2.x encoder (the test oracle): note it quantises the largest *signed* AC value,
 * where woltapp's C encoder takes the largest absolute one, so the two can differ when the
 * strongest AC component is negative. out gets a NUL-terminated string of 4 + 2 * cx * cy
 * characters. 0 or ENL_EINVAL / ENL_ENOMEM. */
int enl_placeholder_blurhash(const unsigned char *px, int w, int h, int channels, int cx, int cy,
                             char *out, size_t outsz);

/* Dominant colour as "#rrggbb": the most populated cell of a 16x16x16 RGB histogram, reported
 * as the mean of the pixels in that cell (ties: the lower cell index). */
void enl_placeholder_dominant(const unsigned char *px, int w, int h, int channels, char out[8]);

/* ---- outmeta.c: the only metadata an output may carry ---- */

/* Finishes an encoded output's metadata: WebP is rebuilt without any EXIF/XMP/ICC chunk
 * (libvips 8.14's webpsave writes one regardless of strip); then, when artist or copyright
 * is non-empty, an EXIF block holding only those two is added (JPEG APP1, WebP EXIF chunk,
 * PNG eXIf). AVIF is left as it is. has_alpha is used when a simple WebP becomes extended.
 * 0, ENL_ENOMEM or ENL_EINTERNAL (unexpected layout). */
int enl_outmeta_finish(struct enl_buf *b, enum enl_format fmt, int width, int height, int has_alpha,
                       const char *artist, const char *copyright);

/* ---- decode.c: type detection, limits, one decode (uses vips.h) ---- */

/* Sniffs the type from magic bytes: 0 with out->format set for the types we accept, or
 * ENL_EUNSUPPORTED naming what was detected ("svg", "pdf", "text/plain", "unknown",
 * "empty input"). Then checks max_input_bytes and, from the header only, max_input_pixels
 * (ENL_ETOOBIG), and parses EXIF. The verdict is also kept in out->rc and out->err. */
int enl_decode_probe(const void *data, size_t len, const struct enl_pipeline_opts *o,
                     struct enl_probe *out, struct enl_errmsg *e);

/* A job's one header read: the caller's probe (given, with its verdict: e is set from it)
 * when it has one, else enl_decode_probe of data into *local. *out is whichever holds it. */
int enl_decode_header(const void *data, size_t len, const struct enl_pipeline_opts *o,
                      const struct enl_probe *given, struct enl_probe *local,
                      const struct enl_probe **out, struct enl_errmsg *e);

/* The scale that fits src's oriented size inside a w x h box or, with cover, covers it;
 * never above 1 (nothing is upscaled). */
double enl_decode_scale(const struct enl_probe *src, int w, int h, int cover);

/* Optional test hook: called with the flattened 8-bit RGB thumbnail pixels (the ones the
 * BlurHash and dominant colour are computed from). NULL to turn off. Not thread-safe. */
typedef void (*enl_pipeline_thumb_observer)(const unsigned char *rgb, int w, int h, void *ud);
void enl_pipeline_set_thumb_observer(enl_pipeline_thumb_observer fn, void *ud);

/* Name of the detected type for error texts: an accepted format name or e.g. "svg". */
const char *enl_decode_sniff(const void *data, size_t len, int *accepted);

#endif

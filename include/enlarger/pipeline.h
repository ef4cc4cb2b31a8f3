/* The processing core: original bytes in, derivatives and metadata out. No I/O.
 * src/core is the only user of vips.h (its files that include src/core/vips_internal.h). */
#ifndef ENLARGER_PIPELINE_H
#define ENLARGER_PIPELINE_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "enlarger/buf.h"
#include "enlarger/err.h"
#include "enlarger/exif.h"

/* Limits and output settings. enl_pipeline_opts_default() fills the defaults
 * (include/enlarger/defaults.h). */
struct enl_pipeline_opts {
	uint64_t max_input_pixels; /* width x height, checked from the header */
	size_t max_input_bytes;
	int thumb_size;      /* square, attention crop */
	int optimized_width; /* fit inside, never upscale */
	int optimized_height;
	int webp_quality;
	int jpeg_quality;   /* progressive */
	int keep_copyright; /* 1: keep Artist and Copyright in outputs */
	int mezzanine;      /* 1: enl_pipeline_process cuts a mezzanine (enl_mezzanine_size) */
	/* This job's share of the cores (1 or more), set per job by whoever admits it
	 * (src/service/admit.c): the threads the core runs beside libvips' own (libwebp's
	 * second thread, /process's parallel encode). */
	int threads;
};

enum enl_format { ENL_FMT_JPEG, ENL_FMT_WEBP, ENL_FMT_PNG, ENL_FMT_AVIF, ENL_FMT_COUNT };

enum enl_derivative { ENL_DERIV_THUMB, ENL_DERIV_OPTIMIZED, ENL_DERIV_COUNT };

struct enl_output {
	int width;
	int height;
	enum enl_format format;
	struct enl_buf bytes;
};

struct enl_pipeline_result {
	char source_format[16]; /* "jpeg", "png", "heif", ... as detected */
	int width;              /* after orientation */
	int height;
	size_t file_size; /* the original's byte size */
	/* [derivative][0 = WebP, 1 = JPEG] */
	struct enl_output out[ENL_DERIV_COUNT][2];
	struct enl_exif exif;
	char blurhash[64];
	char dominant_color[8]; /* "#rrggbb" */
	/* JPEG at ENL_MEZZANINE_QUALITY, 4:4:4, baseline, sRGB, no metadata but Artist and
	 * Copyright (with keep_copyright), oriented; empty bytes when the original gets
	 * none (enl_mezzanine_size, alpha, or opts.mezzanine 0). */
	struct enl_output mezzanine;
};

/* Once per process: starts libvips (and sets its threads per operation for good), blocks
 * untrusted loaders, turns the cache off. argv0 may be NULL. 0 or ENL_EINTERNAL. */
int enl_pipeline_init(const char *argv0);
void enl_pipeline_shutdown(void);

void enl_pipeline_opts_default(struct enl_pipeline_opts *o);

/* What one read of an original's header found (no pixels are decoded): its type, size and
 * EXIF, or why it cannot be used. enl_pipeline_estimate_cost fills one; the process and
 * render calls take it, so a job reads the header and parses its EXIF once. Valid for the
 * same bytes and limits (max_input_*) only. */
struct enl_probe {
	int rc;                /* 0, or ENL_EUNSUPPORTED / ENL_EDECODE / ENL_ETOOBIG */
	struct enl_errmsg err; /* rc's text */
	char format[16];       /* "jpeg", "png", "webp", "heif", "avif", "tiff", "gif" */
	int width, height;     /* after orientation */
	int stored_w, stored_h;
	int has_icc;
	int has_alpha;
	int orientation;      /* libvips' reading of the EXIF orientation, 1-8 */
	struct enl_exif exif; /* parsed from the header's "exif-data" (empty when none) */
};

/* Decodes data once and produces every derivative, EXIF and placeholders. probe: data's
 * header as enl_pipeline_estimate_cost read it, or NULL to read it here.
 * On success the caller owns *res and frees it with enl_pipeline_result_free.
 * Errors: ENL_EUNSUPPORTED (names the detected type), ENL_EDECODE, ENL_ETOOBIG
 * (checked from the header, before decoding), ENL_ENOMEM; e says which. */
int enl_pipeline_process(const void *data, size_t len, const struct enl_pipeline_opts *o,
                         const struct enl_probe *probe, struct enl_pipeline_result *res,
                         struct enl_errmsg *e);
void enl_pipeline_result_free(struct enl_pipeline_result *res);

/* On-demand render for /render: fit inside w x h (h 0 = any), never upscale. */
struct enl_render_req {
	int width;  /* 1 to ENL_RENDER_MAX_SIDE (include/enlarger/defaults.h) */
	int height; /* 0 (keep aspect) to ENL_RENDER_MAX_SIDE */
	enum enl_fit { ENL_FIT_INSIDE, ENL_FIT_COVER } fit;
	enum enl_format format;
	int quality; /* 0: the format's default */
	/* 1: resize to exactly width x height (both set, fit ignored), never upscaled past
	 * the source on either side: what a fit-inside render from a mezzanine asks, so that
	 * it comes out at the size a render of the original has (enl_render_inside_size). */
	int exact;
	/* > 0: the source is the mezzanine of an original this wide (oriented), a JPEG when
	 * original_jpeg. It is then decoded to come out as sharp as a render of the original
	 * (src/core/decode_plan.c). */
	int original_width;
	int original_jpeg;
};

/* The size a fit-inside render of a w_src x h_src image (oriented) gets for the box w x h
 * (h 0 = any height): the limiting side at the box, the other rounded as libvips 8.14's
 * vips_thumbnail rounds it from the full-size image, nothing upscaled, no side under 1.
 * Pure; tests/unit/test_pipeline_sizes.c holds it to real renders. */
void enl_render_inside_size(int w_src, int h_src, int w, int h, int *out_w, int *out_h);

/* The size of the mezzanine of an original of w x h (oriented): fitted inside
 * ENL_MEZZANINE_SIDE (include/enlarger/defaults.h) as enl_render_inside_size fits. 1 when
 * such an original gets a mezzanine (a side over ENL_MEZZANINE_SIDE and at most
 * ENL_MEZZANINE_PIXELS_PERCENT of its pixels; alpha is the other condition, known only
 * once decoded), else 0 (*mw, *mh still the fitted size). */
int enl_mezzanine_size(int w, int h, int *mw, int *mh);

/* The size a render of req needs from its source before any crop, for a source of
 * w_src x h_src (oriented): the fit-inside size, or for a cover crop the covering size it
 * is cropped from. A render can be made from a mezzanine of mw x mh when this fits inside
 * it (then its output equals the original's: exact for fit-inside). */
void enl_render_source_need(int w_src, int h_src, const struct enl_render_req *req, int *need_w,
                            int *need_h);
/* probe as for enl_pipeline_process. Errors: ENL_EINVAL for a req out of range, else
 * those of enl_pipeline_process. */
int enl_pipeline_render(const void *data, size_t len, const struct enl_pipeline_opts *o,
                        const struct enl_probe *probe, const struct enl_render_req *req,
                        struct enl_output *out, struct enl_errmsg *e);

/* Estimated peak bytes one job over data takes, from the header alone (no pixels are
 * decoded): the original's bytes, the decoded image after shrink-on-load (4 bytes a pixel:
 * up to 4 bands, 8-bit), the resize and crop intermediates and the encoders' buffers.
 * req NULL: enl_pipeline_process; else enl_pipeline_render of req. For the job gate's
 * memory budget (include/enlarger/jobgate.h). The header read goes into *probe (may be
 * NULL), its verdict included, for the job's process or render call. 0 with *out set, or
 * the errors of the header checks (ENL_EUNSUPPORTED, ENL_EDECODE, ENL_ETOOBIG; e says
 * which). */
int enl_pipeline_estimate_cost(const void *data, size_t len, const struct enl_pipeline_opts *o,
                               const struct enl_render_req *req, struct enl_probe *probe,
                               size_t *out, struct enl_errmsg *e);

const char *enl_format_name(enum enl_format f);               /* "webp" */
const char *enl_format_mime(enum enl_format f);               /* "image/webp" */
const char *enl_format_ext(enum enl_format f);                /* "webp" */
int enl_format_parse(const char *name, enum enl_format *out); /* 0 or ENL_EINVAL */
/* The quality a render in f gets when none is asked for: 0 for lossless PNG. */
int enl_format_quality(enum enl_format f);

/* The result JSON that `enlarger process`, POST /process and the photo table share.
 * Returns a new reference. */
json_t *enl_pipeline_result_json(const struct enl_pipeline_result *res);

/* Bytes libvips has allocated and not yet freed right now (vips_tracked_get_mem), and
 * the most it has held at once since start (vips_tracked_get_mem_highwater): pixel
 * buffers of the images being worked on, for the metrics. 0 before enl_pipeline_init. */
size_t enl_pipeline_memory_bytes(void);
size_t enl_pipeline_memory_peak_bytes(void);

#endif

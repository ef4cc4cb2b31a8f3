/* The defaults and bounds that both the settings table (src/util/config.c) and the core
 * (src/core) apply, each written once here. Plain decimal literals: the settings table
 * turns them into its default strings with ENL_STR. */
#ifndef ENLARGER_DEFAULTS_H
#define ENLARGER_DEFAULTS_H

/* The largest width or height of a render. It bounds ENLARGER_MAX_RENDER_WIDTH, the h
 * parameter of GET /render and enl_pipeline_render alike, so a size the core would refuse
 * is refused (400) before the original is read. */
#define ENL_RENDER_MAX_SIDE 8192

/* GET /render's widths when ENLARGER_RENDER_WIDTHS is not set: 64 to 3840 px in 14 steps,
 * measured against gallery layouts and device widths (docs/keys.md, bench/render_widths.py). */
#define ENL_DEFAULT_RENDER_WIDTHS "64,128,200,300,430,600,800,1080,1290,1680,2160,2560,3072,3840"
/* How long an unversioned /render answer (no v) may be cached before it is revalidated. */
#define ENL_DEFAULT_RENDER_UNVERSIONED_MAX_AGE 300
/* The shortest ENLARGER_RENDER_SIGNING_KEY: 32 bytes, as `openssl rand -base64 32` gives
 * (44 characters), is the HMAC-SHA256 block's worth of guessing. */
#define ENL_RENDER_SIGNING_KEY_MIN 32

/* The derivatives of a processed photo (ENLARGER_THUMB_SIZE, ENLARGER_OPTIMIZED_*). */
#define ENL_THUMB_SIZE_MIN 16
#define ENL_THUMB_SIZE_MAX 2048
#define ENL_OPTIMIZED_SIDE_MIN 16
#define ENL_OPTIMIZED_SIDE_MAX 16384

#define ENL_DEFAULT_MAX_INPUT_PIXELS 120000000 /* 120 MP */
#define ENL_DEFAULT_MAX_INPUT_BYTES 209715200  /* 200 MiB */
#define ENL_DEFAULT_THUMB_SIZE 200
#define ENL_DEFAULT_OPTIMIZED_WIDTH 1920
#define ENL_DEFAULT_OPTIMIZED_HEIGHT 1080
/* Also the quality of a render in that format without q (ENLARGER_RENDER_QUALITY 0). */
#define ENL_DEFAULT_WEBP_QUALITY 80
#define ENL_DEFAULT_JPEG_QUALITY 82
#define ENL_DEFAULT_KEEP_COPYRIGHT 1

/* The mezzanine: a small, high-quality JPEG /process keeps per version (in the render
 * bucket) for /render misses to decode instead of the original (docs/keys.md). Its size:
 * the oriented original fitted inside ENL_MEZZANINE_SIDE x ENL_MEZZANINE_SIDE, never
 * upscaled; only an original larger than that box, without alpha, gets one, and only when
 * the mezzanine has at most ENL_MEZZANINE_PIXELS_PERCENT of its pixels (else decoding it
 * saves little, and it can weigh more than the original). */
#define ENL_MEZZANINE_SIDE 1000
#define ENL_MEZZANINE_PIXELS_PERCENT 50
#define ENL_MEZZANINE_QUALITY 95
#define ENL_DEFAULT_MEZZANINE 1 /* ENLARGER_MEZZANINE */
/* How long a render remembers that a version had no mezzanine (a GET answered 404) before
 * it asks again: the version may be processed since, on this instance or another. */
#define ENL_MEZZANINE_RECHECK_S 300

/* Decoded pixels, and a render's resize in C (its scratch and its result), live in
 * anonymous mappings (src/core/pixel_pool.c); up to ENL_PIXEL_POOL_SLOTS of them, each at
 * most ENL_PIXEL_POOL_MAX_BYTES, are kept for the next render rather than unmapped: a
 * fresh mapping faults in every page it is written to. Up to three a render, for the
 * three jobs two cores run at once by default (ENLARGER_JOBS: cores + 1). The bound covers
 * a 12 MP JPEG's 1/4 decode and any mezzanine's full one, not /process's, and holds what
 * an idle server keeps to 32 MiB. */
#define ENL_PIXEL_POOL_SLOTS 8
#define ENL_PIXEL_POOL_MAX_BYTES (4u << 20)

/* A job whose cost in the job gate was at least this (a /process decode, a large render)
 * gives malloc's freed pages back to the kernel once done, unless another such job still
 * runs (it would reuse them): glibc keeps them in its arenas, and the server's RSS would
 * stay at its largest decodes' long after (bench/profile.md, "Freed pages after /process"). */
#define ENL_TRIM_AFTER_JOB_BYTES (32u << 20)

/* The HTTP server's bounds (ENLARGER_CONNECTION_TIMEOUT, _SEND_TIMEOUT, _MAX_CONNECTIONS,
 * _MAX_BODY_BYTES); enl_server_start applies them to options left 0. */
#define ENL_DEFAULT_CONNECTION_TIMEOUT_S 10
#define ENL_DEFAULT_SEND_TIMEOUT_S 60
#define ENL_DEFAULT_MAX_CONNECTIONS 512
#define ENL_DEFAULT_MAX_BODY_BYTES 262144 /* 256 KiB */

/* The longest Retry-After: the bound of ENLARGER_RETRY_AFTER and of the job gate's
 * estimate (enl_resp_retry_after), so a queue that looks hopeless still gets a retry
 * within the hour. */
#define ENL_RETRY_AFTER_MAX_S 3600

/* "80" from ENL_DEFAULT_WEBP_QUALITY. */
#define ENL_STR(x) ENL_STR_(x)
#define ENL_STR_(x) #x

#endif

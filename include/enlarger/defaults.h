/* The defaults and bounds that both the settings table (src/util/config.c) and the core
 * (src/core) apply, each written once here. Plain decimal literals: the settings table
 * turns them into its default strings with ENL_STR. */
#ifndef ENLARGER_DEFAULTS_H
#define ENLARGER_DEFAULTS_H

/* The largest width or height of a render. It bounds ENLARGER_MAX_RENDER_WIDTH, the h
 * parameter of GET /render and enl_pipeline_render alike, so a size the core would refuse
 * is refused (400) before the original is read. */
#define ENL_RENDER_MAX_SIDE 8192

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

/* The HTTP server's bounds (ENLARGER_CONNECTION_TIMEOUT, _SEND_TIMEOUT, _MAX_CONNECTIONS,
 * _MAX_BODY_BYTES); enl_server_start applies them to options left 0. */
#define ENL_DEFAULT_CONNECTION_TIMEOUT_S 10
#define ENL_DEFAULT_SEND_TIMEOUT_S 60
#define ENL_DEFAULT_MAX_CONNECTIONS 512
#define ENL_DEFAULT_MAX_BODY_BYTES 262144 /* 256 KiB */

/* "80" from ENL_DEFAULT_WEBP_QUALITY. */
#define ENL_STR(x) ENL_STR_(x)
#define ENL_STR_(x) #x

#endif

/* Helpers for the pipeline tests: temp files, running the oracles (exiftool, vipsheader,
 * node), fixtures made with libvips, pixel reads. Header-only, included by one test each. */
#ifndef ENLARGER_TEST_PIPELINE_SUPPORT_H
#define ENLARGER_TEST_PIPELINE_SUPPORT_H

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>
#include <vips/vips.h>

#include "check.h"
#include "files.h"
#include "enlarger/pipeline.h"

static char tmpdir[512];

static inline void tmp_setup(void)
{
	const char *base = getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
	snprintf(tmpdir, sizeof(tmpdir), "%s/enl-pipeline-XXXXXX", base);
	REQUIRE(mkdtemp(tmpdir) != NULL);
}

static inline void tmp_cleanup(void)
{
	char cmd[700];
	if (!tmpdir[0] || getenv("ENL_KEEP_TMP"))
		return;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
	if (system(cmd) != 0)
		fprintf(stderr, "could not remove %s\n", tmpdir);
}

/* A path in the temp dir (static storage rotates over 8 slots). */
static inline const char *tpath(const char *name)
{
	static char slots[8][600];
	static int next;
	char *p = slots[next++ & 7];
	snprintf(p, 600, "%s/%s", tmpdir, name);
	return p;
}

/* Runs a shell command, returns its stdout (malloc'd, NUL-terminated) or NULL on failure. */
static inline char *run_capture(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static inline char *run_capture(const char *fmt, ...)
{
	char cmd[4096];
	va_list ap;
	FILE *p;
	char *out = NULL;
	size_t len = 0, cap = 0;
	char chunk[4096];
	size_t n;
	int st;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	p = popen(cmd, "r");
	if (!p)
		return NULL;
	while ((n = fread(chunk, 1, sizeof(chunk), p)) > 0) {
		if (len + n + 1 > cap) {
			cap = (len + n + 1) * 2;
			out = realloc(out, cap);
			if (!out)
				break;
		}
		memcpy(out + len, chunk, n);
		len += n;
	}
	st = pclose(p);
	if (!out)
		out = calloc(1, 1);
	else
		out[len] = 0;
	if (st != 0) {
		fprintf(stderr, "command failed (%d): %s\n", st, cmd);
		free(out);
		return NULL;
	}
	return out;
}

static inline int have_tool(const char *name)
{
	char cmd[256];
	snprintf(cmd, sizeof(cmd), "command -v %s >/dev/null 2>&1", name);
	return system(cmd) == 0;
}

static inline double now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

/* exiftool -j -n -G1 -a on a file: the first object (new reference) or NULL. */
static inline json_t *exiftool_json(const char *path)
{
	char *out = run_capture("exiftool -j -n -G1 -a '%s' 2>/dev/null", path);
	json_t *arr, *obj = NULL;
	if (!out)
		return NULL;
	arr = json_loads(out, 0, NULL);
	free(out);
	if (json_is_array(arr) && json_array_size(arr) == 1)
		obj = json_incref(json_array_get(arr, 0));
	json_decref(arr);
	return obj;
}

/* vipsheader -f FIELD as an int, -1 on failure. */
/* 1 when an exiftool -G1 JSON object has a key containing needle (case-insensitive):
 * how the tests prove a tag group is gone from an output. Says which key it found. */
static inline int has_key_like(json_t *obj, const char *needle)
{
	const char *k;
	json_t *v;
	json_object_foreach(obj, k, v)
	{
		(void)v;
		if (strcasestr(k, needle)) {
			fprintf(stderr, "output still has %s\n", k);
			return 1;
		}
	}
	return 0;
}

/* The private metadata exiftool still finds in an output (x: exiftool_json of it), each
 * tag printed: GPS, serial numbers, maker notes and makers' groups, make and model,
 * software, XMP, IPTC and keywords, orientation (the pixels are upright), ICC. Artist and
 * Copyright are not private; the caller checks those. */
static inline int private_tags(json_t *x)
{
	static const char *const needles[] = {
	    "GPS",  "Serial",   "MakerNote",   ":Make", ":Model", "Software", "XMP",
	    "IPTC", "Keywords", "Orientation", "ICC",   "Canon",  "Apple"};
	int n = 0;
	for (size_t i = 0; i < sizeof(needles) / sizeof(needles[0]); i++)
		n += has_key_like(x, needles[i]);
	return n;
}

static inline int vipsheader_int(const char *path, const char *field)
{
	char *out = run_capture("vipsheader -f %s '%s' 2>/dev/null", field, path);
	int v = out ? (int)strtol(out, NULL, 10) : -1;
	free(out);
	return v;
}

static inline char *vipsheader_str(const char *path, const char *field)
{
	char *out = run_capture("vipsheader -f %s '%s' 2>/dev/null", field, path);
	if (out) {
		size_t n = strlen(out);
		while (n && (out[n - 1] == '\n' || out[n - 1] == ' '))
			out[--n] = 0;
	}
	return out;
}

/* Saves a vips image to a file in the temp dir by suffix ("x.jpg[Q=95]"); returns the path
 * without options. */
static inline const char *save_img(VipsImage *img, const char *name_opts)
{
	char path[600];
	const char *clean;
	char *br;
	snprintf(path, sizeof(path), "%s/%s", tmpdir, name_opts);
	if (vips_image_write_to_file(img, path, NULL)) {
		fprintf(stderr, "save %s: %s\n", name_opts, vips_error_buffer());
		vips_error_clear();
		return NULL;
	}
	clean = tpath(name_opts);
	br = strchr((char *)clean, '[');
	if (br)
		*br = 0;
	return clean;
}

/* A solid colour image, bands = len(rgb). New reference. */
static inline VipsImage *solid(int w, int h, const double *px, int bands)
{
	VipsImage *black = NULL, *out = NULL, *u = NULL;
	double zero[4] = {0, 0, 0, 0};
	if (vips_black(&black, w, h, "bands", bands, NULL))
		return NULL;
	if (vips_linear(black, &out, zero, (double *)px, bands, NULL)) {
		g_object_unref(black);
		return NULL;
	}
	g_object_unref(black);
	if (vips_cast_uchar(out, &u, NULL))
		u = NULL;
	g_object_unref(out);
	if (u && bands >= 3)
		u->Type = VIPS_INTERPRETATION_sRGB;
	return u;
}

/* Draws a filled rectangle (modifies img in place after making it writable: returns a new
 * memory image that replaces *img). */
static inline int fill_rect(VipsImage **img, int x, int y, int w, int h, const double *ink, int n)
{
	VipsImage *mem = vips_image_copy_memory(*img);
	if (!mem)
		return -1;
	g_object_unref(*img);
	*img = mem;
	return vips_draw_rect(mem, (double *)ink, n, x, y, w, h, "fill", TRUE, NULL);
}

/* Pixel at x,y of an encoded image (any bands) into px[0..3]; returns bands or -1. */
static inline int pixel_at(const void *data, size_t len, int x, int y, double *px)
{
	VipsImage *img = vips_image_new_from_buffer(data, len, "", NULL);
	double *vec = NULL;
	int n = 0, i, bands = -1;
	if (!img)
		goto done;
	if (vips_getpoint(img, &vec, &n, x, y, NULL))
		goto done;
	for (i = 0; i < n && i < 4; i++)
		px[i] = vec[i];
	bands = n;
done:
	g_free(vec);
	if (img)
		g_object_unref(img);
	vips_error_clear();
	return bands;
}

static inline int near_rgb(const double *px, double r, double g, double b, double tol)
{
	return fabs(px[0] - r) <= tol && fabs(px[1] - g) <= tol && fabs(px[2] - b) <= tol;
}

/* The mean absolute difference of two images over their common top-left area, in
 * levels (-1 when libvips fails). */
static inline double mean_abs_diff(VipsImage *a, VipsImage *b)
{
	int w = VIPS_MIN(vips_image_get_width(a), vips_image_get_width(b));
	int h = VIPS_MIN(vips_image_get_height(a), vips_image_get_height(b));
	VipsImage *ca = NULL, *cb = NULL, *d = NULL, *ad = NULL;
	double m = -1;
	if (vips_extract_area(a, &ca, 0, 0, w, h, NULL) ||
	    vips_extract_area(b, &cb, 0, 0, w, h, NULL) || vips_subtract(ca, cb, &d, NULL) ||
	    vips_abs(d, &ad, NULL) || vips_avg(ad, &m, NULL))
		m = -1;
	VipsImage *all[] = {ad, d, cb, ca};
	for (size_t i = 0; i < sizeof(all) / sizeof(all[0]); i++)
		if (all[i])
			g_object_unref(all[i]);
	return m;
}

/* A w x h 3-band sRGB memory image of a fractal surface (a camera photo's falling
 * spectrum), seeded. Unref it. */
static inline VipsImage *fractal_image(int w, int h, int seed)
{
	VipsImage *g = NULL, *m = NULL, *f = NULL, *l = NULL, *u = NULL, *rgb = NULL, *mem;
	double mn, mx;
	REQUIRE(vips_gaussnoise(&g, w, h, "seed", seed, NULL) == 0);
	REQUIRE(vips_mask_fractal(&m, w, h, 2.5, NULL) == 0);
	REQUIRE(vips_freqmult(g, m, &f, NULL) == 0);
	REQUIRE(vips_min(f, &mn, NULL) == 0 && vips_max(f, &mx, NULL) == 0);
	REQUIRE(vips_linear1(f, &l, 255.0 / (mx - mn), -mn * 255.0 / (mx - mn), NULL) == 0);
	REQUIRE(vips_cast_uchar(l, &u, NULL) == 0);
	VipsImage *bands[3] = {u, u, u};
	REQUIRE(vips_bandjoin(bands, &rgb, 3, NULL) == 0);
	rgb->Type = VIPS_INTERPRETATION_sRGB;
	mem = vips_image_copy_memory(rgb);
	REQUIRE(mem);
	VipsImage *all[] = {rgb, u, l, f, m, g};
	for (size_t i = 0; i < sizeof(all) / sizeof(all[0]); i++)
		g_object_unref(all[i]);
	return mem;
}

#endif

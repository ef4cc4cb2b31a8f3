/* Output formats: their names and media types, and one encoder call per format with every
 * metadata item stripped (then Artist/Copyright added back by outmeta.c when asked). WebP of
 * a memory image goes straight to libwebp (webp_encode.c); libvips' saver is the fallback. */
#include "vips_internal.h"

#include <string.h>
#include <strings.h>

#include "enlarger/defaults.h"

static const struct {
	const char *name, *mime, *ext;
	int quality; /* default */
} formats[ENL_FMT_COUNT] = {
    [ENL_FMT_JPEG] = {"jpeg", "image/jpeg", "jpg", ENL_DEFAULT_JPEG_QUALITY},
    [ENL_FMT_WEBP] = {"webp", "image/webp", "webp", ENL_DEFAULT_WEBP_QUALITY},
    [ENL_FMT_PNG] = {"png", "image/png", "png", 0},
    [ENL_FMT_AVIF] = {"avif", "image/avif", "avif", 50},
};

const char *enl_format_name(enum enl_format f)
{
	return (unsigned)f < ENL_FMT_COUNT ? formats[f].name : "unknown";
}

const char *enl_format_mime(enum enl_format f)
{
	return (unsigned)f < ENL_FMT_COUNT ? formats[f].mime : "application/octet-stream";
}

const char *enl_format_ext(enum enl_format f)
{
	return (unsigned)f < ENL_FMT_COUNT ? formats[f].ext : "bin";
}

int enl_format_parse(const char *name, enum enl_format *out)
{
	int i;
	if (!name)
		return ENL_EINVAL;
	if (strcasecmp(name, "jpg") == 0) {
		*out = ENL_FMT_JPEG;
		return 0;
	}
	for (i = 0; i < ENL_FMT_COUNT; i++) {
		if (strcasecmp(name, formats[i].name) == 0) {
			*out = (enum enl_format)i;
			return 0;
		}
	}
	return ENL_EINVAL;
}

int enl_format_quality(enum enl_format f)
{
	return (unsigned)f < ENL_FMT_COUNT ? formats[f].quality : 0;
}

static int clamp_quality(enum enl_format fmt, int q)
{
	if (q <= 0)
		q = formats[fmt].quality;
	return q < 1 ? 1 : q > 100 ? 100 : q;
}

static void *collect_field(VipsImage *image, const char *name, GValue *value, void *a)
{
	(void)image;
	(void)value;
	g_ptr_array_add(a, g_strdup(name));
	return NULL;
}

/* A copy of in without a single metadata item (EXIF, XMP, IPTC, ICC, the loader's own
 * fields). The savers' strip option alone is not enough: libvips 8.14's webpsave ignores
 * it and wrote GPS and serial numbers through. *out is new. */
static int bare_copy(VipsImage *in, VipsImage **out)
{
	GPtrArray *names;
	guint i;
	if (vips_copy(in, out, NULL))
		return -1;
	names = g_ptr_array_new_with_free_func(g_free);
	vips_image_map(*out, collect_field, names);
	for (i = 0; i < names->len; i++)
		vips_image_remove(*out, g_ptr_array_index(names, i));
	g_ptr_array_free(names, TRUE);
	return 0;
}

/* baseline: the mezzanine's JPEG (enl_encode_mezzanine), else progressive. */
static int save(VipsImage *img, enum enl_format fmt, int q, int baseline, void **buf, size_t *len)
{
	switch (fmt) {
	case ENL_FMT_JPEG:
		/* interlace = progressive; optimize_coding = optimal Huffman tables. The
		 * mezzanine is read far more often than written: baseline and 4:4:4 (no
		 * chroma subsampling) for the renders made from it. */
		if (baseline)
			return vips_jpegsave_buffer(img, buf, len, "Q", q, "optimize_coding", TRUE,
			                            "subsample_mode", VIPS_FOREIGN_SUBSAMPLE_OFF,
			                            "strip", TRUE, NULL);
		return vips_jpegsave_buffer(img, buf, len, "Q", q, "interlace", TRUE,
		                            "optimize_coding", TRUE, "strip", TRUE, NULL);
	case ENL_FMT_WEBP:
		/* Only for images that are not in memory (enl_webp_can_encode); the same
		 * settings as enl_webp_opts_default: method 4, plain chroma subsampling. */
		return vips_webpsave_buffer(img, buf, len, "Q", q, "effort", 4, "strip", TRUE,
		                            NULL);
	case ENL_FMT_PNG:
		return vips_pngsave_buffer(img, buf, len, "compression", 6, "strip", TRUE, NULL);
	case ENL_FMT_AVIF:
		/* 8-bit (libvips' default is 12), low effort: AV1 encoding is the slowest
		 * thing the core does. */
		return vips_heifsave_buffer(img, buf, len, "Q", q, "compression",
		                            VIPS_FOREIGN_HEIF_COMPRESSION_AV1, "bitdepth", 8,
		                            "effort", 2, "strip", TRUE, NULL);
	default: return -1;
	}
}

/* The direct libwebp path (webp_encode.c) for the memory images the pipeline hands us: no
 * metadata to strip, no second copy of the pixels. With a job's share of more than one
 * core, libwebp compresses the alpha plane and part of its analysis on a second thread
 * (the same bytes). *buf is freed with enl_webp_free. */
static int save_webp_direct(VipsImage *in, int q, int threads, void **buf, size_t *len)
{
	struct enl_webp_opts wo;
	enl_webp_opts_default(&wo, q);
	wo.thread_level = threads > 1;
	return enl_webp_encode(in, &wo, buf, len);
}

static int encode(VipsImage *in, enum enl_format fmt, int quality, int threads, int baseline,
                  const char *artist, const char *copyright, struct enl_output *out,
                  struct enl_errmsg *e)
{
	VipsImage *img = NULL;
	void *buf = NULL;
	void (*buf_free)(void *) = g_free;
	size_t len = 0;
	int rc = 0, direct;

	if ((unsigned)fmt >= ENL_FMT_COUNT)
		return enl_fail(e, ENL_EINVAL, "unknown output format");
	if (fmt == ENL_FMT_AVIF && !vips_type_find("VipsOperation", "heifsave_buffer"))
		return enl_fail(e, ENL_EUNSUPPORTED, "AVIF output is not available in this build");
	direct = fmt == ENL_FMT_WEBP && enl_webp_can_encode(in);
	if (direct) {
		img = g_object_ref(in);
		buf_free = enl_webp_free;
	} else if (bare_copy(in, &img)) {
		enl_vips_log("copy");
		rc = enl_fail(e, ENL_EINTERNAL, "cannot encode %s", formats[fmt].name);
		goto done;
	}
	if (direct ? save_webp_direct(img, clamp_quality(fmt, quality), threads, &buf, &len)
	           : save(img, fmt, clamp_quality(fmt, quality), baseline, &buf, &len)) {
		enl_vips_log("encode");
		if (fmt == ENL_FMT_AVIF)
			rc = enl_fail(e, ENL_EUNSUPPORTED,
			              "AVIF output is not available: the AV1 encoder failed");
		else
			rc = enl_fail(e, ENL_EINTERNAL, "cannot encode %s", formats[fmt].name);
		goto done;
	}
	enl_buf_free(&out->bytes);
	enl_buf_adopt(&out->bytes, buf, len, buf_free);
	out->width = vips_image_get_width(img);
	out->height = vips_image_get_height(img);
	out->format = fmt;
	rc = enl_outmeta_finish(&out->bytes, fmt, out->width, out->height, vips_image_hasalpha(img),
	                        artist, copyright);
	if (rc)
		rc = enl_fail(e, rc, "cannot add copyright metadata to %s", formats[fmt].name);
done:
	g_clear_object(&img);
	return rc;
}

int enl_encode(VipsImage *in, enum enl_format fmt, int quality, int threads, const char *artist,
               const char *copyright, struct enl_output *out, struct enl_errmsg *e)
{
	return encode(in, fmt, quality, threads, 0, artist, copyright, out, e);
}

int enl_encode_mezzanine(VipsImage *in, const char *artist, const char *copyright,
                         struct enl_output *out, struct enl_errmsg *e)
{
	return encode(in, ENL_FMT_JPEG, ENL_MEZZANINE_QUALITY, 1, 1, artist, copyright, out, e);
}

/* Output formats: their names and media types, and one encoder call per format with every
 * metadata item stripped (then Artist/Copyright added back by outmeta.c when asked). */
#include "vips_internal.h"

#include <string.h>
#include <strings.h>

static const struct {
	const char *name, *mime, *ext;
	int quality; /* default */
} formats[ENL_FMT_COUNT] = {
    [ENL_FMT_JPEG] = {"jpeg", "image/jpeg", "jpg", 82},
    [ENL_FMT_WEBP] = {"webp", "image/webp", "webp", 80},
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

static int clamp_quality(enum enl_format fmt, int q)
{
	if (q <= 0)
		q = formats[fmt].quality;
	return q < 1 ? 1 : q > 100 ? 100 : q;
}

int enl_encode(VipsImage *img, enum enl_format fmt, int quality, const char *artist,
               const char *copyright, struct enl_output *out, struct enl_errmsg *e)
{
	void *buf = NULL;
	size_t len = 0;
	int rc, q;

	if ((unsigned)fmt >= ENL_FMT_COUNT)
		return enl_fail(e, ENL_EINVAL, "unknown output format");
	q = clamp_quality(fmt, quality);
	switch (fmt) {
	case ENL_FMT_JPEG:
		/* interlace = progressive; optimize_coding = optimal Huffman tables. */
		rc = vips_jpegsave_buffer(img, &buf, &len, "Q", q, "interlace", TRUE,
		                          "optimize_coding", TRUE, "strip", TRUE, NULL);
		break;
	case ENL_FMT_WEBP:
		/* effort 4 (libwebp's method 4, the default) and plain subsampling: measured
		 * on a 1920x1280 photo, effort 6 or smart_subsample cost 1.5-2x the time
		 * for ~2% smaller files. */
		rc =
		    vips_webpsave_buffer(img, &buf, &len, "Q", q, "effort", 4, "strip", TRUE, NULL);
		break;
	case ENL_FMT_PNG:
		rc = vips_pngsave_buffer(img, &buf, &len, "compression", 6, "strip", TRUE, NULL);
		break;
	case ENL_FMT_AVIF:
		if (!vips_type_find("VipsOperation", "heifsave_buffer"))
			return enl_fail(e, ENL_EUNSUPPORTED,
			                "AVIF output is not available in this build");
		/* 8-bit (libvips' default is 12), low effort: AV1 encoding is the slowest
		 * thing the core does. */
		rc = vips_heifsave_buffer(img, &buf, &len, "Q", q, "compression",
		                          VIPS_FOREIGN_HEIF_COMPRESSION_AV1, "bitdepth", 8,
		                          "effort", 2, "strip", TRUE, NULL);
		if (rc) {
			enl_vips_log("avif encode");
			return enl_fail(e, ENL_EUNSUPPORTED,
			                "AVIF output is not available: the AV1 encoder failed");
		}
		break;
	default: return enl_fail(e, ENL_EINVAL, "unknown output format");
	}
	if (rc) {
		enl_vips_log("encode");
		return enl_fail(e, ENL_EINTERNAL, "cannot encode %s", formats[fmt].name);
	}
	enl_buf_free(&out->bytes);
	enl_buf_adopt(&out->bytes, buf, len, g_free);
	out->width = vips_image_get_width(img);
	out->height = vips_image_get_height(img);
	out->format = fmt;
	rc = enl_outmeta_add_copyright(&out->bytes, fmt, out->width, out->height,
	                               vips_image_hasalpha(img), artist, copyright);
	if (rc)
		return enl_fail(e, rc, "cannot add copyright metadata to %s", formats[fmt].name);
	return 0;
}

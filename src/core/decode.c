/* Input side of the core: what type the bytes are, whether they are within the limits (from
 * the header alone), and the one decode every derivative is cut from. */
#include "vips_internal.h"

#include <string.h>

#include "enlarger/log.h"

void enl_vips_log(const char *what)
{
	const char *msg = vips_error_buffer();
	enl_logf(ENL_LOG_WARN, "vips: %s: %.400s", what, msg && *msg ? msg : "(no message)");
	vips_error_clear();
}

static int has_prefix(const unsigned char *p, size_t len, const void *magic, size_t n)
{
	return len >= n && memcmp(p, magic, n) == 0;
}

/* ISO BMFF (HEIF, AVIF, MP4): the major brand and the compatible brands of the ftyp box. */
static const char *sniff_ftyp(const unsigned char *p, size_t len, int *accepted)
{
	static const char *heif_brands[] = {"heic", "heix", "heim", "heis", "hevc",
	                                    "hevx", "mif1", "msf1", "mif2"};
	size_t box, i;
	int heif = 0;

	box = ((size_t)p[0] << 24) | ((size_t)p[1] << 16) | ((size_t)p[2] << 8) | p[3];
	if (box < 16 || box > len)
		box = len < 64 ? len : 64;
	/* brands: major at 8, minor version at 12, compatible from 16 on */
	for (i = 8; i + 4 <= box; i += 4) {
		size_t k;
		if (i == 12)
			continue;
		if (memcmp(p + i, "avif", 4) == 0 || memcmp(p + i, "avis", 4) == 0) {
			*accepted = 1;
			return "avif";
		}
		for (k = 0; k < sizeof(heif_brands) / sizeof(heif_brands[0]); k++)
			if (memcmp(p + i, heif_brands[k], 4) == 0)
				heif = 1;
	}
	if (heif) {
		*accepted = 1;
		return "heif";
	}
	if (memcmp(p + 8, "qt  ", 4) == 0)
		return "video/quicktime";
	if (memcmp(p + 8, "crx ", 4) == 0)
		return "cr3 raw";
	return "video/mp4";
}

static int looks_like_text(const unsigned char *p, size_t len)
{
	size_t i, n = len < 1024 ? len : 1024;
	for (i = 0; i < n; i++) {
		unsigned char c = p[i];
		if (c == '\t' || c == '\n' || c == '\r' || c == '\f' || (c >= 0x20 && c != 0x7f) ||
		    c >= 0x80)
			continue;
		return 0;
	}
	return 1;
}

/* Skips a UTF-8 BOM and white space, for the XML-ish types. */
static const unsigned char *skip_space(const unsigned char *p, size_t *len)
{
	if (*len >= 3 && p[0] == 0xef && p[1] == 0xbb && p[2] == 0xbf) {
		p += 3;
		*len -= 3;
	}
	while (*len > 0 && (*p == ' ' || *p == '\t' || *p == '\r' || *p == '\n')) {
		p++;
		(*len)--;
	}
	return p;
}

const char *enl_decode_sniff(const void *data, size_t len, int *accepted)
{
	const unsigned char *p = data;
	const unsigned char *t;
	size_t tlen = len;

	*accepted = 0;
	if (len == 0)
		return "empty input";
	if (has_prefix(p, len, "\xff\xd8\xff", 3)) {
		*accepted = 1;
		return "jpeg";
	}
	if (has_prefix(p, len, "\x89PNG\r\n\x1a\n", 8)) {
		*accepted = 1;
		return "png";
	}
	if (has_prefix(p, len, "GIF87a", 6) || has_prefix(p, len, "GIF89a", 6)) {
		*accepted = 1;
		return "gif";
	}
	if (len >= 12 && memcmp(p, "RIFF", 4) == 0 && memcmp(p + 8, "WEBP", 4) == 0) {
		*accepted = 1;
		return "webp";
	}
	if (has_prefix(p, len, "II*\0", 4) || has_prefix(p, len, "MM\0*", 4) ||
	    has_prefix(p, len, "II+\0", 4) || has_prefix(p, len, "MM\0+", 4)) {
		*accepted = 1;
		return "tiff";
	}
	if (len >= 16 && memcmp(p + 4, "ftyp", 4) == 0)
		return sniff_ftyp(p, len, accepted);

	if (has_prefix(p, len, "\0\0\0\x0cjP  ", 8) || has_prefix(p, len, "\xff\x4f\xff\x51", 4))
		return "jpeg2000";
	if (has_prefix(p, len, "\0\0\0\x0cJXL ", 8) || has_prefix(p, len, "\xff\x0a", 2))
		return "jxl";
	if (has_prefix(p, len, "%PDF", 4))
		return "pdf";
	if (has_prefix(p, len, "BM", 2) && len >= 26)
		return "bmp";
	if (has_prefix(p, len, "8BPS", 4))
		return "psd";
	if (has_prefix(p, len, "\0\0\1\0", 4))
		return "ico";
	if (has_prefix(p, len, "\x76\x2f\x31\x01", 4))
		return "openexr";
	if (has_prefix(p, len, "#?RADIANCE", 10) || has_prefix(p, len, "#?RGBE", 6))
		return "radiance";
	if (has_prefix(p, len, "SIMPLE  =", 9))
		return "fits";
	if (has_prefix(p, len, "\x08\xf2\xa6\xb6", 4) || has_prefix(p, len, "\xb6\xa6\xf2\x08", 4))
		return "vips";
	if (has_prefix(p, len, "PK\x03\x04", 4))
		return "zip";
	if (has_prefix(p, len, "\x1f\x8b", 2))
		return "gzip";
	if (len >= 3 && p[0] == 'P' && p[1] >= '1' && p[1] <= '7' &&
	    (p[2] == '\n' || p[2] == ' ' || p[2] == '\r' || p[2] == '\t'))
		return "pnm";

	t = skip_space(p, &tlen);
	if (has_prefix(t, tlen, "<svg", 4))
		return "svg";
	if (has_prefix(t, tlen, "<?xml", 5)) {
		size_t n = tlen < 4096 ? tlen : 4096;
		return memmem(t, n, "<svg", 4) ? "svg" : "xml";
	}
	if (tlen >= 5 && (strncasecmp((const char *)t, "<!doc", 5) == 0 ||
	                  strncasecmp((const char *)t, "<html", 5) == 0))
		return "text/html";
	if (looks_like_text(p, len))
		return "text/plain";
	return "unknown";
}

/* The libvips loader family each accepted type must resolve to: we never let libvips pick
 * some other loader for bytes we sniffed as one of ours. */
static const char *loader_prefix(const char *format)
{
	if (strcmp(format, "jpeg") == 0)
		return "VipsForeignLoadJpeg";
	if (strcmp(format, "png") == 0)
		return "VipsForeignLoadPng";
	if (strcmp(format, "webp") == 0)
		return "VipsForeignLoadWebp";
	if (strcmp(format, "gif") == 0)
		return "VipsForeignLoadNsgif";
	if (strcmp(format, "tiff") == 0)
		return "VipsForeignLoadTiff";
	return "VipsForeignLoadHeif";
}

static int probe(const void *data, size_t len, const struct enl_pipeline_opts *o,
                 struct enl_probe *out, struct enl_errmsg *e)
{
	VipsImage *hdr = NULL;
	const char *type, *loader;
	const void *exif = NULL;
	size_t exif_len = 0;
	uint64_t pixels;
	int accepted, rc = 0;

	type = enl_decode_sniff(data, len, &accepted);
	if (len == 0)
		return enl_fail(e, ENL_EUNSUPPORTED, "empty input: 0 bytes is not an image");
	if (!accepted)
		return enl_fail(e, ENL_EUNSUPPORTED,
		                "unsupported image type: %s (accepted: JPEG, PNG, WebP, HEIC/HEIF, "
		                "AVIF, TIFF, GIF)",
		                type);
	snprintf(out->format, sizeof(out->format), "%s", type);
	if (o->max_input_bytes && len > o->max_input_bytes)
		return enl_fail(e, ENL_ETOOBIG, "input is %zu bytes, the limit is %zu bytes", len,
		                o->max_input_bytes);

	loader = vips_foreign_find_load_buffer(data, len);
	if (!loader || !vips_isprefix(loader_prefix(type), loader)) {
		enl_vips_log("find loader");
		return enl_fail(e, ENL_EDECODE, "cannot read the %s data: not a valid %s file",
		                type, type);
	}

	/* Header only: libvips reads pixels lazily, so nothing is decoded (or allocated for
	 * pixels) here. */
	hdr = vips_image_new_from_buffer(data, len, "", "access", VIPS_ACCESS_SEQUENTIAL, "fail_on",
	                                 VIPS_FAIL_ON_ERROR, NULL);
	if (!hdr) {
		enl_vips_log("header");
		rc = enl_fail(e, ENL_EDECODE, "cannot read the %s header: corrupt or truncated",
		              type);
		goto done;
	}
	out->stored_w = vips_image_get_width(hdr);
	out->stored_h = vips_image_get_page_height(hdr);
	pixels = (uint64_t)out->stored_w * (uint64_t)out->stored_h;
	if (o->max_input_pixels && pixels > o->max_input_pixels) {
		rc = enl_fail(e, ENL_ETOOBIG, "image is %dx%d (%.1f MP), the limit is %.1f MP",
		              out->stored_w, out->stored_h, (double)pixels / 1e6,
		              (double)o->max_input_pixels / 1e6);
		goto done;
	}
	out->orientation = vips_image_get_orientation(hdr);
	if (vips_image_get_orientation_swap(hdr)) {
		out->width = out->stored_h;
		out->height = out->stored_w;
	} else {
		out->width = out->stored_w;
		out->height = out->stored_h;
	}
	out->has_icc = vips_image_get_typeof(hdr, VIPS_META_ICC_NAME) != 0;
	out->has_alpha = vips_image_hasalpha(hdr);
	if (vips_image_get_typeof(hdr, VIPS_META_EXIF_NAME) &&
	    vips_image_get_blob(hdr, VIPS_META_EXIF_NAME, &exif, &exif_len) == 0 && exif)
		enl_exif_parse(exif, exif_len, &out->exif);
	else
		vips_error_clear();

done:
	if (hdr)
		g_object_unref(hdr);
	return rc;
}

int enl_decode_probe(const void *data, size_t len, const struct enl_pipeline_opts *o,
                     struct enl_probe *out, struct enl_errmsg *e)
{
	memset(out, 0, sizeof(*out));
	out->rc = probe(data, len, o, out, &out->err);
	if (out->rc && e)
		*e = out->err;
	return out->rc;
}

int enl_decode_header(const void *data, size_t len, const struct enl_pipeline_opts *o,
                      const struct enl_probe *given, struct enl_probe *local,
                      const struct enl_probe **out, struct enl_errmsg *e)
{
	if (!given) {
		*out = local;
		return enl_decode_probe(data, len, o, local, e);
	}
	*out = given;
	if (given->rc && e)
		*e = given->err;
	return given->rc;
}

double enl_decode_scale(const struct enl_probe *src, int w, int h, int cover)
{
	double sw = (double)w / src->width, sh = (double)h / src->height;
	double s = cover ? (sw > sh ? sw : sh) : (sw < sh ? sw : sh);
	return s < 1 ? s : 1;
}

int enl_flatten_white(VipsImage *in, VipsImage **out, struct enl_errmsg *e)
{
	VipsImage *flat = NULL;
	double white[] = {255.0, 255.0, 255.0};
	VipsArrayDouble *bg;
	int rc;

	*out = NULL;
	if (!vips_image_hasalpha(in)) {
		g_object_ref(in);
		*out = in;
		return 0;
	}
	bg = vips_array_double_new(white, 3);
	rc = vips_flatten(in, &flat, "background", bg, NULL);
	vips_area_unref(VIPS_AREA(bg));
	if (rc) {
		enl_vips_log("flatten");
		return enl_fail(e, ENL_EINTERNAL, "cannot flatten the alpha channel");
	}
	if (vips_image_get_format(flat) != VIPS_FORMAT_UCHAR) {
		VipsImage *u = NULL;
		rc = vips_cast_uchar(flat, &u, NULL);
		g_object_unref(flat);
		if (rc) {
			enl_vips_log("cast");
			return enl_fail(e, ENL_EINTERNAL, "cannot flatten the alpha channel");
		}
		flat = u;
	}
	*out = flat;
	return 0;
}

/* sRGB, 8-bit, 3 or 4 bands, whatever the loader gave (grey, 16-bit, CMYK without a
 * profile, extra TIFF channels). Steals in. */
static int normalise(VipsImage *in, VipsImage **out)
{
	VipsImage *t = NULL;
	int bands;

	*out = NULL;
	if (vips_image_get_interpretation(in) != VIPS_INTERPRETATION_sRGB ||
	    vips_image_get_format(in) != VIPS_FORMAT_UCHAR) {
		if (vips_colourspace(in, &t, VIPS_INTERPRETATION_sRGB, NULL)) {
			g_object_unref(in);
			return -1;
		}
		g_object_unref(in);
		in = t;
	}
	if (vips_image_get_format(in) != VIPS_FORMAT_UCHAR) {
		if (vips_cast_uchar(in, &t, NULL)) {
			g_object_unref(in);
			return -1;
		}
		g_object_unref(in);
		in = t;
	}
	bands = vips_image_get_bands(in);
	if (bands != 3 && bands != 4) {
		int keep = bands > 4 ? 4 : 3;
		if (bands < 3 || vips_extract_band(in, &t, 0, "n", keep, NULL)) {
			g_object_unref(in);
			return -1;
		}
		g_object_unref(in);
		in = t;
	}
	*out = in;
	return 0;
}

/* vips_thumbnail_image of a decoded image: orientation, colour, resize, crop. Only a file
 * with an embedded profile gets export_profile (see enl_decode_image). */
static int thumbnail_of(VipsImage *in, const struct enl_probe *src, int w, int h,
                        VipsInteresting crop, VipsSize size, VipsImage **out)
{
	if (src->has_icc)
		return vips_thumbnail_image(in, out, w, "height", h, "size", size, "crop", crop,
		                            "export_profile", "srgb", "intent",
		                            VIPS_INTENT_RELATIVE, NULL);
	return vips_thumbnail_image(in, out, w, "height", h, "size", size, "crop", crop, NULL);
}

/* vips_thumbnail_image's fit of in, decoded by us (in memory, stored orientation, sRGB
 * without a profile), into w x h, by enl_resize_down (resize.c) with the plan's blur. 0
 * with *out new; ENL_EUNSUPPORTED for any other (a crop, a profile: libvips then does
 * it); -1 when out of memory. */
static int thumbnail_in_c(VipsImage *in, const struct enl_probe *src, int w, int h,
                          VipsInteresting crop, VipsSize size, int blur, VipsImage **out)
{
	int o = src->orientation >= 1 && src->orientation <= 8 ? src->orientation : 1;
	int iw = vips_image_get_width(in), ih = vips_image_get_height(in);
	int uw = o >= 5 ? ih : iw, uh = o >= 5 ? iw : ih; /* upright */
	double hs = (double)uw / w, vs = (double)uh / h;
	VipsImage *t;
	int rc;

	if (!in->data || src->has_icc || crop != VIPS_INTERESTING_NONE ||
	    (size != VIPS_SIZE_DOWN && size != VIPS_SIZE_FORCE) || vips_image_get_bands(in) != 3 ||
	    vips_image_get_format(in) != VIPS_FORMAT_UCHAR)
		return ENL_EUNSUPPORTED;
	/* As vips_thumbnail_calculate_shrink: to fit, both axes by the larger shrink. */
	if (size == VIPS_SIZE_DOWN)
		hs = vs = hs > vs ? hs : vs;
	if (hs <= 1 || vs <= 1)
		return ENL_EUNSUPPORTED;
	/* Rounded, as vips_reduceh and vips_reducev size their output. */
	if (!(t = enl_pixel_pool_image((int)(uw / hs + 0.5), (int)(uh / vs + 0.5))))
		return -1;
	rc = enl_resize_down(VIPS_IMAGE_ADDR(in, 0, 0), iw, ih, VIPS_IMAGE_SIZEOF_LINE(in), blur, o,
	                     o >= 5 ? vs : hs, o >= 5 ? hs : vs, VIPS_IMAGE_ADDR(t, 0, 0),
	                     VIPS_IMAGE_SIZEOF_LINE(t));
	if (rc) {
		g_object_unref(t);
		return rc == ENL_EUNSUPPORTED ? rc : -1;
	}
	*out = t;
	return 0;
}

/* The JPEG path: our shrink-on-load (and blur) by plan, then our resize (thumbnail_in_c)
 * or vips_thumbnail_image for the rest (orientation, colour, resize, crop). *out is new. */
static int thumbnail_jpeg(const void *data, size_t len, const struct enl_probe *src, int w, int h,
                          VipsInteresting crop, VipsSize size, const struct enl_decode_plan *plan,
                          VipsImage **out)
{
	VipsImage *in = NULL, *t = NULL;
	int shrink = plan->shrink;
	int rc;

	*out = NULL;
	/* The common JPEG straight from libjpeg-turbo (jpeg_decode.c), into memory; the
	 * rest, and a JPEG decoded at full size without a blur (streamed, never held whole),
	 * through libvips' loader. */
	rc = shrink > 1 || plan->blur > 0
	         ? enl_jpeg_decode(data, len, shrink, src->orientation, &in)
	         : ENL_EUNSUPPORTED;
	if (rc == ENL_EDECODE) {
		vips_error("enlarger", "corrupt or truncated JPEG");
		return -1;
	}
	if (rc)
		in = vips_image_new_from_buffer(data, len, "", "shrink", shrink, "access",
		                                VIPS_ACCESS_SEQUENTIAL, "fail_on",
		                                VIPS_FAIL_ON_ERROR, NULL);
	if (!in)
		return -1;
	if (rc == 0) {
		int c = thumbnail_in_c(in, src, w, h, crop, size, plan->blur, out);
		if (c != ENL_EUNSUPPORTED) {
			g_object_unref(in);
			return c ? -1 : 0;
		}
	}
	/* The blur, in place over the decoded pixels (a mezzanine: small); libvips'
	 * loader's, or a crop of ours, are copied to memory first. */
	if (plan->blur > 0) {
		if (rc || !in->data) {
			t = vips_image_copy_memory(in);
			g_object_unref(in);
		} else {
			t = in;
		}
		if (!t || enl_blur3(VIPS_IMAGE_ADDR(t, 0, 0), vips_image_get_width(t),
		                    vips_image_get_height(t), VIPS_IMAGE_SIZEOF_LINE(t),
		                    vips_image_get_bands(t), plan->blur)) {
			g_clear_object(&t);
			vips_error("enlarger", "cannot blur the decoded image");
			return -1;
		}
		in = t;
	}
	rc = thumbnail_of(in, src, w, h, crop, size, out);
	g_object_unref(in);
	return rc;
}

/* The whole-decode path (a HEIF's primary image). vips_thumbnail_buffer would take the
 * embedded thumbnail whenever it is as large as the target (an iPhone's is 320 px on its
 * long side, and soft: a 200 px render from it scored 0.85 SSIM against the reference,
 * from the primary image 0.98; docs/benchmarks.md). *out is new. */
static int thumbnail_whole(const void *data, size_t len, const struct enl_probe *src, int w, int h,
                           VipsInteresting crop, VipsSize size, VipsImage **out)
{
	VipsImage *in;
	int rc;

	*out = NULL;
	in = vips_image_new_from_buffer(data, len, "", "fail_on", VIPS_FAIL_ON_ERROR, NULL);
	if (!in)
		return -1;
	rc = thumbnail_of(in, src, w, h, crop, size, out);
	g_object_unref(in);
	return rc;
}

int enl_decode_image(const void *data, size_t len, const struct enl_probe *src, int w, int h,
                     VipsInteresting crop, VipsSize size, const struct enl_decode_plan *plan,
                     VipsImage **out, struct enl_errmsg *e)
{
	VipsImage *t = NULL, *n = NULL, *mem = NULL;
	int rc = 0;

	*out = NULL;
	/* vips_thumbnail picks shrink-on-load from the target (WebP scaled decode; JPEG DCT
	 * scaling and whole decodes are the plan's, decode_plan.c), applies the EXIF
	 * orientation and premultiplies alpha around the resize. Never upscaled: a cover crop
	 * of a small image is min(w, width) x min(h, height). libvips 8.14's thumbnail_buffer
	 * does not hand its fail_on to the loader (a truncated JPEG came out with grey rows),
	 * so fail_on also goes in option_string, which does. Only a file with an embedded
	 * profile gets export_profile: libvips would otherwise run untagged sRGB through its
	 * v4 profile and shift saturated colours (255,0,0 came back as 248,26,16). */
	if (plan->way == ENL_DECODE_DCT)
		rc = thumbnail_jpeg(data, len, src, w, h, crop, size, plan, &t);
	else if (plan->way == ENL_DECODE_WHOLE)
		rc = thumbnail_whole(data, len, src, w, h, crop, size, &t);
	else if (src->has_icc)
		rc = vips_thumbnail_buffer((void *)data, len, &t, w, "height", h, "size", size,
		                           "crop", crop, "fail_on", VIPS_FAIL_ON_ERROR,
		                           "option_string", "fail_on=error", "export_profile",
		                           "srgb", "intent", VIPS_INTENT_RELATIVE, NULL);
	else
		rc = vips_thumbnail_buffer((void *)data, len, &t, w, "height", h, "size", size,
		                           "crop", crop, "fail_on", VIPS_FAIL_ON_ERROR,
		                           "option_string", "fail_on=error", NULL);
	if (rc) {
		enl_vips_log("thumbnail");
		return enl_fail(e, ENL_EDECODE, "cannot decode the %s image", src->format);
	}
	if (normalise(t, &n)) {
		enl_vips_log("normalise");
		return enl_fail(e, ENL_EDECODE, "cannot convert the %s image to sRGB", src->format);
	}
	/* The decode happens here, once; a truncated or corrupt file fails now. */
	mem = vips_image_copy_memory(n);
	g_object_unref(n);
	if (!mem) {
		enl_vips_log("decode");
		return enl_fail(e, ENL_EDECODE, "cannot decode the %s image: corrupt or truncated",
		                src->format);
	}
	/* It is sRGB now; drop the profile so later steps never transform again. */
	vips_image_remove(mem, VIPS_META_ICC_NAME);
	vips_image_remove(mem, VIPS_META_ORIENTATION);
	*out = mem;
	return 0;
}

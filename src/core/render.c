/* enl_pipeline_render, for GET /render: one variant (width, fit, format) from an original,
 * with the same limits, decode and metadata rules as enl_pipeline_process. */
#include "vips_internal.h"

#include <string.h>

#include "enlarger/defaults.h"

int enl_pipeline_render(const void *data, size_t len, const struct enl_pipeline_opts *o,
                        const struct enl_probe *probe, const struct enl_render_req *req,
                        struct enl_output *out, struct enl_errmsg *e)
{
	struct enl_probe local;
	const struct enl_probe *src = NULL;
	VipsImage *img = NULL, *flat = NULL;
	VipsInteresting crop = VIPS_INTERESTING_NONE;
	const char *artist = NULL, *copyright = NULL;
	struct enl_decode_plan plan;
	int h, rc;

	memset(out, 0, sizeof(*out));
	if (!req || req->width < 1 || req->width > ENL_RENDER_MAX_SIDE || req->height < 0 ||
	    req->height > ENL_RENDER_MAX_SIDE)
		return enl_fail(e, ENL_EINVAL, "width must be 1-%d and height 0-%d",
		                ENL_RENDER_MAX_SIDE, ENL_RENDER_MAX_SIDE);
	if ((unsigned)req->format >= ENL_FMT_COUNT)
		return enl_fail(e, ENL_EINVAL, "unknown output format");
	if (req->quality < 0 || req->quality > 100)
		return enl_fail(e, ENL_EINVAL, "quality must be 1-100");
	if ((rc = enl_decode_header(data, len, o, probe, &local, &src, e)))
		return rc;
	if (o->keep_copyright) {
		artist = src->exif.artist;
		copyright = src->exif.copyright;
	}
	if (req->exact && req->height < 1)
		return enl_fail(e, ENL_EINVAL, "an exact size needs a height");
	/* No height: any height (vips_thumbnail would otherwise take height = width). */
	h = req->height > 0 ? req->height : VIPS_MAX_COORD;
	if (req->fit == ENL_FIT_COVER && req->height > 0 && !req->exact)
		crop = VIPS_INTERESTING_ATTENTION;
	enl_decode_plan(src, req->width, h, crop, req, o, &plan);
	if ((rc = enl_decode_image(data, len, src, req->width, h, crop,
	                           req->exact ? VIPS_SIZE_FORCE : VIPS_SIZE_DOWN, &plan, &img, e)))
		goto done;
	if (req->format == ENL_FMT_JPEG) {
		if ((rc = enl_flatten_white(img, &flat, e)))
			goto done;
	} else {
		flat = g_object_ref(img);
	}
	rc = enl_encode(flat, req->format, req->quality, o->threads, artist, copyright, out, e);
done:
	g_clear_object(&flat);
	g_clear_object(&img);
	if (rc)
		enl_buf_free(&out->bytes);
	return rc;
}

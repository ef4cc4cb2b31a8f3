/* The processing core: libvips set-up, and enl_pipeline_process, which decodes an original
 * once and cuts every derivative, the EXIF and the placeholders from that one decode. */
#include "vips_internal.h"

#include <pthread.h>
#include <string.h>
#include <unistd.h>

#include "enlarger/defaults.h"
#include "enlarger/log.h"

static enl_pipeline_thumb_observer thumb_observer;
static void *thumb_observer_ud;

void enl_pipeline_set_thumb_observer(enl_pipeline_thumb_observer fn, void *ud)
{
	thumb_observer = fn;
	thumb_observer_ud = ud;
}

/* The loaders for the types we accept; every other loader stays blocked. */
static const char *const allowed_loaders[] = {
    "VipsForeignLoadJpeg", "VipsForeignLoadPng",   "VipsForeignLoadWebp",
    "VipsForeignLoadTiff", "VipsForeignLoadNsgif", "VipsForeignLoadHeif",
};

int enl_pipeline_init(const char *argv0)
{
	size_t i;

	if (VIPS_INIT(argv0 ? argv0 : "enlarger")) {
		enl_vips_log("init");
		return ENL_EINTERNAL;
	}
	/* A server sees each image once: the operation cache would only hold memory. */
	vips_cache_set_max(0);
	/* libvips' threads per operation are process-wide (8.14 has no per-image count), so
	 * they are set here, once: two on more than one core, which speeds up a job alone
	 * and cost jobs side by side nothing measurable (bench/profile.md). A job's own share
	 * of the cores (enl_pipeline_opts.threads) drives the threads the core runs itself. */
	vips_concurrency_set(sysconf(_SC_NPROCESSORS_ONLN) > 1 ? 2 : 1);
	/* Allow-list: block the whole loader family, then unblock ours. Also drop anything
	 * libvips itself marks untrusted (ImageMagick, PDF, SVG, FITS, matrix, ...). */
	vips_operation_block_set("VipsForeignLoad", TRUE);
	for (i = 0; i < sizeof(allowed_loaders) / sizeof(allowed_loaders[0]); i++)
		vips_operation_block_set(allowed_loaders[i], FALSE);
	vips_block_untrusted_set(TRUE);
	/* Links orc_guard.c in, and says so when the lock cannot work. */
	if (!enl_orc_guard_active())
		enl_logf(ENL_LOG_WARN, "liborc's code memory is not guarded (orc_guard.c): "
		                       "concurrent image jobs may crash in liborc");
	return 0;
}

void enl_pipeline_shutdown(void)
{
	vips_shutdown();
}

void enl_pipeline_opts_default(struct enl_pipeline_opts *o)
{
	memset(o, 0, sizeof(*o));
	o->max_input_pixels = ENL_DEFAULT_MAX_INPUT_PIXELS;
	o->max_input_bytes = ENL_DEFAULT_MAX_INPUT_BYTES;
	o->thumb_size = ENL_DEFAULT_THUMB_SIZE;
	o->optimized_width = ENL_DEFAULT_OPTIMIZED_WIDTH;
	o->optimized_height = ENL_DEFAULT_OPTIMIZED_HEIGHT;
	o->webp_quality = ENL_DEFAULT_WEBP_QUALITY;
	o->jpeg_quality = ENL_DEFAULT_JPEG_QUALITY;
	o->keep_copyright = ENL_DEFAULT_KEEP_COPYRIGHT;
	o->mezzanine = ENL_DEFAULT_MEZZANINE;
	o->threads = 1;
}

void enl_pipeline_result_free(struct enl_pipeline_result *res)
{
	int d, f;
	if (!res)
		return;
	for (d = 0; d < ENL_DERIV_COUNT; d++)
		for (f = 0; f < 2; f++)
			enl_buf_free(&res->out[d][f].bytes);
	enl_buf_free(&res->mezzanine.bytes);
	memset(res, 0, sizeof(*res));
}

/* The one decode must serve every output: big enough for the optimized box, for the
 * thumbnail's cover crop (a panorama's short side can be under thumb_size in the box) and
 * for the mezzanine. */
void enl_process_decode_box(const struct enl_probe *src, const struct enl_pipeline_opts *o, int *w,
                            int *h)
{
	double s_opt = enl_decode_scale(src, o->optimized_width, o->optimized_height, 0);
	double s_thumb = enl_decode_scale(src, o->thumb_size, o->thumb_size, 1);
	double s = s_opt > s_thumb ? s_opt : s_thumb;
	int mw, mh;
	if (o->mezzanine && enl_mezzanine_size(src->width, src->height, &mw, &mh)) {
		double s_mezz = enl_decode_scale(src, mw, mh, 1);
		if (s_mezz > s)
			s = s_mezz;
	}
	*w = (int)(src->width * s + 0.5);
	*h = (int)(src->height * s + 0.5);
	if (*w < 1)
		*w = 1;
	if (*h < 1)
		*h = 1;
}

/* One encode, run on its own thread (libvips is thread-safe for separate images; the
 * input is an in-memory image that both threads only read). */
struct encode_job {
	VipsImage *img;
	enum enl_format fmt;
	int quality;
	int threads;
	const char *artist, *copyright;
	struct enl_output *out;
	struct enl_errmsg err;
	int rc;
};

static void *encode_thread(void *arg)
{
	struct encode_job *j = arg;
	j->rc = enl_encode(j->img, j->fmt, j->quality, j->threads, j->artist, j->copyright, j->out,
	                   &j->err);
	return NULL;
}

/* What libvips 8.14's vips_thumbnail holds for a streamed source, by the source's width
 * (the strips of whole lines its threads work on, in float, alpha premultiplied), in
 * 4-byte pixels a column: the most measured (vipsthumbnail --vips-leak, PNGs 1,500-12,000
 * px wide) rounded up (bench/profile.md, "Streamed decodes"). */
#define STREAM_PIXELS_A_COLUMN 1536
#define STREAM_PIXELS_A_COLUMN_ALPHA 7168

/* Decoded pixels for a box, by the plan's way (vips_internal.h): a JPEG shrinks on load
 * to at least the box (the stored image divided by the DCT scaling), and its resize holds
 * that reduced along one axis; a whole decode holds the stored image and the box; a
 * streamed loader holds strips of whole lines, and the box twice for the resize's own
 * buffers. */
static double decoded_pixels(const struct enl_probe *src, int w, int h, VipsInteresting crop,
                             const struct enl_render_req *from, const struct enl_pipeline_opts *o)
{
	double s = enl_decode_scale(src, w, h, crop != VIPS_INTERESTING_NONE);
	double box = ((double)src->width * s + 1) * ((double)src->height * s + 1);
	struct enl_decode_plan plan;

	enl_decode_plan(src, w, h, crop, from, o, &plan);
	switch (plan.way) {
	case ENL_DECODE_DCT: {
		double dw = (double)src->stored_w / plan.shrink + 1;
		double dh = (double)src->stored_h / plan.shrink + 1;
		double out = (double)(src->width > src->height ? src->width : src->height) * s + 1;
		return dw * dh + (dw > dh ? dw : dh) * out;
	}
	case ENL_DECODE_WHOLE: return (double)src->stored_w * src->stored_h + box;
	case ENL_DECODE_STREAM: break;
	}
	double strips = src->has_alpha ? STREAM_PIXELS_A_COLUMN_ALPHA : STREAM_PIXELS_A_COLUMN;
	return 2 * box + strips * src->stored_w;
}

int enl_pipeline_estimate_cost(const void *data, size_t len, const struct enl_pipeline_opts *o,
                               const struct enl_render_req *req, struct enl_probe *probe,
                               size_t *out, struct enl_errmsg *e)
{
	struct enl_probe local, *src = probe ? probe : &local;
	double px, outpx;
	int rc, w, h;

	*out = 0;
	if ((rc = enl_decode_probe(data, len, o, src, e)))
		return rc;
	if (!req) {
		int mw = 0, mh = 0;
		enl_process_decode_box(src, o, &w, &h);
		px = decoded_pixels(src, w, h, VIPS_INTERESTING_NONE, NULL, o);
		/* mem, opt and opt_flat at the box, the thumbnail's crop intermediates, the
		 * mezzanine (in memory while it is encoded). */
		outpx = 3.0 * w * h + 4.0 * o->thumb_size * o->thumb_size;
		if (o->mezzanine && enl_mezzanine_size(src->width, src->height, &mw, &mh))
			outpx += (double)mw * mh;
	} else {
		VipsInteresting crop = req->fit == ENL_FIT_COVER && req->height > 0
		                           ? VIPS_INTERESTING_ATTENTION
		                           : VIPS_INTERESTING_NONE;
		/* The box enl_pipeline_render decodes for, and the output size in it. */
		int bh = req->height > 0 ? req->height : VIPS_MAX_COORD;
		double s = enl_decode_scale(src, req->width, bh, crop != VIPS_INTERESTING_NONE);
		px = decoded_pixels(src, req->width, bh, crop, req, o);
		w = (int)(src->width * s + 1);
		h = (int)(src->height * s + 1);
		outpx = 2.0 * w * h;
	}
	/* 4 bytes a pixel; the encoders (WebP's YUV picture and its tokens, libjpeg's
	 * buffers) about as much again as their input; 4 MiB of fixed overhead. */
	*out = len + (size_t)(4.0 * (px + 2.0 * outpx)) + ((size_t)4 << 20);
	return 0;
}

static int check_opts(const struct enl_pipeline_opts *o, struct enl_errmsg *e)
{
	if (o->thumb_size < ENL_THUMB_SIZE_MIN || o->thumb_size > ENL_THUMB_SIZE_MAX ||
	    o->optimized_width < ENL_OPTIMIZED_SIDE_MIN ||
	    o->optimized_width > ENL_OPTIMIZED_SIDE_MAX ||
	    o->optimized_height < ENL_OPTIMIZED_SIDE_MIN ||
	    o->optimized_height > ENL_OPTIMIZED_SIDE_MAX)
		return enl_fail(e, ENL_EINVAL, "invalid derivative size settings");
	return 0;
}

int enl_pipeline_process(const void *data, size_t len, const struct enl_pipeline_opts *o,
                         const struct enl_probe *probe, struct enl_pipeline_result *res,
                         struct enl_errmsg *e)
{
	struct enl_probe local;
	const struct enl_probe *src = NULL;
	VipsImage *mem = NULL, *thumb = NULL, *thumb_flat = NULL, *opt = NULL, *opt_flat = NULL;
	VipsImage *tmp = NULL;
	struct enl_decode_plan plan;
	const char *artist = NULL, *copyright = NULL;
	VipsRegion *region = NULL;
	struct encode_job big = {0};
	pthread_t big_thread;
	int big_started = 0;
	int dw, dh, rc;

	memset(res, 0, sizeof(*res));
	if ((rc = check_opts(o, e)))
		return rc;
	if ((rc = enl_decode_header(data, len, o, probe, &local, &src, e)))
		return rc;
	snprintf(res->source_format, sizeof(res->source_format), "%s", src->format);
	res->width = src->width;
	res->height = src->height;
	res->file_size = len;
	res->exif = src->exif;
	if (o->keep_copyright) {
		artist = src->exif.artist;
		copyright = src->exif.copyright;
	}

	enl_process_decode_box(src, o, &dw, &dh);
	enl_decode_plan(src, dw, dh, VIPS_INTERESTING_NONE, NULL, o, &plan);
	if ((rc = enl_decode_image(data, len, src, dw, dh, VIPS_INTERESTING_NONE, VIPS_SIZE_DOWN,
	                           &plan, &mem, e)))
		goto done;
	/* The decoded image is oriented: report its true aspect (the header's orientation
	 * and the loader's own transforms, e.g. HEIF irot, can disagree). */
	if ((vips_image_get_width(mem) > vips_image_get_height(mem) && res->width < res->height) ||
	    (vips_image_get_width(mem) < vips_image_get_height(mem) && res->width > res->height)) {
		int t = res->width;
		res->width = res->height;
		res->height = t;
	}

	/* Both derivatives are cut from mem, in memory: no second decode. */
	if (vips_thumbnail_image(mem, &tmp, o->optimized_width, "height", o->optimized_height,
	                         "size", VIPS_SIZE_DOWN, "no_rotate", TRUE, NULL) ||
	    !(opt = vips_image_copy_memory(tmp))) {
		enl_vips_log("optimized resize");
		rc = enl_fail(e, ENL_EINTERNAL, "cannot make the optimized image");
		goto done;
	}
	g_clear_object(&tmp);
	/* The optimized WebP is the costliest step after the decode: with a share of more
	 * than one core it runs on a second thread while this one makes the thumbnail, the
	 * placeholders and the other three encodes, the way sharp runs its outputs side by
	 * side. Otherwise (or without a thread) it runs here, at the end. */
	big.img = opt;
	big.fmt = ENL_FMT_WEBP;
	big.quality = o->webp_quality;
	big.threads = o->threads;
	big.artist = artist;
	big.copyright = copyright;
	big.out = &res->out[ENL_DERIV_OPTIMIZED][0];
	big_started = o->threads > 1 && pthread_create(&big_thread, NULL, encode_thread, &big) == 0;
	if (vips_thumbnail_image(mem, &tmp, o->thumb_size, "height", o->thumb_size, "crop",
	                         VIPS_INTERESTING_ATTENTION, "no_rotate", TRUE, NULL) ||
	    !(thumb = vips_image_copy_memory(tmp))) {
		enl_vips_log("thumbnail crop");
		rc = enl_fail(e, ENL_EINTERNAL, "cannot make the thumbnail");
		goto done;
	}
	g_clear_object(&tmp);
	if ((rc = enl_flatten_white(thumb, &tmp, e)))
		goto done;
	thumb_flat = vips_image_copy_memory(tmp);
	g_clear_object(&tmp);
	if (!thumb_flat) {
		enl_vips_log("thumbnail flatten");
		rc = enl_fail(e, ENL_EINTERNAL, "cannot make the thumbnail");
		goto done;
	}
	if ((rc = enl_flatten_white(opt, &opt_flat, e)))
		goto done;

	/* Placeholders from the thumbnail as the JPEG shows it (alpha on white). */
	{
		VipsRect all = {0, 0, vips_image_get_width(thumb_flat),
		                vips_image_get_height(thumb_flat)};
		const unsigned char *px;
		int bands = vips_image_get_bands(thumb_flat);
		region = vips_region_new(thumb_flat);
		if (!region || vips_region_prepare(region, &all)) {
			enl_vips_log("thumbnail pixels");
			rc = enl_fail(e, ENL_EINTERNAL, "cannot read the thumbnail pixels");
			goto done;
		}
		/* A memory image of all rows: one contiguous block, no padding. */
		px = (const unsigned char *)VIPS_REGION_ADDR(region, 0, 0);
		if (VIPS_REGION_LSKIP(region) != (size_t)all.width * bands) {
			rc = enl_fail(e, ENL_EINTERNAL, "unexpected thumbnail layout");
			goto done;
		}
		if ((rc = enl_placeholder_blurhash(px, all.width, all.height, bands, 4, 3,
		                                   res->blurhash, sizeof(res->blurhash)))) {
			rc = enl_fail(e, rc, "cannot compute the BlurHash");
			goto done;
		}
		enl_placeholder_dominant(px, all.width, all.height, bands, res->dominant_color);
		if (thumb_observer)
			thumb_observer(px, all.width, all.height, thumb_observer_ud);
	}

	if ((rc = enl_encode(thumb, ENL_FMT_WEBP, o->webp_quality, o->threads, artist, copyright,
	                     &res->out[ENL_DERIV_THUMB][0], e)) ||
	    (rc = enl_encode(thumb_flat, ENL_FMT_JPEG, o->jpeg_quality, o->threads, artist,
	                     copyright, &res->out[ENL_DERIV_THUMB][1], e)) ||
	    (rc = enl_encode(opt_flat, ENL_FMT_JPEG, o->jpeg_quality, o->threads, artist, copyright,
	                     &res->out[ENL_DERIV_OPTIMIZED][1], e)))
		goto done;
	/* On this thread, while the optimized WebP (the longest encode) runs on the other. */
	if (o->mezzanine && (rc = enl_mezzanine_make(mem, res->width, res->height, artist,
	                                             copyright, &res->mezzanine, e)))
		goto done;
	if (!big_started)
		encode_thread(&big);

done:
	/* Joined before anything it reads (opt) or writes (res) goes away. */
	if (big_started)
		pthread_join(big_thread, NULL);
	if (!rc && big.rc) {
		rc = big.rc;
		if (e)
			*e = big.err;
	}
	if (region)
		g_object_unref(region);
	g_clear_object(&tmp);
	g_clear_object(&opt_flat);
	g_clear_object(&opt);
	g_clear_object(&thumb_flat);
	g_clear_object(&thumb);
	g_clear_object(&mem);
	if (rc)
		enl_pipeline_result_free(res);
	return rc;
}

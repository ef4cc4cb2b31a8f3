/* Lossy WebP straight from an in-memory image with libwebp, without a trip through libvips'
 * saver (which would copy the pixels again, build a WebPMux for metadata we then strip, and
 * allow no thread_level). The bytes carry no metadata chunk at all. */
#include "vips_internal.h"

#include <webp/encode.h>
#include <webp/types.h>

void enl_webp_opts_default(struct enl_webp_opts *o, int quality)
{
	o->quality = quality;
	/* libwebp's default method: no faster setting keeps both the bytes and the SSIM
	 * (bench/profile.md, "WebP encoder settings (sweep)"). */
	o->method = 4;
	o->sns_strength = -1;
	o->filter_strength = -1;
	o->filter_sharpness = -1;
	o->segments = -1;
	o->partitions = -1;
	o->pass = -1;
	o->thread_level = 0;
}

int enl_webp_can_encode(VipsImage *img)
{
	VipsInterpretation in = vips_image_get_interpretation(img);
	int bands = vips_image_get_bands(img);

	/* Only a plain memory image (vips_image_copy_memory) has all its pixels at
	 * VIPS_IMAGE_ADDR; anything else goes through libvips' saver, which renders it. */
	return (img->dtype == VIPS_IMAGE_SETBUF || img->dtype == VIPS_IMAGE_SETBUF_FOREIGN) &&
	       img->data && vips_image_get_format(img) == VIPS_FORMAT_UCHAR &&
	       img->Coding == VIPS_CODING_NONE && (bands == 3 || bands == 4) &&
	       (in == VIPS_INTERPRETATION_sRGB || in == VIPS_INTERPRETATION_RGB) &&
	       vips_image_get_width(img) <= WEBP_MAX_DIMENSION &&
	       vips_image_get_height(img) <= WEBP_MAX_DIMENSION;
}

static void set_if(int *field, int v)
{
	if (v >= 0)
		*field = v;
}

int enl_webp_encode(VipsImage *img, const struct enl_webp_opts *o, void **out, size_t *out_len)
{
	WebPConfig config;
	WebPPicture pic;
	WebPMemoryWriter wr;
	int w = vips_image_get_width(img), h = vips_image_get_height(img);
	int stride, ok, rc = -1;
	const uint8_t *px;

	*out = NULL;
	*out_len = 0;
	if (!enl_webp_can_encode(img)) {
		vips_error("enl_webp", "not an 8-bit sRGB memory image");
		return -1;
	}
	/* What vips_webpsave(Q = quality, effort = method) sets: the default preset at Q,
	 * lossy, alpha losslessly compressed at alpha quality 100. */
	if (!WebPConfigPreset(&config, WEBP_PRESET_DEFAULT, (float)o->quality)) {
		vips_error("enl_webp", "libwebp version mismatch");
		return -1;
	}
	config.lossless = 0;
	config.alpha_quality = 100;
	config.method = o->method;
	set_if(&config.sns_strength, o->sns_strength);
	set_if(&config.filter_strength, o->filter_strength);
	set_if(&config.filter_sharpness, o->filter_sharpness);
	set_if(&config.segments, o->segments);
	set_if(&config.partitions, o->partitions);
	set_if(&config.pass, o->pass);
	config.thread_level = o->thread_level > 0;
	if (!WebPValidateConfig(&config)) {
		vips_error("enl_webp", "invalid encoder settings");
		return -1;
	}
	if (!WebPPictureInit(&pic)) {
		vips_error("enl_webp", "libwebp version mismatch");
		return -1;
	}
	WebPMemoryWriterInit(&wr);
	pic.width = w;
	pic.height = h;
	pic.use_argb = 0; /* lossy: libwebp converts to YUV 4:2:0 on import */
	pic.writer = WebPMemoryWrite;
	pic.custom_ptr = &wr;
	px = (const uint8_t *)VIPS_IMAGE_ADDR(img, 0, 0);
	stride = (int)VIPS_IMAGE_SIZEOF_LINE(img);
	/* An RGBA image whose alpha is all 255 comes out without an ALPH chunk (libwebp
	 * checks), as it did from vips_webpsave. */
	ok = vips_image_get_bands(img) == 4 ? WebPPictureImportRGBA(&pic, px, stride)
	                                    : WebPPictureImportRGB(&pic, px, stride);
	if (!ok) {
		vips_error("enl_webp", "picture import failed (error %d)", pic.error_code);
		goto done;
	}
	if (!WebPEncode(&config, &pic)) {
		vips_error("enl_webp", "encode failed (error %d)", pic.error_code);
		goto done;
	}
	*out = wr.mem; /* libwebp's allocation: released with WebPFree */
	*out_len = wr.size;
	wr.mem = NULL;
	rc = 0;
done:
	WebPPictureFree(&pic);
	WebPMemoryWriterClear(&wr);
	return rc;
}

void enl_webp_free(void *p)
{
	WebPFree(p);
}

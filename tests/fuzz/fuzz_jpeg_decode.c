/* Fuzz target for the direct JPEG decoder (enl_jpeg_decode, src/core/jpeg_decode.c), which
 * replaces libvips' loader for the common JPEG. The input is the file; it is probed first
 * (1 MP limit), as every decode is, and decoded at a DCT scale of 1/2, 1/4 or 1/8 picked
 * from its length. The oracle is libvips' own JPEG loader at the same shrink with
 * fail_on=error: when ours decodes, libvips must too, to the same size, and to the same
 * pixels when libvips saw no corrupt data (what test_jpeg_decode shows for valid files,
 * here for any bytes); a refusal is ENL_EUNSUPPORTED (not a case it takes) or
 * ENL_EDECODE. */
#include "fuzz.h"
#include "fuzz_vips.h"
#include "vips_internal.h"

#define MAX_PIXELS (1u << 20)

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	fuzz_vips_init(argc && *argc ? (*argv)[0] : NULL);
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct enl_pipeline_opts o;
	struct enl_probe src;
	struct enl_errmsg e = {""};
	enl_pipeline_opts_default(&o);
	o.max_input_pixels = MAX_PIXELS;
	if (enl_decode_probe(data, size, &o, &src, &e) || strcmp(src.format, "jpeg") != 0)
		return 0;

	int shrink = 2 << (size % 3);
	VipsImage *ours = NULL, *ref = NULL, *refmem = NULL;
	int rc = enl_jpeg_decode(data, size, shrink, src.orientation, &ours);
	FUZZ_CHECK(rc == 0 || rc == ENL_EUNSUPPORTED || rc == ENL_EDECODE);
	FUZZ_CHECK(!rc == !!ours);
	if (rc) {
		vips_error_clear();
		return 0;
	}
	FUZZ_CHECK(vips_image_get_bands(ours) == 3 &&
	           vips_image_get_format(ours) == VIPS_FORMAT_UCHAR);
	FUZZ_CHECK(vips_image_get_width(ours) == src.stored_w / shrink &&
	           vips_image_get_height(ours) == src.stored_h / shrink);

	vips_error_clear();
	ref = vips_image_new_from_buffer(data, size, "", "shrink", shrink, "fail_on",
	                                 VIPS_FAIL_ON_ERROR, "autorotate", FALSE, NULL);
	if (ref)
		refmem = vips_image_copy_memory(ref);
	/* libvips' loader puts libjpeg's first warning in the error buffer. */
	int warned = strstr(vips_error_buffer(), "VipsJpeg") != NULL;
	if (!refmem)
		fprintf(stderr, "libvips refuses a JPEG the direct decoder took: %s\n",
		        vips_error_buffer());
	FUZZ_CHECK(refmem != NULL);
	FUZZ_CHECK(vips_image_get_width(refmem) == vips_image_get_width(ours) &&
	           vips_image_get_height(refmem) == vips_image_get_height(ours));
	FUZZ_CHECK(vips_image_get_bands(refmem) == 3);
	VipsImage *a = vips_image_copy_memory(ours);
	FUZZ_CHECK(a != NULL);
	/* Corrupt data that both read past (libjpeg warned) may come out differently: libvips
	 * feeds libjpeg-turbo 4 KiB at a time and the whole-buffer decode takes its fast
	 * Huffman path, which resynchronises elsewhere. Clean data decodes the same. */
	size_t n = (size_t)vips_image_get_width(a) * vips_image_get_height(a) * 3;
	if (!warned)
		FUZZ_CHECK(memcmp(VIPS_IMAGE_ADDR(a, 0, 0), VIPS_IMAGE_ADDR(refmem, 0, 0), n) == 0);
	g_object_unref(a);
	g_object_unref(refmem);
	g_object_unref(ref);
	g_object_unref(ours);
	vips_error_clear();
	return 0;
}

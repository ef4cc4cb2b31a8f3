/* JPEG pixels straight from libjpeg-turbo, for the common case: an 8-bit YCbCr (or RGB)
 * JPEG decoded whole, with DCT scaling or at full size. libvips' own loader gives the same
 * pixels (checked by test_jpeg_decode) but costs more: it feeds libjpeg a few KiB at a
 * time, which keeps libjpeg-turbo off its fast Huffman path near the end of every buffer,
 * and copies rows through its line buffers (bench/profile.md). Everything else (CMYK,
 * greyscale, 12-bit) still goes through libvips. */
#include "vips_internal.h"

#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>

#include <jerror.h>
#include <jpeglib.h>

struct err_mgr {
	struct jpeg_error_mgr pub;
	jmp_buf jb;
};

static void on_error(j_common_ptr c)
{
	longjmp(((struct err_mgr *)c->err)->jb, 1);
}

/* libvips' jpegload fails on its 100th warning unless fail_on is none. */
#define MAX_WARNINGS 100

/* As libvips with fail_on=error: a truncated file fails (libjpeg reports it as the warning
 * JWRN_JPEG_EOF and would go on with grey rows), and so does a file with MAX_WARNINGS
 * warnings (fuzz_jpeg_decode found one that libvips refused and this decoded); fewer
 * warnings, about corrupt bytes the decoder resynchronised past, do not. */
static void on_message(j_common_ptr c, int level)
{
	if (level < 0 &&
	    (c->err->msg_code == JWRN_JPEG_EOF || ++c->err->num_warnings >= MAX_WARNINGS))
		longjmp(((struct err_mgr *)c->err)->jb, 1);
}

int enl_jpeg_decode(const void *data, size_t len, int shrink, int orientation, VipsImage **out)
{
	struct jpeg_decompress_struct cinfo;
	struct err_mgr jerr;
	VipsImage *volatile im = NULL;
	JOCTET *volatile icc = NULL;
	JOCTET *icc_data = NULL;
	unsigned int icc_len = 0;

	*out = NULL;
	if (shrink != 1 && shrink != 2 && shrink != 4 && shrink != 8)
		return ENL_EUNSUPPORTED;
	cinfo.err = jpeg_std_error(&jerr.pub);
	jerr.pub.error_exit = on_error;
	jerr.pub.emit_message = on_message;
	if (setjmp(jerr.jb)) {
		jpeg_destroy_decompress(&cinfo);
		if (im)
			g_object_unref(im);
		free(icc);
		return ENL_EDECODE;
	}
	jpeg_create_decompress(&cinfo);
	jpeg_mem_src(&cinfo, data, (unsigned long)len);
	jpeg_save_markers(&cinfo, JPEG_APP0 + 2, 0xffff); /* the ICC profile's chunks */
	jpeg_read_header(&cinfo, TRUE);
	if (cinfo.num_components != 3 || cinfo.data_precision != 8 ||
	    (cinfo.jpeg_color_space != JCS_YCbCr && cinfo.jpeg_color_space != JCS_RGB)) {
		jpeg_destroy_decompress(&cinfo);
		return ENL_EUNSUPPORTED;
	}
	if (jpeg_read_icc_profile(&cinfo, &icc_data, &icc_len))
		icc = icc_data;
	cinfo.scale_num = 1;
	cinfo.scale_denom = (unsigned int)shrink;
	cinfo.out_color_space = JCS_RGB;
	jpeg_start_decompress(&cinfo);

	im = enl_pixel_pool_image((int)cinfo.output_width, (int)cinfo.output_height);
	if (!im)
		longjmp(jerr.jb, 1);
	while (cinfo.output_scanline < cinfo.output_height) {
		JSAMPROW rows[16];
		JDIMENSION n = 0, y = cinfo.output_scanline;
		while (n < 16 && y + n < cinfo.output_height) {
			rows[n] = VIPS_IMAGE_ADDR(im, 0, (int)(y + n));
			n++;
		}
		jpeg_read_scanlines(&cinfo, rows, n);
	}
	/* No jpeg_finish_decompress: like libvips, stop at the last row rather than read on to
	 * EOI, so bytes after the image data neither fail nor pass a file libvips treats
	 * otherwise. */
	jpeg_destroy_decompress(&cinfo);

	/* libjpeg rounds a scaled size up, libvips' loader down (1203 px at 1/2: 602 and
	 * 601): the last partial column and row go, so the pixels are exactly libvips'. */
	int fw = (int)(cinfo.image_width / (unsigned int)shrink);
	int fh = (int)(cinfo.image_height / (unsigned int)shrink);
	if (fw < 1 || fh < 1) {
		g_object_unref(im);
		free(icc);
		return ENL_EUNSUPPORTED;
	}
	if (fw != vips_image_get_width(im) || fh != vips_image_get_height(im)) {
		VipsImage *c = NULL;
		if (vips_crop(im, &c, 0, 0, fw, fh, NULL)) {
			g_object_unref(im);
			free(icc);
			return ENL_EDECODE;
		}
		g_object_unref(im);
		im = c;
	}
	if (icc) {
		vips_image_set_blob_copy(im, VIPS_META_ICC_NAME, icc, icc_len);
		free(icc);
	}
	if (orientation > 1 && orientation <= 8)
		vips_image_set_int(im, VIPS_META_ORIENTATION, orientation);
	*out = im;
	return 0;
}

/* Output sizes, pure arithmetic: what a fit-inside render comes out at, the mezzanine's
 * size, and what a render needs from its source (include/enlarger/pipeline.h). */
#include "core_internal.h"

#include "enlarger/defaults.h"

/* libvips' VIPS_RINT: round half away from zero. */
static int rint_pos(double v)
{
	return (int)(v + 0.5);
}

/* The one shrink libvips' vips_thumbnail_calculate_shrink (libvips 8.14) takes for both
 * axes: the limiting side's for fit inside (the larger factor), the other's for a cover
 * (the smaller), never below 1 (size down); h 0 = any height. vips_resize then rounds each
 * side of the full-size image by it. */
static double shrink_of(int w_src, int h_src, int w, int h, int cover)
{
	double hs = (double)w_src / (w > 0 ? w : 1);
	double vs = h > 0 ? (double)h_src / h : cover ? hs : 0;
	double s = cover ? (hs < vs ? hs : vs) : (hs > vs ? hs : vs);
	return s < 1 ? 1 : s;
}

/* w_src x h_src shrunk by s, each side rounded, none under 1. */
static void scaled(int w_src, int h_src, double s, int *out_w, int *out_h)
{
	*out_w = rint_pos(w_src / s);
	*out_h = rint_pos(h_src / s);
	if (*out_w < 1)
		*out_w = 1;
	if (*out_h < 1)
		*out_h = 1;
}

void enl_render_inside_size(int w_src, int h_src, int w, int h, int *out_w, int *out_h)
{
	scaled(w_src, h_src, shrink_of(w_src, h_src, w, h, 0), out_w, out_h);
}

int enl_mezzanine_size(int w, int h, int *mw, int *mh)
{
	enl_render_inside_size(w, h, ENL_MEZZANINE_SIDE, ENL_MEZZANINE_SIDE, mw, mh);
	return (w > ENL_MEZZANINE_SIDE || h > ENL_MEZZANINE_SIDE) &&
	       100.0 * *mw * *mh <= (double)ENL_MEZZANINE_PIXELS_PERCENT * w * h;
}

void enl_render_source_need(int w_src, int h_src, const struct enl_render_req *req, int *need_w,
                            int *need_h)
{
	if (req->exact) {
		*need_w = req->width;
		*need_h = req->height;
	} else if (req->fit == ENL_FIT_COVER && req->height > 0) {
		/* Scaled to cover w x h (never up), then cropped: the scaled size. */
		scaled(w_src, h_src, shrink_of(w_src, h_src, req->width, req->height, 1), need_w,
		       need_h);
	} else {
		enl_render_inside_size(w_src, h_src, req->width, req->height, need_w, need_h);
	}
}

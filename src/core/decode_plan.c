/* How each decode shrinks on load, and how a render from a mezzanine comes out as soft as
 * the render of the original would (enl_decode_plan, vips_internal.h). */
#include "vips_internal.h"

#include <math.h>
#include <string.h>

/* The JPEG shrink-on-load factor (1, 2, 4 or 8) for a resize by factor: the largest DCT
 * scaling that still leaves the decoded image at least as large as the target, as sharp
 * does (fastShrinkOnLoad). vips_thumbnail in libvips 8.14 instead leaves a further factor
 * of two for the final resize (24 MP to 400 px: shrink 4 where 8 fits; 24 MP to 1920 px:
 * no shrink at all where 2 fits), which costs a larger IDCT and a larger resize for an
 * SSIM difference that does not show (bench/profile.md, "Where the time goes"). */
static int dct_shrink(double factor)
{
	return factor >= 8 ? 8 : factor >= 4 ? 4 : factor >= 2 ? 2 : 1;
}

/* The width, in source pixels, of the box a resize by factor averages before its
 * Lanczos: the DCT scaling (shrink), then vips_resize's (libvips 8.14, reducing gap 2)
 * integer shrink of what is left. */
static int box_of(double factor, int shrink)
{
	int g = (int)(factor / shrink / 2);
	return shrink * (g > 1 ? g : 1);
}

/* The gain of a box of b pixels, each px original pixels wide, at f cycles an original
 * pixel (1: no box). */
static double box_gain(int b, double px, double f)
{
	double x = M_PI * b * px * f;
	return b > 1 ? sin(x) / x : 1;
}

/* Both paths average boxes of pixels before a Lanczos resize: the original's render by
 * its DCT scaling and vips_resize's integer shrink, the mezzanine's by what /process's
 * decode averaged and its own resize's integer shrink. A box is a softer filter than the
 * Lanczos, and the original's are the larger (in original pixels): a render from the
 * mezzanine comes out sharper than the original's, and larger. So the mezzanine decodes at
 * full size (its DCT scaling came out softer than the original's render, whatever its
 * box), and a 3-tap blur makes up the difference in gain at the output's Nyquist
 * frequency (bench/profile.md, "The mezzanine"). */
static void mezzanine_plan(const struct enl_probe *mz, double factor,
                           const struct enl_render_req *from, const struct enl_pipeline_opts *o,
                           struct enl_decode_plan *plan)
{
	double s = (double)from->original_width / mz->width; /* original pixels a mezzanine's */
	double of = factor * s;                              /* the original's own factor */
	double f = 1 / (2 * of); /* the output's Nyquist, in cycles an original pixel */
	struct enl_probe orig = {.width = from->original_width,
	                         .height = (int)(mz->height * s + 0.5)};
	int pw, ph, mw, mh, jpeg = from->original_jpeg;
	double pf, want, have, a;

	want = box_gain(box_of(of, jpeg ? dct_shrink(of) : 1), 1, f);
	/* /process's decode, its resize to the mezzanine, then this render's resize. */
	enl_process_decode_box(&orig, o, &pw, &ph);
	enl_mezzanine_size(orig.width, orig.height, &mw, &mh);
	pf = (double)orig.width / pw;
	have = box_gain(box_of(pf, jpeg ? dct_shrink(pf) : 1), 1, f) *
	       box_gain(box_of((double)pw / mw, 1), pf, f) * box_gain(box_of(factor, 1), s, f);
	/* [a, 1 - 2a, a] has the gain 1 - 2a (1 - cos 2 pi fd) at fd cycles a pixel. */
	a = have > want ? (1 - want / have) / (2 * (1 - cos(2 * M_PI * s * f))) : 0;
	plan->shrink = 1;
	plan->blur = (int)((a < 0.25 ? a : 0.25) * 256 + 0.5);
}

void enl_decode_plan(const struct enl_probe *src, int w, int h, VipsInteresting crop,
                     const struct enl_render_req *from, const struct enl_pipeline_opts *o,
                     struct enl_decode_plan *plan)
{
	double scale = enl_decode_scale(src, w, h, crop != VIPS_INTERESTING_NONE);
	double factor = scale > 0 ? 1.0 / scale : 1.0;

	int jpeg = strcmp(src->format, "jpeg") == 0;

	plan->way = jpeg                               ? ENL_DECODE_DCT
	            : strcmp(src->format, "heif") == 0 ? ENL_DECODE_WHOLE
	                                               : ENL_DECODE_STREAM;
	plan->shrink = jpeg ? dct_shrink(factor) : 1;
	plan->blur = 0;
	if (jpeg && from && from->original_width > src->width)
		mezzanine_plan(src, factor, from, o, plan);
}

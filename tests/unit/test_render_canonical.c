/* enl_render_canonical keeps the bytes: for sources in several formats (and one stored
 * rotated, EXIF orientation 6), each request is rendered as asked and as its canonical
 * form, and the two outputs must be the same bytes. Requests are made relative to each
 * source's size to hit every fold: a side past the source's, h that cannot bind, cover
 * without h, q for PNG, q equal to the default. The sources are made here with libvips. */
#include <stdio.h>
#include <string.h>

#include <vips/vips.h>

#include "check.h"
#include "enlarger/pipeline.h"
#include "enlarger/service.h"

struct source {
	const char *name;
	void *data;
	size_t len;
	int w, h; /* after orientation */
};

/* Noise over a diagonal gradient (so that an attention crop has something to pick), w x h,
 * saved as fmt ("jpg", "png", "webp"); orientation: the EXIF tag written (1: none). */
static void make(struct source *s, const char *name, int w, int h, const char *fmt, int orientation)
{
	VipsImage *noise = NULL, *grad = NULL, *sum = NULL, *img = NULL;
	char suffix[16];
	REQUIRE(vips_gaussnoise(&noise, w, h, "mean", 100.0, "sigma", 30.0, NULL) == 0);
	REQUIRE(vips_xyz(&grad, w, h, NULL) == 0);
	VipsImage *x = NULL, *gx = NULL;
	REQUIRE(vips_extract_band(grad, &x, 0, NULL) == 0);
	REQUIRE(vips_linear1(x, &gx, 100.0 / w, 0.0, NULL) == 0);
	REQUIRE(vips_add(noise, gx, &sum, NULL) == 0);
	VipsImage *bands[3] = {sum, sum, sum}, *rgb = NULL;
	REQUIRE(vips_bandjoin(bands, &rgb, 3, NULL) == 0);
	REQUIRE(vips_cast_uchar(rgb, &img, NULL) == 0);
	VipsImage *srgb = NULL;
	REQUIRE(vips_copy(img, &srgb, "interpretation", VIPS_INTERPRETATION_sRGB, NULL) == 0);
	g_object_unref(img);
	img = srgb;
	if (orientation != 1)
		vips_image_set_int(img, VIPS_META_ORIENTATION, orientation);
	snprintf(suffix, sizeof(suffix), ".%s", fmt);
	REQUIRE(vips_image_write_to_buffer(img, suffix, &s->data, &s->len, NULL) == 0);
	s->name = name;
	g_object_unref(noise);
	g_object_unref(grad);
	g_object_unref(x);
	g_object_unref(gx);
	g_object_unref(sum);
	g_object_unref(rgb);
	g_object_unref(img);

	struct enl_pipeline_opts o;
	struct enl_probe probe;
	struct enl_errmsg e = {{0}};
	size_t cost;
	enl_pipeline_opts_default(&o);
	REQUIRE(enl_pipeline_estimate_cost(s->data, s->len, &o, NULL, &probe, &cost, &e) == 0);
	REQUIRE(probe.rc == 0);
	CHECK_INT_EQ(probe.orientation, orientation);
	s->w = probe.width;
	s->h = probe.height;
}

static int render(const struct source *s, const struct enl_render_req *r, struct enl_output *o)
{
	struct enl_pipeline_opts opts;
	struct enl_errmsg e = {{0}};
	enl_pipeline_opts_default(&opts);
	int rc = enl_pipeline_render(s->data, s->len, &opts, NULL, r, o, &e);
	if (rc)
		fprintf(stderr, "render: %s\n", e.text);
	return rc;
}

int main(int argc, char **argv)
{
	(void)argc;
	struct enl_config c;
	struct source src[4];
	int folded = 0;

	REQUIRE(enl_pipeline_init(argv[0]) == 0);
	memset(&c, 0, sizeof(c));
	c.max_render_width = 8192;
	c.render_widths.any = 1;
	static const int qualities[] = {40, 80, 82};
	memcpy(c.render_qualities.v, qualities, sizeof(qualities));
	c.render_qualities.n = 3;
	make(&src[0], "jpeg 1000x750", 1000, 750, "jpg", 1);
	make(&src[1], "png 300x200", 300, 200, "png", 1);
	make(&src[2], "webp 500x400", 500, 400, "webp", 1);
	make(&src[3], "jpeg 640x480 stored, orientation 6", 640, 480, "jpg", 6);
	CHECK_INT_EQ(src[3].w, 480);
	CHECK_INT_EQ(src[3].h, 640);

	for (size_t i = 0; i < sizeof(src) / sizeof(src[0]); i++) {
		const struct source *s = &src[i];
		int W = s->w, H = s->h;
		char q[40][96];
		int n = 0;
		/* Past the source's width, with and without h, each fit. */
		snprintf(q[n++], 96, "w=%d&fmt=webp", W + 100);
		snprintf(q[n++], 96, "w=%d&fmt=jpeg", W);
		snprintf(q[n++], 96, "w=%d&h=%d&fit=inside&fmt=webp", W + 100, H / 2);
		snprintf(q[n++], 96, "w=%d&h=%d&fit=inside&fmt=jpeg", W / 2, H + 50);
		snprintf(q[n++], 96, "w=%d&h=%d&fit=inside&fmt=webp", W / 3, H);
		snprintf(q[n++], 96, "w=%d&h=%d&fit=inside&fmt=png", W + 1, H + 1);
		snprintf(q[n++], 96, "w=%d&h=%d&fit=cover&fmt=webp", W + 100, H / 3);
		snprintf(q[n++], 96, "w=%d&h=%d&fit=cover&fmt=jpeg", W / 3, H + 100);
		snprintf(q[n++], 96, "w=%d&h=%d&fit=cover&fmt=webp", W + 7, H + 9);
		snprintf(q[n++], 96, "w=%d&fit=cover&fmt=webp", W / 4);
		snprintf(q[n++], 96, "w=%d&fit=cover&fmt=jpeg", W * 2);
		/* Quality: none for PNG, the default by number. */
		snprintf(q[n++], 96, "w=%d&fmt=png&q=40", W / 2);
		snprintf(q[n++], 96, "w=%d&fmt=webp&q=80", W / 2);
		snprintf(q[n++], 96, "w=%d&fmt=jpeg&q=82", W / 5);
		/* Already canonical: the same request both ways (a control). */
		snprintf(q[n++], 96, "w=%d&h=%d&fit=inside&fmt=webp", W / 2, H / 3);
		for (int k = 0; k < n; k++) {
			struct enl_render_params p;
			struct enl_render_req asked, canon;
			struct enl_output a, b;
			struct enl_errmsg e = {{0}};
			if (enl_render_params_parse(&c, q[k], NULL, &p, &e)) {
				fprintf(stderr, "?%s: %s\n", q[k], e.text);
				REQUIRE(0);
			}
			/* As asked: only the quality resolved (the encoder does the same for 0). */
			asked = p.req;
			enl_render_canonical(&c, &p, s->w, s->h, &canon);
			folded += memcmp(&asked, &canon, sizeof(asked)) != 0;
			REQUIRE(render(s, &asked, &a) == 0);
			REQUIRE(render(s, &canon, &b) == 0);
			check_count++;
			if (a.bytes.len != b.bytes.len ||
			    memcmp(a.bytes.data, b.bytes.data, a.bytes.len) || a.width != b.width ||
			    a.height != b.height) {
				check_failures++;
				fprintf(
				    stderr,
				    "%s, ?%s: as asked %dx%d (%zu bytes), canonical w%d h%d fit%d "
				    "q%d %dx%d (%zu bytes)\n",
				    s->name, q[k], a.width, a.height, a.bytes.len, canon.width,
				    canon.height, (int)canon.fit, canon.quality, b.width, b.height,
				    b.bytes.len);
			}
			enl_buf_free(&a.bytes);
			enl_buf_free(&b.bytes);
		}
	}
	/* Every request but the controls was folded into another form. */
	CHECK(folded >= 4 * 13);
	for (size_t i = 0; i < sizeof(src) / sizeof(src[0]); i++)
		g_free(src[i].data);
	enl_pipeline_shutdown();
	return check_done();
}

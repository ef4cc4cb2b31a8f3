/* enl_pipeline_process and enl_pipeline_render on fixtures made here: orientation 1-8 by
 * pixels, colour management (CMYK, Display P3), alpha, 16-bit, HEIC/AVIF/GIF/TIFF/WebP
 * inputs, derivative sizes against vipsheader, output metadata against exiftool. */
#include "pipeline_support.h"

static struct enl_pipeline_opts opts;

static int process_file(const char *path, struct enl_pipeline_result *res, struct enl_errmsg *e)
{
	size_t len = 0;
	unsigned char *data = read_file(path, &len);
	int rc;
	REQUIRE(data != NULL);
	rc = enl_pipeline_process(data, len, &opts, NULL, res, e);
	free(data);
	if (rc)
		fprintf(stderr, "process %s: %s (%s)\n", path, enl_err_name(rc), e->text);
	return rc;
}

static const struct enl_output *thumb_jpeg(const struct enl_pipeline_result *r)
{
	return &r->out[ENL_DERIV_THUMB][1];
}

static const struct enl_output *opt_jpeg(const struct enl_pipeline_result *r)
{
	return &r->out[ENL_DERIV_OPTIMIZED][1];
}

static const struct enl_output *opt_webp(const struct enl_pipeline_result *r)
{
	return &r->out[ENL_DERIV_OPTIMIZED][0];
}

/* Upright 120x80: red top-left, green top-right, blue bottom-left, white bottom-right. */
static VipsImage *quadrants(void)
{
	const double red[] = {255, 0, 0}, green[] = {0, 255, 0}, blue[] = {0, 0, 255},
	             white[] = {255, 255, 255};
	VipsImage *img = solid(120, 80, white, 3);
	REQUIRE(img != NULL);
	REQUIRE(fill_rect(&img, 0, 0, 60, 40, red, 3) == 0);
	REQUIRE(fill_rect(&img, 60, 0, 60, 40, green, 3) == 0);
	REQUIRE(fill_rect(&img, 0, 40, 60, 40, blue, 3) == 0);
	return img;
}

/* Checks the four quadrant colours of an encoded w x h output. */
static void check_quadrants(const struct enl_output *o, const char *what)
{
	double px[4];
	int w = o->width, h = o->height, bad = 0;
	struct {
		int x, y;
		double r, g, b;
	} q[] = {{w / 4, h / 4, 255, 0, 0},
	         {3 * w / 4, h / 4, 0, 255, 0},
	         {w / 4, 3 * h / 4, 0, 0, 255},
	         {3 * w / 4, 3 * h / 4, 255, 255, 255}};
	for (int i = 0; i < 4; i++) {
		REQUIRE(pixel_at(o->bytes.data, o->bytes.len, q[i].x, q[i].y, px) >= 3);
		if (!near_rgb(px, q[i].r, q[i].g, q[i].b, 40)) {
			fprintf(stderr, "%s: quadrant %d at %d,%d is %.0f,%.0f,%.0f\n", what, i,
			        q[i].x, q[i].y, px[0], px[1], px[2]);
			bad = 1;
		}
	}
	CHECK(!bad);
}

/* The stored image for EXIF orientation n: the inverse of what a viewer applies, so that
 * applying orientation n gives the upright picture back (EXIF 2.32, tag 0x0112). */
static VipsImage *store_for_orientation(VipsImage *up, int n)
{
	VipsImage *a = NULL, *b = NULL;
	switch (n) {
	case 1: a = g_object_ref(up); break;
	case 2: vips_flip(up, &a, VIPS_DIRECTION_HORIZONTAL, NULL); break;
	case 3: vips_rot(up, &a, VIPS_ANGLE_D180, NULL); break;
	case 4: vips_flip(up, &a, VIPS_DIRECTION_VERTICAL, NULL); break;
	case 5: /* transpose */
		vips_rot(up, &b, VIPS_ANGLE_D90, NULL);
		vips_flip(b, &a, VIPS_DIRECTION_HORIZONTAL, NULL);
		break;
	case 6: vips_rot(up, &a, VIPS_ANGLE_D270, NULL); break;
	case 7: /* transverse */
		vips_rot(up, &b, VIPS_ANGLE_D90, NULL);
		vips_flip(b, &a, VIPS_DIRECTION_VERTICAL, NULL);
		break;
	case 8: vips_rot(up, &a, VIPS_ANGLE_D90, NULL); break;
	}
	if (b)
		g_object_unref(b);
	return a;
}

static void test_orientation(void)
{
	VipsImage *up = quadrants();
	char name[64];
	int n;

	if (!have_tool("exiftool")) {
		fprintf(stderr, "SKIP orientation: exiftool not installed\n");
		g_object_unref(up);
		return;
	}
	for (n = 1; n <= 8; n++) {
		struct enl_pipeline_result r;
		struct enl_errmsg e = {{0}};
		VipsImage *st = store_for_orientation(up, n);
		const char *path;
		char *out;
		REQUIRE(st != NULL);
		snprintf(name, sizeof(name), "orient%d.jpg[Q=95,strip]", n);
		path = save_img(st, name);
		g_object_unref(st);
		REQUIRE(path != NULL);
		/* exiftool writes the tag: the oracle for what a camera would store. */
		out =
		    run_capture("exiftool -q -overwrite_original -n -Orientation=%d '%s'", n, path);
		REQUIRE(out != NULL);
		free(out);
		REQUIRE(process_file(path, &r, &e) == 0);
		CHECK_INT_EQ(r.width, 120);
		CHECK_INT_EQ(r.height, 80);
		CHECK_INT_EQ(r.exif.orientation, n);
		CHECK_INT_EQ(opt_jpeg(&r)->width, 120);
		CHECK_INT_EQ(opt_jpeg(&r)->height, 80);
		snprintf(name, sizeof(name), "orientation %d optimized jpeg", n);
		check_quadrants(opt_jpeg(&r), name);
		snprintf(name, sizeof(name), "orientation %d optimized webp", n);
		check_quadrants(opt_webp(&r), name);
		/* The 80x80 cover crop of a 120x80 picture keeps the left/right order. */
		{
			double px[4];
			REQUIRE(pixel_at(thumb_jpeg(&r)->bytes.data, thumb_jpeg(&r)->bytes.len, 10,
			                 10, px) >= 3);
			CHECK(px[0] > 180 && px[2] < 90); /* red or at worst the white/green edge */
		}
		enl_pipeline_result_free(&r);
	}
	g_object_unref(up);
}

/* An in-gamut colour through CMYK (with its profile) comes back within a few levels. */
static void test_cmyk(void)
{
	const double orange[] = {200, 120, 60};
	VipsImage *img = solid(300, 200, orange, 3), *cmyk = NULL;
	struct enl_pipeline_result r;
	struct enl_errmsg e = {{0}};
	const char *path;
	double px[4];

	REQUIRE(img && vips_icc_transform(img, &cmyk, "cmyk", "embedded", FALSE, NULL) == 0);
	path = save_img(cmyk, "cmyk.jpg[Q=98]");
	REQUIRE(path != NULL);
	CHECK_INT_EQ(vipsheader_int(path, "bands"), 4);
	REQUIRE(process_file(path, &r, &e) == 0);
	CHECK_STR_EQ(r.source_format, "jpeg");
	REQUIRE(pixel_at(opt_jpeg(&r)->bytes.data, opt_jpeg(&r)->bytes.len, 150, 100, px) == 3);
	fprintf(stderr, "cmyk: %.0f,%.0f,%.0f\n", px[0], px[1], px[2]);
	CHECK(near_rgb(px, 200, 120, 60, 12));
	REQUIRE(pixel_at(opt_webp(&r)->bytes.data, opt_webp(&r)->bytes.len, 150, 100, px) == 3);
	CHECK(near_rgb(px, 200, 120, 60, 12));
	enl_pipeline_result_free(&r);
	g_object_unref(cmyk);
	g_object_unref(img);
}

/* sRGB red stored as Display P3 numbers (234,51,34) with the P3 profile: the output must be
 * red again, not the P3 numbers read as sRGB. */
static void test_p3(void)
{
	const double red[] = {255, 0, 0};
	VipsImage *img = solid(200, 100, red, 3), *p3 = NULL, *u = NULL;
	struct enl_pipeline_result r;
	struct enl_errmsg e = {{0}};
	const char *path;
	double px[4];

	REQUIRE(img &&
	        vips_icc_transform(img, &p3, "p3", "embedded", FALSE, "depth", 8, NULL) == 0);
	REQUIRE(vips_cast_uchar(p3, &u, NULL) == 0);
	path = save_img(u, "p3.png");
	REQUIRE(path != NULL);
	{
		/* The stored numbers really are the P3 ones. */
		size_t n;
		unsigned char *d = read_file(path, &n);
		VipsImage *raw = NULL;
		double *v = NULL;
		int nv;
		REQUIRE(d != NULL);
		raw = vips_image_new_from_buffer(d, n, "", NULL);
		REQUIRE(raw && vips_getpoint(raw, &v, &nv, 5, 5, NULL) == 0);
		CHECK(fabs(v[0] - 234) <= 2 && fabs(v[1] - 51) <= 2 && fabs(v[2] - 34) <= 2);
		CHECK(vips_image_get_typeof(raw, VIPS_META_ICC_NAME) != 0);
		g_free(v);
		g_object_unref(raw);
		free(d);
	}
	REQUIRE(process_file(path, &r, &e) == 0);
	REQUIRE(pixel_at(opt_jpeg(&r)->bytes.data, opt_jpeg(&r)->bytes.len, 100, 50, px) == 3);
	fprintf(stderr, "p3: %.0f,%.0f,%.0f\n", px[0], px[1], px[2]);
	CHECK(near_rgb(px, 255, 0, 0, 8));
	REQUIRE(pixel_at(opt_webp(&r)->bytes.data, opt_webp(&r)->bytes.len, 100, 50, px) == 3);
	CHECK(near_rgb(px, 255, 0, 0, 8));
	/* An untagged sRGB file is left alone. */
	enl_pipeline_result_free(&r);
	path = save_img(img, "srgb.png");
	REQUIRE(process_file(path, &r, &e) == 0);
	REQUIRE(pixel_at(opt_jpeg(&r)->bytes.data, opt_jpeg(&r)->bytes.len, 100, 50, px) == 3);
	CHECK(near_rgb(px, 255, 0, 0, 6));
	enl_pipeline_result_free(&r);
	g_object_unref(u);
	g_object_unref(p3);
	g_object_unref(img);
}

/* Left half opaque red, right half fully transparent (green underneath, which must not
 * show). WebP keeps the alpha; JPEG is flattened onto white. */
static void test_rgba(void)
{
	const double clear[] = {0, 255, 0, 0}, red[] = {255, 0, 0, 255};
	VipsImage *img = solid(400, 200, clear, 4);
	struct enl_pipeline_result r;
	struct enl_errmsg e = {{0}};
	const char *path;
	double px[4];

	REQUIRE(img && fill_rect(&img, 0, 0, 200, 200, red, 4) == 0);
	path = save_img(img, "rgba.png");
	REQUIRE(path != NULL);
	REQUIRE(process_file(path, &r, &e) == 0);
	CHECK_INT_EQ(pixel_at(opt_webp(&r)->bytes.data, opt_webp(&r)->bytes.len, 50, 100, px), 4);
	CHECK(near_rgb(px, 255, 0, 0, 10) && px[3] > 250);
	CHECK_INT_EQ(pixel_at(opt_webp(&r)->bytes.data, opt_webp(&r)->bytes.len, 350, 100, px), 4);
	CHECK(px[3] < 5);
	CHECK_INT_EQ(pixel_at(opt_jpeg(&r)->bytes.data, opt_jpeg(&r)->bytes.len, 350, 100, px), 3);
	CHECK(near_rgb(px, 255, 255, 255, 6));
	CHECK_INT_EQ(pixel_at(opt_jpeg(&r)->bytes.data, opt_jpeg(&r)->bytes.len, 50, 100, px), 3);
	CHECK(near_rgb(px, 255, 0, 0, 10));
	/* The thumbnail WebP keeps alpha too. */
	CHECK_INT_EQ(pixel_at(r.out[ENL_DERIV_THUMB][0].bytes.data,
	                      r.out[ENL_DERIV_THUMB][0].bytes.len, 190, 100, px),
	             4);
	CHECK(px[3] < 5);
	enl_pipeline_result_free(&r);
	g_object_unref(img);
}

static void test_16bit(void)
{
	const double c[] = {200, 100, 50};
	VipsImage *img = solid(320, 240, c, 3), *rgb16 = NULL;
	struct enl_pipeline_result r;
	struct enl_errmsg e = {{0}};
	const char *path;
	double px[4];
	char *fmt;

	REQUIRE(img && vips_colourspace(img, &rgb16, VIPS_INTERPRETATION_RGB16, NULL) == 0);
	path = save_img(rgb16, "rgb16.png");
	REQUIRE(path != NULL);
	fmt = vipsheader_str(path, "format"); /* prints the enum */
	CHECK(fmt && strstr(fmt, "USHORT"));
	free(fmt);
	REQUIRE(process_file(path, &r, &e) == 0);
	REQUIRE(pixel_at(opt_jpeg(&r)->bytes.data, opt_jpeg(&r)->bytes.len, 160, 120, px) == 3);
	CHECK(near_rgb(px, 200, 100, 50, 4));
	REQUIRE(write_file(tpath("rgb16-out.jpg"), opt_jpeg(&r)->bytes.data,
	                   opt_jpeg(&r)->bytes.len) == 0);
	fmt = vipsheader_str(tpath("rgb16-out.jpg"), "format");
	CHECK(fmt && strstr(fmt, "UCHAR"));
	free(fmt);
	enl_pipeline_result_free(&r);
	g_object_unref(rgb16);
	g_object_unref(img);
}

/* Other containers: the quadrant picture must come through each, upright. */
static void test_inputs(void)
{
	VipsImage *up = quadrants();
	static const struct {
		const char *file, *format;
	} cases[] = {
	    {"in.webp[Q=95]", "webp"},
	    {"in.tif", "tiff"},
	    {"in.heic[Q=90]", "heif"},
	    {"in.avif[Q=90,compression=av1]", "avif"},
	};
	size_t i;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct enl_pipeline_result r;
		struct enl_errmsg e = {{0}};
		const char *path;
		if (strstr(cases[i].file, ".heic") || strstr(cases[i].file, ".avif")) {
			/* HEIF encoders run in a vips CLI process: libx265 keeps a block for
			 * the process life, which LeakSanitizer would report here. */
			const char *v = save_img(up, "in.v");
			char *o, *br;
			int ok;
			REQUIRE(v != NULL);
			o = run_capture("vips copy '%s' '%s/%s' 2>&1", v, tmpdir, cases[i].file);
			ok = o != NULL;
			free(o);
			path = tpath(cases[i].file);
			br = strchr((char *)path, '[');
			if (br)
				*br = 0;
			if (!ok || access(path, R_OK) != 0)
				path = NULL;
		} else {
			path = save_img(up, cases[i].file);
		}
		if (!path) {
			fprintf(stderr, "SKIP %s: libvips cannot write it here\n", cases[i].file);
			continue;
		}
		REQUIRE(process_file(path, &r, &e) == 0);
		CHECK_STR_EQ(r.source_format, cases[i].format);
		CHECK_INT_EQ(r.width, 120);
		CHECK_INT_EQ(r.height, 80);
		check_quadrants(opt_jpeg(&r), cases[i].file);
		enl_pipeline_result_free(&r);
	}

	/* GIF: two frames, the first one counts. */
	{
		const double yellow[] = {255, 255, 0}, navy[] = {0, 0, 128};
		VipsImage *f1 = solid(64, 48, yellow, 3), *f2 = solid(64, 48, navy, 3);
		VipsImage *frames[2] = {f1, f2}, *anim = NULL, *copy = NULL;
		struct enl_pipeline_result r;
		struct enl_errmsg e = {{0}};
		const char *path;
		double px[4];
		REQUIRE(vips_arrayjoin(frames, &anim, 2, "across", 1, NULL) == 0);
		REQUIRE(vips_copy(anim, &copy, NULL) == 0);
		vips_image_set_int(copy, "page-height", 48);
		path = save_img(copy, "anim.gif");
		REQUIRE(path != NULL);
		CHECK_INT_EQ(vipsheader_int(path, "n-pages"), 2);
		REQUIRE(process_file(path, &r, &e) == 0);
		CHECK_STR_EQ(r.source_format, "gif");
		CHECK_INT_EQ(r.width, 64);
		CHECK_INT_EQ(r.height, 48);
		REQUIRE(pixel_at(opt_jpeg(&r)->bytes.data, opt_jpeg(&r)->bytes.len, 32, 24, px) ==
		        3);
		CHECK(near_rgb(px, 255, 255, 0, 12));
		enl_pipeline_result_free(&r);
		g_object_unref(copy);
		g_object_unref(anim);
		g_object_unref(f1);
		g_object_unref(f2);
	}
	g_object_unref(up);
}

/* Derivative sizes and media types, with vipsheader (reading the written files) as the
 * oracle, on a landscape, a portrait, a panorama and a small image. */
static void test_sizes(void)
{
	static const struct {
		int w, h;
		int ow, oh; /* expected optimized */
	} cases[] = {{3000, 2000, 1620, 1080},
	             {2000, 3000, 720, 1080},
	             {4000, 400, 1920, 192},
	             {150, 90, 150, 90}};
	const double grey[] = {90, 140, 190};
	size_t i;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		VipsImage *img = solid(cases[i].w, cases[i].h, grey, 3);
		struct enl_pipeline_result r;
		struct enl_errmsg e = {{0}};
		const char *path;
		json_t *js;
		int d, f;
		REQUIRE(img != NULL);
		path = save_img(img, "size.jpg");
		REQUIRE(process_file(path, &r, &e) == 0);
		CHECK_INT_EQ(r.width, cases[i].w);
		CHECK_INT_EQ(r.height, cases[i].h);
		for (d = 0; d < ENL_DERIV_COUNT; d++) {
			for (f = 0; f < 2; f++) {
				const struct enl_output *o = &r.out[d][f];
				const char *fn = tpath(f == 0 ? "d.webp" : "d.jpg");
				char *loader;
				int ew = d == ENL_DERIV_THUMB ? 200 : cases[i].ow;
				int eh = d == ENL_DERIV_THUMB ? 200 : cases[i].oh;
				/* the thumbnail is always thumb_size square, even from a
				 * smaller original (the grid needs one size) */
				REQUIRE(write_file(fn, o->bytes.data, o->bytes.len) == 0);
				CHECK_INT_EQ(o->format, f == 0 ? ENL_FMT_WEBP : ENL_FMT_JPEG);
				CHECK_INT_EQ(vipsheader_int(fn, "width"), ew);
				CHECK_INT_EQ(vipsheader_int(fn, "height"), eh);
				CHECK_INT_EQ(o->width, ew);
				CHECK_INT_EQ(o->height, eh);
				loader = vipsheader_str(fn, "vips-loader");
				CHECK_STR_EQ(loader, f == 0 ? "webpload" : "jpegload");
				free(loader);
				if (f == 1) {
					/* progressive: exiftool names the SOF */
					json_t *x = exiftool_json(fn);
					const char *proc = json_string_value(
					    json_object_get(x, "File:EncodingProcess"));
					CHECK(json_integer_value(json_object_get(
					          x, "File:EncodingProcess")) == 2 ||
					      (proc && strstr(proc, "Progressive")));
					json_decref(x);
				}
			}
		}
		js = enl_pipeline_result_json(&r);
		REQUIRE(js != NULL);
		{
			char *s = json_dumps(js, JSON_COMPACT);
			json_t *o = json_object_get(
			    json_object_get(json_object_get(js, "derivatives"), "optimized"),
			    "webp");
			CHECK_INT_EQ(json_integer_value(json_object_get(o, "width")), cases[i].ow);
			CHECK_STR_EQ(json_string_value(json_object_get(o, "contentType")),
			             "image/webp");
			CHECK_INT_EQ(json_integer_value(json_object_get(js, "fileSize")),
			             (long long)r.file_size);
			CHECK_STR_EQ(json_string_value(json_object_get(js, "sourceFormat")),
			             "jpeg");
			CHECK(json_object_get(js, "gps") == NULL);
			CHECK(json_is_object(json_object_get(js, "exif")));
			CHECK(strlen(json_string_value(json_object_get(js, "blurhash"))) == 28);
			{
				/* the solid colour, give or take the JPEG round trip */
				unsigned rr = 0, gg = 0, bb = 0;
				const char *dc =
				    json_string_value(json_object_get(js, "dominantColor"));
				CHECK(dc && sscanf(dc, "#%02x%02x%02x", &rr, &gg, &bb) == 3);
				CHECK(abs((int)rr - 90) <= 3 && abs((int)gg - 140) <= 3 &&
				      abs((int)bb - 190) <= 3);
			}
			if (i == 0)
				fprintf(stderr, "result: %s\n", s);
			free(s);
		}
		json_decref(js);
		enl_pipeline_result_free(&r);
		g_object_unref(img);
	}
}

/* No GPS, serial, maker, model or software in any output; Artist and Copyright kept (or
 * dropped with keep_copyright = 0). exiftool reads the outputs. */
static void test_metadata(void)
{
	const double c[] = {30, 120, 200};
	VipsImage *img = solid(800, 600, c, 3);
	const char *path;
	char *out;
	int keep;

	if (!have_tool("exiftool")) {
		fprintf(stderr, "SKIP metadata: exiftool not installed\n");
		g_object_unref(img);
		return;
	}
	path = save_img(img, "meta.jpg");
	out = run_capture("exiftool -q -overwrite_original -n -Make=Canon -Model='EOS R5' "
	                  "-SerialNumber=123456789 -BodySerialNumber=ABC987 -LensSerialNumber=L55 "
	                  "-Artist='Jane Doe' -Copyright='(c) 2024 Jane Doe' -Software=Tester "
	                  "-GPSLatitude=48.8583 -GPSLatitudeRef=N -GPSLongitude=2.2945 "
	                  "-GPSLongitudeRef=E -XMP:Creator=Jane -IPTC:Keywords=secret "
	                  "-Orientation=1 '%s'",
	                  path);
	REQUIRE(out != NULL);
	free(out);
	for (keep = 1; keep >= 0; keep--) {
		struct enl_pipeline_result r;
		struct enl_errmsg e = {{0}};
		int d, f;
		opts.keep_copyright = keep;
		REQUIRE(process_file(path, &r, &e) == 0);
		CHECK_STR_EQ(r.exif.artist, "Jane Doe");
		CHECK(r.exif.has_gps);
		for (d = 0; d < ENL_DERIV_COUNT; d++) {
			for (f = 0; f < 2; f++) {
				const char *fn = tpath(f == 0 ? "m.webp" : "m.jpg");
				json_t *x;
				REQUIRE(write_file(fn, r.out[d][f].bytes.data,
				                   r.out[d][f].bytes.len) == 0);
				x = exiftool_json(fn);
				REQUIRE(x != NULL);
				CHECK_INT_EQ(private_tags(x), 0);
				if (keep) {
					CHECK_STR_EQ(
					    json_string_value(json_object_get(x, "IFD0:Artist")),
					    "Jane Doe");
					CHECK_STR_EQ(
					    json_string_value(json_object_get(x, "IFD0:Copyright")),
					    "(c) 2024 Jane Doe");
				} else {
					CHECK(!has_key_like(x, "Artist"));
					CHECK(!has_key_like(x, "Copyright"));
				}
				/* exiftool must not find anything wrong with the file we edited */
				if (json_object_get(x, "ExifTool:Warning"))
					fprintf(stderr, "%s: exiftool warns: %s\n", fn,
					        json_string_value(
					            json_object_get(x, "ExifTool:Warning")));
				CHECK(json_object_get(x, "ExifTool:Warning") == NULL);
				CHECK(json_object_get(x, "ExifTool:Error") == NULL);
				json_decref(x);
			}
		}
		enl_pipeline_result_free(&r);
	}
	opts.keep_copyright = 1;
	g_object_unref(img);
}

static void test_render(void)
{
	const double c[] = {250, 200, 20};
	VipsImage *img = solid(3000, 2000, c, 3);
	static const struct {
		int w, h;
		enum enl_fit fit;
		enum enl_format fmt;
		int ew, eh;
		const char *loader;
	} cases[] = {
	    {300, 0, ENL_FIT_INSIDE, ENL_FMT_WEBP, 300, 200, "webpload"},
	    {640, 640, ENL_FIT_INSIDE, ENL_FMT_JPEG, 640, 427, "jpegload"},
	    {100, 100, ENL_FIT_COVER, ENL_FMT_JPEG, 100, 100, "jpegload"},
	    {500, 0, ENL_FIT_INSIDE, ENL_FMT_PNG, 500, 333, "pngload"},
	    {5000, 0, ENL_FIT_INSIDE, ENL_FMT_WEBP, 3000, 2000, "webpload"},
	    {320, 0, ENL_FIT_INSIDE, ENL_FMT_AVIF, 320, 213, "heifload"},
	};
	size_t n, i;
	unsigned char *data;
	const char *path = save_img(img, "render.jpg");
	char *out;

	REQUIRE(path != NULL);
	if (have_tool("exiftool")) {
		out = run_capture("exiftool -q -overwrite_original -Artist=Ann -GPSLatitude=10 "
		                  "-GPSLatitudeRef=S '%s'",
		                  path);
		free(out);
	}
	data = read_file(path, &n);
	REQUIRE(data != NULL);
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct enl_render_req req = {.width = cases[i].w,
		                             .height = cases[i].h,
		                             .fit = cases[i].fit,
		                             .format = cases[i].fmt};
		struct enl_output o;
		struct enl_errmsg e = {{0}};
		const char *fn = tpath("render.out");
		char *loader;
		double px[4];
		int rc = enl_pipeline_render(data, n, &opts, NULL, &req, &o, &e);
		if (rc == ENL_EUNSUPPORTED && cases[i].fmt == ENL_FMT_AVIF) {
			fprintf(stderr, "AVIF render unsupported here: %s\n", e.text);
			continue;
		}
		REQUIRE(rc == 0);
		REQUIRE(write_file(fn, o.bytes.data, o.bytes.len) == 0);
		CHECK_INT_EQ(vipsheader_int(fn, "width"), cases[i].ew);
		CHECK_INT_EQ(vipsheader_int(fn, "height"), cases[i].eh);
		CHECK_INT_EQ(o.width, cases[i].ew);
		CHECK_INT_EQ(o.height, cases[i].eh);
		loader = vipsheader_str(fn, "vips-loader");
		CHECK_STR_EQ(loader, cases[i].loader);
		free(loader);
		CHECK(pixel_at(o.bytes.data, o.bytes.len, o.width / 2, o.height / 2, px) >= 3);
		CHECK(near_rgb(px, 250, 200, 20, 12));
		if (have_tool("exiftool")) {
			json_t *x = exiftool_json(fn);
			CHECK(x != NULL && !has_key_like(x, "GPS"));
			if (cases[i].fmt != ENL_FMT_AVIF)
				CHECK_STR_EQ(json_string_value(json_object_get(x, "IFD0:Artist")),
				             "Ann");
			json_decref(x);
		}
		enl_buf_free(&o.bytes);
	}
	{
		struct enl_render_req bad = {.fit = ENL_FIT_INSIDE, .format = ENL_FMT_WEBP};
		struct enl_output o;
		struct enl_errmsg e = {{0}};
		CHECK_INT_EQ(enl_pipeline_render(data, n, &opts, NULL, &bad, &o, &e), ENL_EINVAL);
	}
	free(data);
	g_object_unref(img);
}

static void test_formats(void)
{
	enum enl_format f;
	CHECK_STR_EQ(enl_format_name(ENL_FMT_WEBP), "webp");
	CHECK_STR_EQ(enl_format_mime(ENL_FMT_JPEG), "image/jpeg");
	CHECK_STR_EQ(enl_format_mime(ENL_FMT_AVIF), "image/avif");
	CHECK_STR_EQ(enl_format_ext(ENL_FMT_JPEG), "jpg");
	CHECK(enl_format_parse("jpg", &f) == 0 && f == ENL_FMT_JPEG);
	CHECK(enl_format_parse("AVIF", &f) == 0 && f == ENL_FMT_AVIF);
	CHECK_INT_EQ(enl_format_parse("gif", &f), ENL_EINVAL);
}

int main(int argc, char **argv)
{
	(void)argc;
	REQUIRE(enl_pipeline_init(argv[0]) == 0);
	enl_pipeline_opts_default(&opts);
	tmp_setup();
	test_formats();
	test_orientation();
	test_cmyk();
	test_p3();
	test_rgba();
	test_16bit();
	test_inputs();
	test_sizes();
	test_metadata();
	test_render();
	tmp_cleanup();
	enl_pipeline_shutdown();
	return check_done();
}

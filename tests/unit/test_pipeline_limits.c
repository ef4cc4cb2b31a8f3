/* Bad input for the core: empty, text and other refused types, truncated and corrupt files,
 * a JPEG with a broken EXIF block, the byte and pixel limits, and a real PNG pixel bomb
 * (50000x50000, under 1 MB) refused from its header: fast and without a large allocation. */
#include "pipeline_support.h"

#include <sys/resource.h>
#include <zlib.h>

static struct enl_pipeline_opts opts;

static int process_mem(const void *data, size_t len, struct enl_errmsg *e)
{
	struct enl_pipeline_result r;
	int rc = enl_pipeline_process(data, len, &opts, NULL, &r, e);
	if (rc == 0)
		enl_pipeline_result_free(&r);
	return rc;
}

static void expect_refused(const void *data, size_t len, int code, const char *needle)
{
	struct enl_errmsg e = {{0}};
	int rc = process_mem(data, len, &e);
	CHECK_INT_EQ(rc, code);
	if (!strstr(e.text, needle)) {
		fprintf(stderr, "message \"%s\" lacks \"%s\"\n", e.text, needle);
		CHECK(0);
	}
	/* client-safe: no libvips dump, no temp path */
	CHECK(strstr(e.text, "vips") == NULL && strstr(e.text, "/tmp") == NULL);
}

static void test_types(void)
{
	static const char text[] = "hello, this is not an image\nsecond line\n";
	static const char svg[] = "<?xml version=\"1.0\"?>\n<svg xmlns=\"http://www.w3.org/2000/"
	                          "svg\" width=\"10\" height=\"10\"><rect/></svg>";
	static const char svg2[] = "  <svg width=\"10\" height=\"10\"></svg>";
	static const char pdf[] = "%PDF-1.4\n1 0 obj<<>>endobj\n";
	static const char html[] = "<!DOCTYPE html><html><body>hi</body></html>";
	static const unsigned char bmp[30] = {'B', 'M', 30};
	static const unsigned char junk[8] = {0x00, 0x01, 0x02, 0xfe, 0x80, 0x00, 0x13, 0x37};
	static const unsigned char png_junk[] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n',
	                                         1,    2,   3,   4,   5,    6,    7,    8};

	expect_refused("", 0, ENL_EUNSUPPORTED, "empty");
	expect_refused(text, sizeof(text) - 1, ENL_EUNSUPPORTED,
	               "unsupported image type: text/plain");
	expect_refused(svg, sizeof(svg) - 1, ENL_EUNSUPPORTED, "unsupported image type: svg");
	expect_refused(svg2, sizeof(svg2) - 1, ENL_EUNSUPPORTED, "unsupported image type: svg");
	expect_refused(pdf, sizeof(pdf) - 1, ENL_EUNSUPPORTED, "unsupported image type: pdf");
	expect_refused(html, sizeof(html) - 1, ENL_EUNSUPPORTED, "text/html");
	expect_refused(bmp, sizeof(bmp), ENL_EUNSUPPORTED, "bmp");
	expect_refused(junk, sizeof(junk), ENL_EUNSUPPORTED, "unknown");
	expect_refused(png_junk, sizeof(png_junk), ENL_EDECODE, "png");
}

/* A noisy JPEG (so every MCU carries data), cut short. */
static void test_truncated(void)
{
	VipsImage *noise = NULL, *u = NULL;
	void *buf = NULL;
	size_t len = 0;
	REQUIRE(vips_gaussnoise(&noise, 800, 600, "mean", 128.0, "sigma", 40.0, NULL) == 0);
	REQUIRE(vips_cast_uchar(noise, &u, NULL) == 0);
	REQUIRE(vips_jpegsave_buffer(u, &buf, &len, "Q", 90, NULL) == 0);
	{
		struct enl_errmsg e = {{0}};
		CHECK_INT_EQ(process_mem(buf, len, &e), 0);
	}
	expect_refused(buf, len * 6 / 10, ENL_EDECODE, "jpeg");
	expect_refused(buf, 200, ENL_EDECODE, "jpeg");
	/* a truncated PNG too */
	{
		void *pbuf = NULL;
		size_t plen = 0;
		REQUIRE(vips_pngsave_buffer(u, &pbuf, &plen, "compression", 1, NULL) == 0);
		expect_refused(pbuf, plen / 2, ENL_EDECODE, "png");
		g_free(pbuf);
	}
	g_free(buf);
	g_object_unref(u);
	g_object_unref(noise);
}

/* exiftool writes EXIF, then the IFD is damaged in place: the photo must still process. */
static void test_corrupt_exif(void)
{
	const double c[] = {10, 200, 90};
	VipsImage *black = NULL, *img = NULL;
	double zero[3] = {0, 0, 0};
	const char *path;
	unsigned char *data, *app1 = NULL;
	size_t len, i;
	char *out;

	if (!have_tool("exiftool")) {
		fprintf(stderr, "SKIP corrupt EXIF: exiftool not installed\n");
		return;
	}
	REQUIRE(vips_black(&black, 640, 480, "bands", 3, NULL) == 0);
	REQUIRE(vips_linear(black, &img, zero, (double *)c, 3, "uchar", TRUE, NULL) == 0);
	path = tpath("badexif.jpg");
	REQUIRE(vips_image_write_to_file(img, path, NULL) == 0);
	out = run_capture("exiftool -q -overwrite_original -Make=Nikon -Model=Z9 -ISO=400 "
	                  "-Artist=Someone -ExposureTime=0.004 -FNumber=2.8 -Orientation#=6 "
	                  "-GPSLatitude=1 -GPSLatitudeRef=N '%s'",
	                  path);
	REQUIRE(out != NULL);
	free(out);
	data = read_file(path, &len);
	REQUIRE(data != NULL);
	for (i = 2; i + 10 < len; i++)
		if (data[i] == 0xff && data[i + 1] == 0xe1 &&
		    memcmp(data + i + 4, "Exif", 4) == 0) {
			app1 = data + i;
			break;
		}
	REQUIRE(app1 != NULL);
	{
		size_t seg = ((size_t)app1[2] << 8) | app1[3];
		unsigned char *tiff = app1 + 10;
		struct enl_pipeline_result r;
		struct enl_errmsg e = {{0}};
		REQUIRE(seg > 60);
		/* Keep the TIFF header and IFD0's first entries; smash the rest of the block:
		 * offsets now point anywhere, counts are huge. */
		for (i = 8 + 2 + 12 * 2; i < seg - 8; i++)
			tiff[i] = (unsigned char)(0xff ^ (i * 37));
		REQUIRE(enl_pipeline_process(data, len, &opts, NULL, &r, &e) == 0);
		/* 640x480 with or without the orientation that may or may not have survived */
		CHECK((r.width == 640 && r.height == 480) || (r.width == 480 && r.height == 640));
		CHECK_INT_EQ(r.out[ENL_DERIV_OPTIMIZED][1].width, r.width);
		fprintf(stderr, "corrupt EXIF: make=\"%s\" orientation=%d iso=%d\n", r.exif.make,
		        r.exif.orientation, r.exif.iso);
		enl_pipeline_result_free(&r);

		/* Worse: the TIFF header itself is garbage. */
		memset(tiff, 0x5a, 16);
		REQUIRE(enl_pipeline_process(data, len, &opts, NULL, &r, &e) == 0);
		CHECK_INT_EQ(r.width, 640);
		CHECK(r.exif.make[0] == 0 && !r.exif.has_gps);
		enl_pipeline_result_free(&r);
	}
	free(data);
	g_object_unref(img);
	g_object_unref(black);
}

static void put_be32(unsigned char *p, uint32_t v)
{
	p[0] = v >> 24;
	p[1] = v >> 16;
	p[2] = v >> 8;
	p[3] = v;
}

static void png_chunk(FILE *f, const char *type, const unsigned char *d, uint32_t n)
{
	unsigned char b[4];
	uLong crc = crc32(0, (const Bytef *)type, 4);
	crc = crc32(crc, d, n);
	put_be32(b, n);
	fwrite(b, 1, 4, f);
	fwrite(type, 1, 4, f);
	if (n)
		fwrite(d, 1, n, f);
	put_be32(b, (uint32_t)crc);
	fwrite(b, 1, 4, f);
}

/* A complete, valid 50000x50000 1-bit greyscale PNG: 312 MB of filtered rows, deflated to a
 * few hundred KB. Decoding it would need 2.5 GB at 8 bits per pixel. */
static const char *make_bomb(size_t *len_out)
{
	const char *path = tpath("bomb.png");
	const uint32_t side = 50000;
	const size_t row = 1 + side / 8;
	unsigned char ihdr[13], *rowbuf, *zout;
	z_stream zs;
	FILE *f = fopen(path, "wb");
	uint32_t y;
	struct stat st;

	REQUIRE(f != NULL);
	fwrite("\x89PNG\r\n\x1a\n", 1, 8, f);
	put_be32(ihdr, side);
	put_be32(ihdr + 4, side);
	ihdr[8] = 1; /* bit depth */
	ihdr[9] = 0; /* greyscale */
	ihdr[10] = ihdr[11] = ihdr[12] = 0;
	png_chunk(f, "IHDR", ihdr, 13);
	rowbuf = calloc(1, row);
	zout = malloc(1 << 20);
	REQUIRE(rowbuf && zout);
	memset(&zs, 0, sizeof(zs));
	REQUIRE(deflateInit(&zs, 9) == Z_OK);
	for (y = 0; y <= side; y++) {
		int flush = y == side ? Z_FINISH : Z_NO_FLUSH;
		zs.next_in = rowbuf;
		zs.avail_in = y == side ? 0 : (uInt)row;
		do {
			zs.next_out = zout;
			zs.avail_out = 1 << 20;
			REQUIRE(deflate(&zs, flush) != Z_STREAM_ERROR);
			if (zs.avail_out < (1u << 20))
				png_chunk(f, "IDAT", zout, (uint32_t)((1u << 20) - zs.avail_out));
		} while (zs.avail_out == 0);
	}
	deflateEnd(&zs);
	png_chunk(f, "IEND", NULL, 0);
	fclose(f);
	free(rowbuf);
	free(zout);
	REQUIRE(stat(path, &st) == 0);
	*len_out = (size_t)st.st_size;
	return path;
}

#if !defined(__SANITIZE_ADDRESS__)
static long vm_bytes(void)
{
	FILE *f = fopen("/proc/self/statm", "r");
	long pages = 0;
	if (f) {
		if (fscanf(f, "%ld", &pages) != 1)
			pages = 0;
		fclose(f);
	}
	return pages * sysconf(_SC_PAGESIZE);
}
#endif

static void test_bomb(void)
{
	size_t len = 0, n;
	const char *path = make_bomb(&len);
	unsigned char *data;
	double t0;
	char *hdr;

	fprintf(stderr, "bomb: %zu bytes\n", len);
	CHECK(len < 1024 * 1024);
	hdr = vipsheader_str(path, "width");
	CHECK_STR_EQ(hdr, "50000"); /* vipsheader agrees it is a real PNG header */
	free(hdr);
	data = read_file(path, &n);
	REQUIRE(data && n == len);

	t0 = now_ms();
	expect_refused(data, n, ENL_ETOOBIG, "50000x50000");
	fprintf(stderr, "bomb refused in %.1f ms\n", now_ms() - t0);
	CHECK(now_ms() - t0 < 1000);
	{
		struct enl_render_req req = {
		    .width = 100, .fit = ENL_FIT_INSIDE, .format = ENL_FMT_WEBP};
		struct enl_output o;
		struct enl_errmsg e = {{0}};
		CHECK_INT_EQ(enl_pipeline_render(data, n, &opts, NULL, &req, &o, &e), ENL_ETOOBIG);
	}

#if defined(__SANITIZE_ADDRESS__)
	fprintf(stderr, "SKIP bomb address-space limit: not under ASan\n");
#else
	/* In a child, with the address space capped 256 MB above what is mapped now: a decode
	 * would need 2.5 GB and die; a header check passes. */
	{
		pid_t pid = fork();
		int st = 0;
		REQUIRE(pid >= 0);
		if (pid == 0) {
			struct rlimit rl;
			struct enl_errmsg e = {{0}};
			rl.rlim_cur = rl.rlim_max = (rlim_t)vm_bytes() + (256L << 20);
			if (setrlimit(RLIMIT_AS, &rl) != 0)
				_exit(3);
			_exit(process_mem(data, n, &e) == ENL_ETOOBIG ? 0 : 2);
		}
		REQUIRE(waitpid(pid, &st, 0) == pid);
		CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	}
#endif
	free(data);
}

static void test_limits(void)
{
	const double c[] = {1, 2, 3};
	VipsImage *black = NULL, *img = NULL;
	double zero[3] = {0, 0, 0};
	void *buf = NULL;
	size_t len = 0;
	struct enl_pipeline_opts saved = opts;

	REQUIRE(vips_black(&black, 200, 100, "bands", 3, NULL) == 0);
	REQUIRE(vips_linear(black, &img, zero, (double *)c, 3, "uchar", TRUE, NULL) == 0);
	REQUIRE(vips_jpegsave_buffer(img, &buf, &len, NULL) == 0);
	opts.max_input_bytes = len - 1;
	expect_refused(buf, len, ENL_ETOOBIG, "bytes");
	opts = saved;
	opts.max_input_pixels = 200 * 100 - 1;
	expect_refused(buf, len, ENL_ETOOBIG, "200x100");
	opts.max_input_pixels = 200 * 100;
	{
		struct enl_errmsg e = {{0}};
		CHECK_INT_EQ(process_mem(buf, len, &e), 0);
	}
	opts = saved;
	g_free(buf);
	g_object_unref(img);
	g_object_unref(black);
}

int main(int argc, char **argv)
{
	(void)argc;
	REQUIRE(enl_pipeline_init(argv[0]) == 0);
	enl_pipeline_opts_default(&opts);
	tmp_setup();
	test_types();
	test_truncated();
	test_corrupt_exif();
	test_limits();
	test_bomb();
	tmp_cleanup();
	enl_pipeline_shutdown();
	return check_done();
}

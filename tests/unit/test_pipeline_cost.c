/* enl_pipeline_estimate_cost: the job gate's memory estimate must cover what libvips really
 * holds for the job (oracle: libvips' own tracked-memory high-water mark, read after one
 * job in a fresh process) without being absurdly pessimistic, and must follow the
 * shrink-on-load the decode uses. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <vips/vips.h>

#include "check.h"
#include "files.h"
#include "enlarger/pipeline.h"

/* A w x h noise JPEG (q90) made by the vips CLI in another process, so this process's
 * libvips memory high-water mark starts near zero. free()d by the caller. */
static void *noise_jpeg(int w, int h, size_t *len)
{
	char cmd[2048], path[64];
	void *buf;
	snprintf(path, sizeof(path), "/tmp/enl-cost-%d.jpg", (int)getpid());
	snprintf(cmd, sizeof(cmd),
	         "vips gaussnoise %s.v %d %d --mean 128 --sigma 30 && "
	         "vips cast %s.v %s.u.v uchar && vips bandjoin '%s.u.v %s.u.v %s.u.v' %s.3.v && "
	         "vips jpegsave %s.3.v %s --Q 90; rc=$?; rm -f %s.v %s.u.v %s.3.v; exit $rc",
	         path, w, h, path, path, path, path, path, path, path, path, path, path, path);
	if (system(cmd) != 0) {
		fprintf(stderr, "SKIP: the vips CLI could not make the fixture\n");
		exit(77);
	}
	buf = read_file(path, len);
	REQUIRE(buf != NULL && *len > 0);
	unlink(path);
	return buf;
}

int main(void)
{
	struct enl_pipeline_opts o;
	struct enl_errmsg e = {{0}};
	struct enl_render_req r400 = {.width = 400, .format = ENL_FMT_WEBP};
	struct enl_render_req r2000 = {.width = 2000, .format = ENL_FMT_WEBP};
	size_t len, c400, c2000, cproc, c_small;
	struct enl_output out;
	void *jpg;

	REQUIRE(enl_pipeline_init("test_pipeline_cost") == 0);
	enl_pipeline_opts_default(&o);
	jpg = noise_jpeg(4000, 3000, &len);

	CHECK(enl_pipeline_estimate_cost(jpg, len, &o, &r400, NULL, &c400, &e) == 0);
	CHECK(enl_pipeline_estimate_cost(jpg, len, &o, &r2000, NULL, &c2000, &e) == 0);
	CHECK(enl_pipeline_estimate_cost(jpg, len, &o, NULL, NULL, &cproc, &e) == 0);
	/* 400 px from 4000 px decodes at 1/8: 500x375 pixels, 4 bytes each, plus the original,
	 * the outputs and 4 MiB. 2000 px decodes at 1/2 (2000x1500): much more. */
	CHECK(c400 >= len + (size_t)500 * 375 * 4);
	CHECK(c400 <= len + ((size_t)12 << 20));
	CHECK(c2000 >= len + (size_t)2000 * 1500 * 4);
	CHECK(c2000 > c400 + ((size_t)8 << 20));
	CHECK(cproc > c400);

	/* Oracle: what libvips held at most while rendering 2000 px (nothing ran before in
	 * this process but the estimates, which decode no pixels). */
	CHECK(enl_pipeline_memory_peak_bytes() < ((size_t)1 << 20));
	CHECK(enl_pipeline_render(jpg, len, &o, NULL, &r2000, &out, &e) == 0);
	size_t peak = enl_pipeline_memory_peak_bytes();
	fprintf(stderr, "estimate %zu bytes (original %zu), libvips peak %zu\n", c2000, len, peak);
	CHECK(c2000 - len >= peak);
	/* libvips' count leaves out libjpeg's and libwebp's own buffers and the output: the
	 * estimate may be above it, but not by an order of magnitude. */
	CHECK(c2000 - len <= 6 * peak + ((size_t)4 << 20));
	enl_buf_free(&out.bytes);

	/* The estimate's header read serves the render: the render takes the probe as it is
	 * (a verdict written into it comes back unchanged) and reads no header of its own. */
	{
		struct enl_probe probe;
		CHECK(enl_pipeline_estimate_cost(jpg, len, &o, &r400, &probe, &c_small, &e) == 0);
		CHECK_INT_EQ(c_small, c400);
		CHECK_INT_EQ(probe.rc, 0);
		CHECK_INT_EQ(probe.width, 4000);
		CHECK_STR_EQ(probe.format, "jpeg");
		CHECK(enl_pipeline_render(jpg, len, &o, &probe, &r400, &out, &e) == 0);
		CHECK_INT_EQ(out.width, 400);
		enl_buf_free(&out.bytes);
		probe.rc = ENL_ETOOBIG;
		snprintf(probe.err.text, sizeof(probe.err.text), "from the probe");
		CHECK(enl_pipeline_render(jpg, len, &o, &probe, &r400, &out, &e) == ENL_ETOOBIG);
		CHECK_STR_EQ(e.text, "from the probe");
		/* A header the estimate refused: the verdict travels in the probe. */
		CHECK(enl_pipeline_estimate_cost("hello", 5, &o, NULL, &probe, &c_small, &e) ==
		      ENL_EUNSUPPORTED);
		CHECK_INT_EQ(probe.rc, ENL_EUNSUPPORTED);
		CHECK_STR_EQ(probe.err.text, e.text);
	}

	/* The header checks apply: a truncated header or a non-image is refused. */
	CHECK(enl_pipeline_estimate_cost("hello", 5, &o, NULL, NULL, &c_small, &e) ==
	      ENL_EUNSUPPORTED);
	CHECK(enl_pipeline_estimate_cost(jpg, 100, &o, NULL, NULL, &c_small, &e) == ENL_EDECODE);
	o.max_input_pixels = 1000000;
	CHECK(enl_pipeline_estimate_cost(jpg, len, &o, NULL, NULL, &c_small, &e) == ENL_ETOOBIG);

	free(jpg);
	enl_pipeline_shutdown();
	return check_done();
}

/* Fuzz target for a whole render (enl_pipeline_render, src/core/render.c): probe, one
 * decode with shrink-on-load, orientation, colour conversion, resize or cover crop,
 * encode and the output metadata. Small limits keep a campaign fast: 1 MP and 1 MiB in,
 * at most 64 px out. The input is the original; the request is picked from its length
 * (width 1-64, height 0 or up to 64, fit, format, quality). Checks: a failure is one of
 * the errors render promises with a message; an output is a file of the asked format
 * that libvips reads back, within the asked box, never upscaled, and at most the
 * original's size after orientation. */
#include "core_internal.h"
#include "fuzz.h"
#include "fuzz_vips.h"

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	fuzz_vips_init(argc && *argc ? (*argv)[0] : NULL);
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct enl_pipeline_opts o;
	enl_pipeline_opts_default(&o);
	o.max_input_pixels = 1u << 20;
	o.max_input_bytes = 1u << 20;
	size_t k = size * 2654435761u; /* spread the choices over lengths */
	struct enl_render_req req = {
	    .width = 1 + (int)(k % 64),
	    .height = (k >> 6) & 1 ? 1 + (int)((k >> 7) % 64) : 0,
	    .fit = (k >> 13) & 1 ? ENL_FIT_COVER : ENL_FIT_INSIDE,
	    /* AVIF is the slowest encoder by far: one render in sixteen. */
	    .format = (k >> 14) % 16 == 0 ? ENL_FMT_AVIF : (enum enl_format)((k >> 18) % 3),
	    .quality = (k >> 20) & 1 ? 1 + (int)((k >> 21) % 100) : 0,
	};
	struct enl_output out;
	struct enl_errmsg e = {""};
	/* Half the inputs as a job runs them: the header read once by the memory estimate
	 * and handed on. */
	struct enl_probe given;
	size_t cost;
	int given_ok = (k >> 30) & 1;
	if (given_ok)
		enl_pipeline_estimate_cost(data, size, &o, &req, &given, &cost, &e);
	int rc = enl_pipeline_render(data, size, &o, given_ok ? &given : NULL, &req, &out, &e);
	if (rc) {
		FUZZ_CHECK(rc == ENL_EUNSUPPORTED || rc == ENL_EDECODE || rc == ENL_ETOOBIG ||
		           rc == ENL_ENOMEM || rc == ENL_EINTERNAL);
		FUZZ_CHECK(e.text[0] && out.bytes.data == NULL);
		vips_error_clear();
		return 0;
	}
	struct enl_probe src;
	FUZZ_CHECK(enl_decode_probe(data, size, &o, &src, &e) == 0);
	FUZZ_CHECK(out.bytes.data && out.bytes.len);
	int accepted;
	const char *name = enl_decode_sniff(out.bytes.data, out.bytes.len, &accepted);
	FUZZ_CHECK(
	    strcmp(name, req.format == ENL_FMT_AVIF ? "avif" : enl_format_name(req.format)) == 0);
	VipsImage *back = vips_image_new_from_buffer(out.bytes.data, out.bytes.len, "", NULL);
	FUZZ_CHECK(back != NULL);
	int w = vips_image_get_width(back), h = vips_image_get_height(back);
	FUZZ_CHECK(w >= 1 && h >= 1 && w <= req.width && w <= src.width && h <= src.height);
	if (req.height)
		FUZZ_CHECK(h <= req.height);
	g_object_unref(back);
	enl_buf_free(&out.bytes);
	vips_error_clear();
	return 0;
}

/* Fuzz target for the first look at an uploaded file (src/core/decode.c): type sniffing
 * from the magic bytes (enl_decode_sniff, the ISO BMFF ftyp brands of HEIF and AVIF
 * included), the header probe (enl_decode_probe: libvips reads the header only, with the
 * loader allow-list) and the memory estimate the job gate admits by
 * (enl_pipeline_estimate_cost, which hands the job the probe it read). The input is the
 * file. Checks: the sniffed name is one of the accepted formats exactly when it says so,
 * and agrees with the magic bytes a second reading finds; the probe refuses what sniffing
 * refused, and what it accepts is the sniffed format with a size within the pixel limit,
 * swapped for orientations 5-8; the estimate fails exactly when the probe does, hands on
 * the same findings, and covers at least the bytes. */
#include "core_internal.h"
#include "fuzz.h"
#include "fuzz_vips.h"

#define MAX_PIXELS (4u << 20)

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	fuzz_vips_init(argc && *argc ? (*argv)[0] : NULL);
	return 0;
}

static int is_ftyp_name(const char *n)
{
	return !strcmp(n, "avif") || !strcmp(n, "heif") || !strcmp(n, "video/quicktime") ||
	       !strcmp(n, "cr3 raw") || !strcmp(n, "video/mp4");
}

/* The accepted type the magic bytes name, or NULL (an independent reading). */
static const char *magic(const uint8_t *p, size_t n)
{
	if (n >= 3 && !memcmp(p, "\xff\xd8\xff", 3))
		return "jpeg";
	if (n >= 8 && !memcmp(p, "\x89PNG\r\n\x1a\n", 8))
		return "png";
	if (n >= 6 && (!memcmp(p, "GIF87a", 6) || !memcmp(p, "GIF89a", 6)))
		return "gif";
	if (n >= 12 && !memcmp(p, "RIFF", 4) && !memcmp(p + 8, "WEBP", 4))
		return "webp";
	if (n >= 4 && (!memcmp(p, "II*\0", 4) || !memcmp(p, "MM\0*", 4) || !memcmp(p, "II+\0", 4) ||
	               !memcmp(p, "MM\0+", 4)))
		return "tiff";
	return NULL;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	int accepted = -1;
	const char *name = enl_decode_sniff(data, size, &accepted);
	FUZZ_CHECK(name && (accepted == 0 || accepted == 1));
	static const char *const ours[] = {"jpeg", "png", "gif", "webp", "tiff", "heif", "avif"};
	int listed = 0;
	for (size_t i = 0; i < sizeof(ours) / sizeof(ours[0]); i++)
		listed |= strcmp(name, ours[i]) == 0;
	FUZZ_CHECK(listed == accepted);
	const char *m = magic(data, size);
	if (m)
		FUZZ_CHECK(strcmp(m, name) == 0);
	else if (size >= 16 && !memcmp(data + 4, "ftyp", 4))
		FUZZ_CHECK(is_ftyp_name(name));
	else
		FUZZ_CHECK(!accepted);

	struct enl_pipeline_opts o;
	struct enl_probe src, again;
	struct enl_errmsg e = {""};
	enl_pipeline_opts_default(&o);
	o.max_input_pixels = MAX_PIXELS;
	int rc = enl_decode_probe(data, size, &o, &src, &e);
	FUZZ_CHECK(rc == 0 || rc == ENL_EUNSUPPORTED || rc == ENL_EDECODE || rc == ENL_ETOOBIG);
	if (!accepted)
		FUZZ_CHECK(rc == ENL_EUNSUPPORTED);
	if (rc) {
		FUZZ_CHECK(e.text[0]);
	} else {
		FUZZ_CHECK(strcmp(src.format, name) == 0);
		FUZZ_CHECK(src.stored_w >= 1 && src.stored_h >= 1 &&
		           (uint64_t)src.stored_w * (uint64_t)src.stored_h <= MAX_PIXELS);
		FUZZ_CHECK(src.orientation >= 1 && src.orientation <= 8);
		int swap = src.orientation >= 5;
		FUZZ_CHECK(src.width == (swap ? src.stored_h : src.stored_w) &&
		           src.height == (swap ? src.stored_w : src.stored_h));
	}

	/* The estimate reads the header again into the probe a job hands on: the same
	 * verdict and the same findings. */
	size_t cost = 0;
	struct enl_render_req req = {.width = 64, .fit = ENL_FIT_INSIDE, .format = ENL_FMT_WEBP};
	int crc =
	    enl_pipeline_estimate_cost(data, size, &o, size & 1 ? &req : NULL, &again, &cost, &e);
	FUZZ_CHECK(crc == rc && again.rc == rc);
	FUZZ_CHECK(crc ? cost == 0 : cost > size);
	if (!rc)
		FUZZ_CHECK(!strcmp(again.format, src.format) && again.width == src.width &&
		           again.height == src.height && again.orientation == src.orientation &&
		           again.has_icc == src.has_icc);
	return 0;
}

/* enl_exif_parse on hand-built EXIF blocks: the values of a good block in both byte orders
 * and every container shape libvips hands over, then broken ones (zero denominators, wrong
 * types and counts, huge counts, offsets outside the block, IFD loops, truncation at every
 * length, random bytes): never a crash, and whatever can still be read is returned. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "enlarger/exif.h"
#include "exif_blob.h"

#define GPS_ALT_REF(val)                                                                           \
	{                                                                                          \
		.tag = 5, .type = T_BYTE, .v = {(val)}, .nv = 1                                    \
	}

static const struct tent good0[] = {
    TSTR(0x010f, "Canon  "),
    TSTR(0x0110, "Canon EOS R5"),
    TSHORT(0x0112, 6),
    TSTR(0x0131, "Firmware 1.8.1"),
    TSTR(0x0132, "2022:01:01 00:00:00"),
    TSTR(0x013b, "Ansel A."),
    TSTR(0x8298, "(c) 2021 Ansel A."),
};
static const struct tent good_exif[] = {
    TRAT(0x829a, 1, 250),
    TRAT(0x829d, 28, 10),
    TSHORT(0x8827, 400),
    TSTR(0x9003, "2021:03:04 10:11:12"),
    TSTR(0x9011, "+02:00"),
    TRAT(0x920a, 50, 1),
    TSTR(0xa434, "RF24-105mm F4 L IS USM"),
};
static const struct tent good_gps[] = {
    TSTR(1, "S"),   TRAT3(2, 33, 1, 51, 1, 2448, 100),
    TSTR(3, "W"),   TRAT3(4, 151, 1, 12, 1, 5508, 100),
    GPS_ALT_REF(1), TRAT(6, 1025, 100),
};

#define N(a) ((int)(sizeof(a) / sizeof((a)[0])))

static void check_good(const struct enl_exif *x)
{
	CHECK_STR_EQ(x->make, "Canon");
	CHECK_STR_EQ(x->model, "Canon EOS R5");
	CHECK_STR_EQ(x->lens_model, "RF24-105mm F4 L IS USM");
	CHECK_STR_EQ(x->date_taken, "2021-03-04T10:11:12+02:00");
	CHECK_STR_EQ(x->software, "Firmware 1.8.1");
	CHECK_STR_EQ(x->artist, "Ansel A.");
	CHECK_STR_EQ(x->copyright, "(c) 2021 Ansel A.");
	CHECK_STR_EQ(x->exposure_time, "1/250");
	CHECK(x->has_exposure);
	CHECK_NEAR(x->exposure_seconds, 0.004, 1e-12);
	CHECK(x->has_f_number);
	CHECK_NEAR(x->f_number, 2.8, 1e-12);
	CHECK(x->has_focal_length);
	CHECK_NEAR(x->focal_length, 50, 1e-12);
	CHECK(x->has_iso);
	CHECK_INT_EQ(x->iso, 400);
	CHECK_INT_EQ(x->orientation, 6);
	CHECK(x->has_gps);
	CHECK_NEAR(x->latitude, -(33 + 51 / 60.0 + 24.48 / 3600), 1e-9);
	CHECK_NEAR(x->longitude, -(151 + 12 / 60.0 + 55.08 / 3600), 1e-9);
	CHECK(x->has_altitude);
	CHECK_NEAR(x->altitude, -10.25, 1e-12);
}

static void test_good_shapes(void)
{
	struct tblob b;
	struct enl_exif x;
	for (int be = 0; be <= 1; be++) {
		tblob_build(&b, be, 1, good0, N(good0), good_exif, N(good_exif), good_gps,
		            N(good_gps), 0, 0);
		enl_exif_parse(b.d, b.len, &x); /* "Exif\0\0" + TIFF: JPEG, WebP, HEIF */
		check_good(&x);
		enl_exif_parse(b.d + 6, b.len - 6, &x); /* bare TIFF: PNG eXIf */
		check_good(&x);

		/* A raw HEIF Exif item: 4-byte big-endian offset to the TIFF header. */
		static unsigned char heif[8200];
		memcpy(heif, "\0\0\0\6", 4);
		memcpy(heif + 4, b.d, b.len);
		enl_exif_parse(heif, b.len + 4, &x);
		check_good(&x);
		memcpy(heif, "\0\0\0\0", 4);
		memcpy(heif + 4, b.d + 6, b.len - 6);
		enl_exif_parse(heif, b.len - 2, &x);
		check_good(&x);
	}

	/* JSON has exactly the found fields, under the contract's names. */
	tblob_build(&b, 0, 1, good0, N(good0), good_exif, N(good_exif), good_gps, N(good_gps), 0,
	            0);
	enl_exif_parse(b.d, b.len, &x);
	json_t *j = enl_exif_json(&x), *g = enl_exif_gps_json(&x);
	REQUIRE(j && g);
	CHECK_INT_EQ(json_object_size(j), 15);
	/* The gallery's strings, and their numeric twins. */
	CHECK_STR_EQ(json_string_value(json_object_get(j, "shutterSpeed")), "1/250");
	CHECK_STR_EQ(json_string_value(json_object_get(j, "aperture")), "2.8");
	CHECK_STR_EQ(json_string_value(json_object_get(j, "focalLength")), "50");
	CHECK(json_object_get(j, "make") == NULL && json_object_get(j, "exposureTime") == NULL);
	CHECK(json_string_value(json_object_get(j, "cameraMake")) != NULL);
	CHECK(json_string_value(json_object_get(j, "cameraModel")) != NULL);
	CHECK_STR_EQ(json_string_value(json_object_get(j, "lensModel")), "RF24-105mm F4 L IS USM");
	CHECK_INT_EQ(json_integer_value(json_object_get(j, "iso")), 400);
	CHECK_NEAR(json_real_value(json_object_get(j, "fNumber")), 2.8, 1e-12);
	CHECK_NEAR(json_real_value(json_object_get(j, "focalLengthMm")), 50, 1e-12);
	CHECK_NEAR(json_real_value(json_object_get(j, "exposureSeconds")), 0.004, 1e-12);
	CHECK_INT_EQ(json_integer_value(json_object_get(j, "orientation")), 6);
	CHECK_STR_EQ(json_string_value(json_object_get(j, "dateTaken")),
	             "2021-03-04T10:11:12+02:00");
	CHECK_INT_EQ(json_object_size(g), 3);
	CHECK_NEAR(json_real_value(json_object_get(g, "altitude")), -10.25, 1e-12);
	json_decref(j);
	json_decref(g);
}

static void test_empty(void)
{
	struct enl_exif x;
	memset(&x, 0x5a, sizeof(x));
	enl_exif_parse(NULL, 0, &x);
	CHECK_STR_EQ(x.make, "");
	CHECK(!x.has_gps && !x.has_iso && x.orientation == 0);
	enl_exif_parse("Exif\0\0", 6, &x);
	CHECK_STR_EQ(x.make, "");
	enl_exif_parse("not exif at all, just text", 26, &x);
	CHECK_STR_EQ(x.make, "");
	enl_exif_parse("x", 1, NULL); /* no out: nothing to do, no crash */

	json_t *j = enl_exif_json(&x);
	REQUIRE(j);
	CHECK_INT_EQ(json_object_size(j), 0);
	json_decref(j);
	CHECK(enl_exif_gps_json(&x) == NULL);
}

static void test_zero_denominators(void)
{
	const struct tent exif[] = {
	    TRAT(0x829a, 1, 0), TRAT(0x829d, 0, 0),  TRAT(0x920a, 5, 0),
	    TRAT(0x9202, 3, 0), TSHORT(0x8827, 100), TSTR(0xa434, "Lens"),
	};
	const struct tent gps[] = {
	    TSTR(1, "N"),    TRAT3(2, 10, 1, 30, 0, 0, 1),
	    TSTR(3, "E"),    TRAT3(4, 20, 1, 0, 1, 0, 1),
	    TRAT(6, 100, 0),
	};
	struct tblob b;
	struct enl_exif x;
	tblob_build(&b, 0, 1, good0, N(good0), exif, N(exif), gps, N(gps), 0, 0);
	enl_exif_parse(b.d, b.len, &x);
	CHECK(!x.has_exposure && !x.has_f_number && !x.has_focal_length);
	CHECK_STR_EQ(x.exposure_time, "");
	CHECK(!x.has_gps && !x.has_altitude);
	CHECK(x.has_iso && x.iso == 100);
	CHECK_STR_EQ(x.make, "Canon");
	CHECK_STR_EQ(x.lens_model, "Lens");
	CHECK_INT_EQ(x.orientation, 6);
}

static void test_wrong_types_and_counts(void)
{
	const struct tent ifd0[] = {
	    {.tag = 0x010f, .type = T_SHORT, .v = {0x4142}, .nv = 1}, /* Make as a number */
	    TLONG(0x0112, 3),                                         /* Orientation as LONG */
	    {.tag = 0x0110, .type = T_ASCII, .count = 5, .s = "ModelXYZ", .slen = 8}, /* no NUL */
	    {.tag = 0x013b,
	     .type = T_ASCII,
	     .s = "Jos\xe9 M\xfcller\x01",
	     .slen = 12},           /* Latin-1 */
	    TSTR(0x0131, "  \x01"), /* only spaces and a control character: nothing */
	};
	const struct tent exif[] = {
	    {.tag = 0x829a, .type = T_RATIONAL, .count = 0, .v = {1, 8}, .nv = 2}, /* ok */
	    {.tag = 0x829d, .type = T_SHORT, .v = {4}, .nv = 1},                   /* FNumber 4 */
	    {.tag = 0x8827, .type = T_RATIONAL, .v = {800, 2}, .nv = 2},           /* ISO 400 */
	    {.tag = 0x920a, .type = T_RATIONAL, .count = 0, .nv = 0, .s = "", .slen = 0},
	    TSTR(0x9003, "    :  :     :  :  "), /* blank date */
	    TSTR(0x9004, "2020:02:29 12:00:00"), /* digitized: used instead */
	    TSTR(0x9012, "+5:00"),               /* malformed offset: dropped */
	};
	const struct tent gps[] = {
	    TSTR(1, "s"),
	    {.tag = 2, .type = T_RATIONAL, .v = {45, 2}, .nv = 2}, /* 1 component */
	    TSTR(3, "w"),
	    {.tag = 4, .type = T_SRATIONAL, .v = {10, 1, 30, 1}, .nv = 4},
	};
	struct tblob b;
	struct enl_exif x;
	tblob_build(&b, 1, 1, ifd0, N(ifd0), exif, N(exif), gps, N(gps), 0, 0);
	enl_exif_parse(b.d, b.len, &x);
	CHECK_STR_EQ(x.make, "");
	CHECK_INT_EQ(x.orientation, 3);
	CHECK_STR_EQ(x.model, "Model");
	CHECK_STR_EQ(x.artist, "Jos\xc3\xa9 M\xc3\xbcller");
	CHECK_STR_EQ(x.software, "");
	CHECK_STR_EQ(x.exposure_time, "1/8");
	CHECK_NEAR(x.f_number, 4, 1e-12);
	CHECK_INT_EQ(x.iso, 400);
	CHECK(!x.has_focal_length);
	CHECK_STR_EQ(x.date_taken, "2020-02-29T12:00:00");
	CHECK(x.has_gps);
	CHECK_NEAR(x.latitude, -22.5, 1e-12);
	CHECK_NEAR(x.longitude, -10.5, 1e-12);
	CHECK(!x.has_altitude);

	json_t *j = enl_exif_json(&x);
	REQUIRE(j);
	char *s = json_dumps(j, JSON_SORT_KEYS);
	REQUIRE(s); /* jansson refuses invalid UTF-8: the Latin-1 artist made it through */
	CHECK(strstr(s, "\"artist\"") != NULL);
	free(s);
	json_decref(j);
}

static void test_rules(void)
{
	struct {
		uint32_t n, d;
		const char *text;
	} shutter[] = {
	    {1, 8000, "1/8000"}, {10, 2500, "1/250"},
	    {1, 4, "1/4"},       {1, 3, "0.3"},
	    {1, 2, "0.5"},       {1, 1, "1"},
	    {5, 2, "2.5"},       {30, 1, "30"},
	    {3, 1000, "1/333"},  {541, 1000000, "1/1848"},
	};
	for (size_t i = 0; i < sizeof(shutter) / sizeof(shutter[0]); i++) {
		const struct tent exif[] = {TRAT(0x829a, shutter[i].n, shutter[i].d)};
		struct tblob b;
		struct enl_exif x;
		tblob_build(&b, 0, 1, good0, 1, exif, 1, NULL, 0, 0, 0);
		enl_exif_parse(b.d, b.len, &x);
		CHECK_STR_EQ(x.exposure_time, shutter[i].text);
		CHECK_NEAR(x.exposure_seconds, (double)shutter[i].n / shutter[i].d, 1e-15);
	}

	/* ApertureValue when FNumber is missing; ISO 65535 means "see ISOSpeed";
	 * zero and out-of-range values are absent; no DateTime fallback. */
	const struct tent exif[] = {
	    TRAT(0x9202, 4, 1), TSHORT(0x8827, 65535), TLONG(0x8833, 102400),
	    TRAT(0x920a, 0, 1), TRAT(0x829a, 0, 1),    TSTR(0x9003, "0000:00:00 00:00:00"),
	};
	const struct tent gps[] = {
	    TSTR(1, "N"),  TRAT3(2, 91, 1, 0, 1, 0, 1), /* latitude over 90: no position */
	    TSTR(3, "E"),  TRAT3(4, 20, 1, 0, 1, 0, 1),
	    TRAT(6, 5, 1), /* altitude without ref: above sea level */
	};
	const struct tent ifd0[] = {TSHORT(0x0112, 9), TSTR(0x0132, "2022:01:01 00:00:00")};
	struct tblob b;
	struct enl_exif x;
	tblob_build(&b, 0, 1, ifd0, N(ifd0), exif, N(exif), gps, N(gps), 0, 0);
	enl_exif_parse(b.d, b.len, &x);
	CHECK_NEAR(x.f_number, 4, 1e-12);
	CHECK_INT_EQ(x.iso, 102400);
	CHECK(!x.has_focal_length && !x.has_exposure);
	CHECK_STR_EQ(x.date_taken, "");
	CHECK_INT_EQ(x.orientation, 0);
	CHECK(!x.has_gps);
	CHECK(x.has_altitude);
	CHECK_NEAR(x.altitude, 5, 1e-12);
	CHECK(enl_exif_gps_json(&x) == NULL);

	/* Refs missing: no position (exiftool's composite needs them too). */
	const struct tent gps2[] = {TRAT3(2, 10, 1, 0, 1, 0, 1), TRAT3(4, 20, 1, 0, 1, 0, 1)};
	tblob_build(&b, 0, 1, ifd0, N(ifd0), exif, N(exif), gps2, N(gps2), 0, 0);
	enl_exif_parse(b.d, b.len, &x);
	CHECK(!x.has_gps);
}

static void test_bad_offsets(void)
{
	struct tblob b;
	struct enl_exif x;
	uint32_t bogus[] = {0xffffff00u, 0x7fffffffu, 0xfffffff8u, 8 /* IFD0 again: a loop */, 1};
	for (size_t i = 0; i < sizeof(bogus) / sizeof(bogus[0]); i++) {
		tblob_build(&b, (int)(i & 1), 1, good0, N(good0), good_exif, N(good_exif), good_gps,
		            N(good_gps), bogus[i], bogus[i]);
		enl_exif_parse(b.d, b.len, &x);
		CHECK_STR_EQ(x.make, "Canon"); /* IFD0 is fine */
		CHECK_INT_EQ(x.orientation, 6);
		if (bogus[i] != 8)
			CHECK(!x.has_iso && !x.has_gps);
	}

	/* Entries whose data lie outside the block or whose counts overflow. */
	const struct tent exif[] = {
	    {.tag = 0xa434, .type = T_ASCII, .count = 0xffffffffu, .raw = 1, .raw_off = 16},
	    {.tag = 0x829a, .type = T_RATIONAL, .count = 0x20000001u, .raw = 1, .raw_off = 8},
	    {.tag = 0x829d, .type = T_RATIONAL, .count = 1, .raw = 1, .raw_off = 0xfffffffcu},
	    {.tag = 0x9003, .type = T_ASCII, .count = 20, .raw = 1, .raw_off = 0x7ffffff0u},
	    TSHORT(0x8827, 200),
	};
	tblob_build(&b, 0, 1, good0, N(good0), exif, N(exif), good_gps, N(good_gps), 0, 0);
	enl_exif_parse(b.d, b.len, &x);
	CHECK_STR_EQ(x.make, "Canon");
	CHECK_INT_EQ(x.iso, 200);
	CHECK_STR_EQ(x.lens_model, "");
	CHECK(!x.has_exposure && !x.has_f_number);
	CHECK_STR_EQ(x.date_taken, "");
	CHECK(x.has_gps);

	/* An IFD0 that claims 65535 entries. */
	tblob_build(&b, 0, 1, good0, N(good0), NULL, 0, NULL, 0, 0, 0);
	b.d[6 + 8] = 0xff;
	b.d[6 + 9] = 0xff;
	enl_exif_parse(b.d, b.len, &x);
	CHECK_STR_EQ(x.date_taken, "");

	/* A block far larger than any EXIF (capped, not walked). */
	size_t big = (size_t)3 << 20;
	unsigned char *p = calloc(1, big);
	REQUIRE(p);
	tblob_build(&b, 0, 1, good0, N(good0), good_exif, N(good_exif), NULL, 0, 0, 0);
	memcpy(p, b.d, b.len);
	enl_exif_parse(p, big, &x);
	CHECK_STR_EQ(x.make, "Canon");
	free(p);
}

static void test_truncation(void)
{
	struct tblob b;
	struct enl_exif x;
	tblob_build(&b, 1, 1, good0, N(good0), good_exif, N(good_exif), good_gps, N(good_gps), 0,
	            0);
	int make_seen_early = 0;
	for (size_t n = 0; n <= b.len; n++) {
		/* Heap copy of exactly n bytes, so ASan sees any read past the end. */
		unsigned char *p = malloc(n ? n : 1);
		REQUIRE(p);
		memcpy(p, b.d, n);
		enl_exif_parse(p, n, &x);
		if (x.make[0] && !x.has_gps)
			make_seen_early = 1;
		if (n == b.len)
			check_good(&x);
		free(p);
	}
	CHECK(make_seen_early); /* a cut inside the GPS IFD still gives IFD0's fields */
}

static void test_random(void)
{
	uint64_t s = 0x9e3779b97f4a7c15ull;
	for (int i = 0; i < 2000; i++) {
		unsigned char p[600];
		size_t n = 14 + (size_t)(i % (int)(sizeof(p) - 14));
		memcpy(p, i & 1 ? "Exif\0\0MM\0*\0\0\0\x08" : "Exif\0\0II*\0\x08\0\0\0", 14);
		for (size_t k = 14; k < n; k++) {
			s ^= s << 13;
			s ^= s >> 7;
			s ^= s << 17;
			p[k] = (unsigned char)s;
		}
		unsigned char *h = malloc(n);
		REQUIRE(h);
		memcpy(h, p, n);
		struct enl_exif x;
		enl_exif_parse(h, n, &x);
		json_t *j = enl_exif_json(&x), *g = enl_exif_gps_json(&x);
		char *d = j ? json_dumps(j, 0) : NULL;
		CHECK(d != NULL); /* whatever the bytes, the JSON is valid */
		free(d);
		json_decref(j);
		json_decref(g);
		free(h);
	}
}

int main(void)
{
	test_good_shapes();
	test_empty();
	test_zero_denominators();
	test_wrong_types_and_counts();
	test_rules();
	test_bad_offsets();
	test_truncation();
	test_random();
	return check_done();
}

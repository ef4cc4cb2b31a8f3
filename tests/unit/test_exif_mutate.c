/* Fuzz-style unit test: enl_exif_parse over a few thousand mutated copies of valid EXIF
 * blocks (both byte orders, the HEIF offset prefix, and maker notes libexif parses: Canon,
 * Nikon, Olympus, Fuji, Pentax, Apple), from a fixed PRNG seed so a failure repeats.
 * Meant for the ASan+UBSan build; in a plain build it still checks every result is
 * well-formed (valid JSON, orientation 0..8, finite numbers, terminated strings).
 *   test_exif_mutate                 run the test
 *   test_exif_mutate --seeds DIR     write the seed blocks (the fuzz corpus) to DIR
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "enlarger/exif.h"
#include "exif_blob.h"

#define N(a) ((int)(sizeof(a) / sizeof((a)[0])))
#define ITERATIONS 20000

static uint64_t rng = 0x2545f4914f6cdd1dull;

static uint32_t next(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return (uint32_t)(rng >> 11);
}

/* A maker note: prefix, then a 3-entry IFD in the given byte order. */
static size_t mnote(unsigned char *out, const char *prefix, size_t plen, int be)
{
	struct tblob m;
	const struct tent e[] = {
	    TSHORT(0x0001, 7),
	    TSTR(0x0006, "IMG:TYPE"),
	    {.tag = 0x0004, .type = T_SHORT, .v = {1, 2, 3, 4, 5, 6}, .nv = 6},
	};
	memset(&m, 0, sizeof(m));
	m.be = be;
	size_t end = tifd_write(&m, 0, e, N(e), 0);
	memcpy(out, prefix, plen);
	memcpy(out + plen, m.d, end);
	return plen + end;
}

static const struct tent gps[] = {
    TSTR(1, "S"),
    TRAT3(2, 33, 1, 51, 1, 2448, 100),
    TSTR(3, "W"),
    TRAT3(4, 151, 1, 12, 1, 5508, 100),
    {.tag = 5, .type = T_BYTE, .v = {1}, .nv = 1},
    TRAT(6, 1025, 100),
};

/* Seed k (0..n): fills b, returns 0, or -1 past the last seed. */
static int seed(int k, struct tblob *b)
{
	static const struct {
		const char *make, *prefix;
		size_t plen;
		int be;
	} notes[] = {
	    {"Canon", "", 0, 0},
	    {"NIKON CORPORATION", "Nikon\0\x02\x10\0\0II*\0\x08\0\0\0", 18, 0},
	    {"OLYMPUS", "OLYMP\0\x01\0", 8, 0},
	    {"FUJIFILM", "FUJIFILM\x0c\0\0\0", 12, 0},
	    {"PENTAX", "AOC\0MM", 6, 1},
	    {"Apple", "Apple iOS\0\0\x01MM", 14, 1},
	};
	unsigned char note[256];
	if (k < 0 || k >= N(notes) + 2)
		return -1;
	int be = k < N(notes) ? notes[k].be : k - N(notes);
	size_t nlen = k < N(notes) ? mnote(note, notes[k].prefix, notes[k].plen, be) : 0;
	struct tent ifd0[] = {
	    {.tag = 0x010f,
	     .type = T_ASCII,
	     .s = k < N(notes) ? notes[k].make : "Canon",
	     .slen = strlen(k < N(notes) ? notes[k].make : "Canon") + 1},
	    TSTR(0x0110, "Model 7"),
	    TSHORT(0x0112, 6),
	    TSTR(0x013b, "Artist"),
	};
	struct tent exif[] = {
	    TRAT(0x829a, 1, 250),
	    TRAT(0x829d, 28, 10),
	    TSHORT(0x8827, 400),
	    TSTR(0x9003, "2021:03:04 10:11:12"),
	    TSTR(0x9011, "+02:00"),
	    TRAT(0x920a, 50, 1),
	    TSTR(0xa434, "Lens"),
	    {.tag = 0x927c, .type = T_UNDEF, .s = (const char *)note, .slen = nlen},
	};
	tblob_build(b, be, 1, ifd0, N(ifd0), exif, nlen ? N(exif) : N(exif) - 1, gps, N(gps), 0, 0);
	return 0;
}

static void mutate(unsigned char *p, size_t *len)
{
	static const uint32_t interesting[] = {0,           1,           0x7f,       0x80,
	                                       0xff,        0xffff,      0x7fffffff, 0x80000000u,
	                                       0xffffffffu, 0xfffffff0u, 8,          0x10000};
	int edits = 1 + (int)(next() % 8);
	for (int i = 0; i<edits && * len> 0; i++) {
		size_t at = next() % *len;
		switch (next() % 6) {
		case 0: p[at] ^= (unsigned char)(1u << (next() % 8)); break;
		case 1: p[at] = (unsigned char)next(); break;
		case 2: p[at] = (unsigned char)interesting[next() % N(interesting)]; break;
		case 3:
			if (at + 4 <= *len) {
				uint32_t v = interesting[next() % N(interesting)];
				memcpy(p + at, &v, 4);
			}
			break;
		case 4: *len = at; break; /* truncate */
		default:                  /* copy a chunk over another place */
			if (*len > 16) {
				size_t from = next() % (*len - 8), to = next() % (*len - 8);
				memmove(p + to, p + from, 8);
			}
			break;
		}
	}
}

static void check_sane(const struct enl_exif *x)
{
	CHECK(memchr(x->make, 0, sizeof(x->make)) && memchr(x->model, 0, sizeof(x->model)));
	CHECK(memchr(x->date_taken, 0, sizeof(x->date_taken)));
	CHECK(memchr(x->exposure_time, 0, sizeof(x->exposure_time)));
	CHECK(x->orientation >= 0 && x->orientation <= 8);
	if (x->has_gps)
		CHECK(fabs(x->latitude) <= 90 && fabs(x->longitude) <= 180);
	CHECK(isfinite(x->f_number) && isfinite(x->exposure_seconds) && isfinite(x->altitude));
	json_t *j = enl_exif_json(x), *g = enl_exif_gps_json(x);
	char *s = j ? json_dumps(j, 0) : NULL;
	CHECK(s != NULL);
	CHECK(!x->has_gps || g != NULL);
	free(s);
	json_decref(j);
	json_decref(g);
}

static int write_seeds(const char *dir)
{
	struct tblob b;
	for (int k = 0; seed(k, &b) == 0; k++) {
		char path[4096];
		snprintf(path, sizeof(path), "%s/seed-%02d.exif", dir, k);
		FILE *f = fopen(path, "wb");
		if (!f || fwrite(b.d, 1, b.len, f) != b.len) {
			fprintf(stderr, "cannot write %s\n", path);
			if (f)
				fclose(f);
			return 1;
		}
		fclose(f);
	}
	return 0;
}

int main(int argc, char **argv)
{
	if (argc == 3 && strcmp(argv[1], "--seeds") == 0)
		return write_seeds(argv[2]);

	struct tblob b;
	int seeds = 0;
	while (seed(seeds, &b) == 0) {
		/* Every seed parses to the values it was built with before it is mutated. */
		struct enl_exif x;
		enl_exif_parse(b.d, b.len, &x);
		CHECK_STR_EQ(x.model, "Model 7");
		CHECK_INT_EQ(x.iso, 400);
		CHECK_STR_EQ(x.date_taken, "2021-03-04T10:11:12+02:00");
		CHECK(x.has_gps && x.latitude < -33 && x.longitude < -151);
		seeds++;
	}

	for (int i = 0; i < ITERATIONS; i++) {
		REQUIRE(seed(i % seeds, &b) == 0);
		size_t len = b.len;
		unsigned char *p;
		int heif = (next() % 4) == 0;
		/* A heap block of exactly the bytes, so ASan catches any read past them. */
		p = malloc(len + 4);
		REQUIRE(p);
		if (heif) {
			memcpy(p, "\0\0\0\6", 4);
			memcpy(p + 4, b.d, len);
			len += 4;
		} else {
			memcpy(p, b.d, len);
		}
		mutate(p, &len);
		unsigned char *exact = malloc(len ? len : 1);
		REQUIRE(exact);
		memcpy(exact, p, len);
		free(p);
		struct enl_exif x;
		enl_exif_parse(exact, len, &x);
		check_sane(&x);
		free(exact);
	}
	fprintf(stderr, "%d seeds, %d mutated blocks\n", seeds, ITERATIONS);
	return check_done();
}

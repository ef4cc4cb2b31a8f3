/* /render queries, their canonical form and Accept negotiation, as tables: a query and
 * what it parses to (or the words its refusal must hold) in `queries`; a request, a
 * source size and the request that answers it in `canon`; a new Accept rule is a row in
 * `accepts`. The settings: widths 64, 200, 400, 800 (max 4096), qualities 50 and 90. */
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "check.h"
#include "enlarger/defaults.h"
#include "enlarger/service.h"

#define INV ENL_EINVAL
enum { IN = ENL_FIT_INSIDE, CO = ENL_FIT_COVER };
enum { JPEG = ENL_FMT_JPEG, WEBP = ENL_FMT_WEBP, PNG = ENL_FMT_PNG, AVIF = ENL_FMT_AVIF };

/* rc 0: parses to w, h, fit, fmt, q, auto, v; ENL_EINVAL: refused, the message holding
 * `says`. Accept is "image/webp" and anything else, unless given. */
static const struct query_case {
	const char *query, *accept;
	int rc;
	int w, h, fit, fmt, q, fmt_auto;
	const char *v, *says;
} queries[] = {
    /* w: required, canonical decimal, from the list. */
    {"w=400", NULL, 0, 400, 0, IN, WEBP, 0, 1, "", NULL},
    {"w=64", NULL, 0, 64, 0, IN, WEBP, 0, 1, "", NULL},
    {"", NULL, INV, 0, 0, 0, 0, 0, 0, "", "parameter w is required"},
    {"fmt=webp", NULL, INV, 0, 0, 0, 0, 0, 0, "", "parameter w is required"},
    {"w=0400", NULL, INV, 0, 0, 0, 0, 0, 0, "", "parameter w must be one of: 64, 200, 400, 800"},
    {"w=00400", NULL, INV, 0, 0, 0, 0, 0, 0, "", "parameter w"},
    {"w=+400", NULL, INV, 0, 0, 0, 0, 0, 0, "", "parameter w"},
    {"w=%2B400", NULL, INV, 0, 0, 0, 0, 0, 0, "", "parameter w"},
    {"w=400%20", NULL, INV, 0, 0, 0, 0, 0, 0, "", "parameter w"},
    {"w=400.0", NULL, INV, 0, 0, 0, 0, 0, 0, "", "parameter w"},
    {"w=-400", NULL, INV, 0, 0, 0, 0, 0, 0, "", "parameter w"},
    {"w=0", NULL, INV, 0, 0, 0, 0, 0, 0, "", "parameter w"},
    {"w=401", NULL, INV, 0, 0, 0, 0, 0, 0, "", "64, 200, 400, 800"},
    {"w=", NULL, INV, 0, 0, 0, 0, 0, 0, "", "parameter w"},
    {"w", NULL, INV, 0, 0, 0, 0, 0, 0, "", "parameter w"},
    {"w=99999999999999999999", NULL, INV, 0, 0, 0, 0, 0, 0, "", "parameter w"},
    /* h: only with fit, from the same list. */
    {"w=400&h=200&fit=cover", NULL, 0, 400, 200, CO, WEBP, 0, 1, "", NULL},
    {"w=400&h=800&fit=inside", NULL, 0, 400, 800, IN, WEBP, 0, 1, "", NULL},
    {"w=400&h=200", NULL, INV, 0, 0, 0, 0, 0, 0, "", "parameter h needs fit"},
    {"w=400&h=300&fit=cover", NULL, INV, 0, 0, 0, 0, 0, 0, "", "parameter h must be one of"},
    {"w=400&h=0&fit=cover", NULL, INV, 0, 0, 0, 0, 0, 0, "", "parameter h"},
    {"w=400&h=0200&fit=cover", NULL, INV, 0, 0, 0, 0, 0, 0, "", "parameter h"},
    /* fit: inside or cover, as written; without h it still parses. */
    {"w=400&fit=cover", NULL, 0, 400, 0, CO, WEBP, 0, 1, "", NULL},
    {"w=400&fit=inside", NULL, 0, 400, 0, IN, WEBP, 0, 1, "", NULL},
    {"w=400&fit=fill", NULL, INV, 0, 0, 0, 0, 0, 0, "", "parameter fit"},
    {"w=400&fit=COVER", NULL, INV, 0, 0, 0, 0, 0, 0, "", "parameter fit"},
    /* fmt: one spelling per format, or auto (default; JPEG without Accept). */
    {"w=400&fmt=auto", NULL, 0, 400, 0, IN, WEBP, 0, 1, "", NULL},
    {"w=400&fmt=auto", "", 0, 400, 0, IN, JPEG, 0, 1, "", NULL},
    {"w=400", "image/avif,image/webp", 0, 400, 0, IN, AVIF, 0, 1, "", NULL},
    {"w=400&fmt=jpeg", NULL, 0, 400, 0, IN, JPEG, 0, 0, "", NULL},
    {"w=400&fmt=png", NULL, 0, 400, 0, IN, PNG, 0, 0, "", NULL},
    {"w=400&fmt=avif", NULL, 0, 400, 0, IN, AVIF, 0, 0, "", NULL},
    {"w=400&fmt=webp", NULL, 0, 400, 0, IN, WEBP, 0, 0, "", NULL},
    {"w=400&fmt=jpg", NULL, INV, 0, 0, 0, 0, 0, 0, "", "parameter fmt"},
    {"w=400&fmt=WEBP", NULL, INV, 0, 0, 0, 0, 0, 0, "", "parameter fmt"},
    {"w=400&fmt=gif", NULL, INV, 0, 0, 0, 0, 0, 0, "", "parameter fmt"},
    {"w=400&fmt=", NULL, INV, 0, 0, 0, 0, 0, 0, "", "parameter fmt"},
    /* q: canonical decimal from the list. */
    {"w=400&q=90", NULL, 0, 400, 0, IN, WEBP, 90, 1, "", NULL},
    {"w=400&q=80", NULL, INV, 0, 0, 0, 0, 0, 0, "", "parameter q must be one of: 50, 90"},
    {"w=400&q=090", NULL, INV, 0, 0, 0, 0, 0, 0, "", "parameter q"},
    {"w=400&q=0", NULL, INV, 0, 0, 0, 0, 0, 0, "", "parameter q"},
    /* v: a version tag; sig: 43 base64url characters. */
    {"w=400&v=97fdc6ae077d8165f3cb4aa494ddb7d4-2", NULL, 0, 400, 0, IN, WEBP, 0, 1,
     "97fdc6ae077d8165f3cb4aa494ddb7d4-2", NULL},
    {"w=400&v=ABC", NULL, INV, 0, 0, 0, 0, 0, 0, "", "parameter v"},
    {"w=400&v=", NULL, INV, 0, 0, 0, 0, 0, 0, "", "parameter v"},
    {"w=400&v=a%20b", NULL, INV, 0, 0, 0, 0, 0, 0, "", "parameter v"},
    {"w=400&v=0123456789012345678901234567890123456789012345678", NULL, INV, 0, 0, 0, 0, 0, 0, "",
     "parameter v"},
    {"w=400&sig=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA-", NULL, 0, 400, 0, IN, WEBP, 0, 1, "",
     NULL},
    {"w=400&sig=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=", NULL, INV, 0, 0, 0, 0, 0, 0, "",
     "parameter sig"},
    {"w=400&sig=short", NULL, INV, 0, 0, 0, 0, 0, 0, "", "parameter sig"},
    /* Every name at most once, no other name, no empty pair: all of them named. */
    {"w=400&w=400", NULL, INV, 0, 0, 0, 0, 0, 0, "", "more than once: w"},
    {"w=400&fmt=webp&fmt=png", NULL, INV, 0, 0, 0, 0, 0, 0, "", "more than once: fmt"},
    {"w=400&x=1&utm_source=mail", NULL, INV, 0, 0, 0, 0, 0, 0, "",
     "unknown parameters: x, utm_source"},
    {"w=400&W=400", NULL, INV, 0, 0, 0, 0, 0, 0, "", "unknown parameters: W"},
    {"%77=400", NULL, INV, 0, 0, 0, 0, 0, 0, "", "unknown parameters: %77"},
    {"w=400&x=1&w=200", NULL, INV, 0, 0, 0, 0, 0, 0, "",
     "unknown parameters: x; parameters given more than once: w"},
    {"w=400&\xc3\xa9=1", NULL, INV, 0, 0, 0, 0, 0, 0, "", "unknown parameters: ??"},
    {"w=400&&fmt=png", NULL, INV, 0, 0, 0, 0, 0, 0, "", "empty parameter"},
    {"w=400&", NULL, INV, 0, 0, 0, 0, 0, 0, "", "empty parameter"},
    {"&w=400", NULL, INV, 0, 0, 0, 0, 0, 0, "", "empty parameter"},
};

/* A query, a source size, and the canonical request (w, h, fit, q): never past the
 * source, h dropped where it cannot bind, cover without h is inside, q by number. */
static const struct canon_case {
	const char *query;
	int src_w, src_h;
	int w, h, fit, q;
} canon[] = {
    /* Larger than the source: clamped, so every such width is one variant. */
    {"w=800&fmt=webp", 640, 480, 640, 0, IN, 80},
    {"w=400&fmt=webp", 640, 480, 400, 0, IN, 80},
    {"w=800&fmt=webp", 800, 600, 800, 0, IN, 80},
    /* inside with h: h at or past the source's cannot bind. */
    {"w=400&h=800&fit=inside&fmt=webp", 640, 480, 400, 0, IN, 80},
    {"w=400&h=200&fit=inside&fmt=webp", 640, 480, 400, 200, IN, 80},
    {"w=800&h=200&fit=inside&fmt=webp", 640, 480, 640, 200, IN, 80},
    {"w=800&h=800&fit=inside&fmt=webp", 640, 480, 640, 0, IN, 80},
    {"w=800&h=400&fit=inside&fmt=webp", 640, 400, 640, 0, IN, 80},
    /* cover: each side clamped; without h it is inside. */
    {"w=800&h=200&fit=cover&fmt=webp", 640, 480, 640, 200, CO, 80},
    {"w=200&h=800&fit=cover&fmt=webp", 640, 480, 200, 480, CO, 80},
    {"w=800&h=800&fit=cover&fmt=webp", 640, 480, 640, 480, CO, 80},
    {"w=400&fit=cover&fmt=webp", 640, 480, 400, 0, IN, 80},
    /* q: the number the encoder uses; none for PNG. */
    {"w=400&fmt=jpeg", 640, 480, 400, 0, IN, ENL_DEFAULT_JPEG_QUALITY},
    {"w=400&fmt=avif&q=50", 640, 480, 400, 0, IN, 50},
    {"w=400&fmt=avif", 640, 480, 400, 0, IN, 50},
    {"w=400&fmt=png&q=90", 640, 480, 400, 0, IN, 0},
    {"w=400&fmt=png", 640, 480, 400, 0, IN, 0},
};

/* enl_accept_pick: AVIF, then WebP, then JPEG; explicit types only; q=0 refuses. */
static const struct accept_case {
	const char *accept;
	enum enl_format want;
} accepts[] = {
    {NULL, ENL_FMT_JPEG},
    {"", ENL_FMT_JPEG},
    {"*/*", ENL_FMT_JPEG},
    {"image/*", ENL_FMT_JPEG},
    {"image/avif,image/webp,image/apng,image/*,*/*;q=0.8", ENL_FMT_AVIF},
    {"image/webp,*/*", ENL_FMT_WEBP},
    {"image/avif;q=0, image/webp;q=0.5", ENL_FMT_WEBP},
    {"image/avif;q=0.0,image/webp;q=0", ENL_FMT_JPEG},
    {"IMAGE/WEBP", ENL_FMT_WEBP},
    {"image/avif ; q=0.001", ENL_FMT_AVIF},
    {"image/avifx,image/webpp", ENL_FMT_JPEG},
    {"text/html, image/webp ;q=1.0", ENL_FMT_WEBP},
};

static int parse(const struct enl_config *c, const char *query, const char *accept,
                 struct enl_render_params *p, struct enl_errmsg *e)
{
	memset(e, 0, sizeof(*e));
	return enl_render_params_parse(c, query, accept, p, e);
}

int main(void)
{
	struct enl_config c;
	struct enl_render_params p;
	struct enl_errmsg e;
	static const int widths[] = {64, 200, 400, 800};

	memset(&c, 0, sizeof(c));
	c.max_render_width = 4096;
	memcpy(c.render_widths.v, widths, sizeof(widths));
	c.render_widths.n = 4;
	c.render_qualities.v[0] = 50;
	c.render_qualities.v[1] = 90;
	c.render_qualities.n = 2;

	for (size_t i = 0; i < sizeof(accepts) / sizeof(accepts[0]); i++) {
		enum enl_format got = enl_accept_pick(accepts[i].accept);
		if (got != accepts[i].want) {
			check_failures++;
			fprintf(stderr, "Accept \"%s\": %s, want %s\n",
			        accepts[i].accept ? accepts[i].accept : "(none)",
			        enl_format_name(got), enl_format_name(accepts[i].want));
		}
		check_count++;
	}

	for (size_t i = 0; i < sizeof(queries) / sizeof(queries[0]); i++) {
		const struct query_case *k = &queries[i];
		int rc = parse(&c, k->query, k->accept ? k->accept : "image/webp,*/*", &p, &e);
		check_count++;
		if (rc != k->rc) {
			check_failures++;
			fprintf(stderr, "?%s: rc %d, want %d (%s)\n", k->query, rc, k->rc, e.text);
		} else if (rc != 0 && !strstr(e.text, k->says)) {
			check_failures++;
			fprintf(stderr, "?%s: \"%s\" does not say \"%s\"\n", k->query, e.text,
			        k->says);
		} else if (rc == 0 && (p.req.width != k->w || p.req.height != k->h ||
		                       (int)p.req.fit != k->fit || (int)p.req.format != k->fmt ||
		                       p.req.quality != k->q || p.fmt_auto != k->fmt_auto ||
		                       strcmp(p.version, k->v) != 0)) {
			check_failures++;
			fprintf(stderr, "?%s: w %d h %d fit %d fmt %d q %d auto %d v \"%s\"\n",
			        k->query, p.req.width, p.req.height, (int)p.req.fit,
			        (int)p.req.format, p.req.quality, p.fmt_auto, p.version);
		}
	}

	/* sig as sent. */
	REQUIRE(parse(&c, "sig=Ab-_Ab-_Ab-_Ab-_Ab-_Ab-_Ab-_Ab-_Ab-_Ab-_Ab-&w=64", NULL, &p, &e) ==
	        0);
	CHECK_STR_EQ(p.sig, "Ab-_Ab-_Ab-_Ab-_Ab-_Ab-_Ab-_Ab-_Ab-_Ab-_Ab-");

	for (size_t i = 0; i < sizeof(canon) / sizeof(canon[0]); i++) {
		const struct canon_case *k = &canon[i];
		struct enl_render_req r;
		REQUIRE(parse(&c, k->query, NULL, &p, &e) == 0);
		enl_render_canonical(&c, &p, k->src_w, k->src_h, &r);
		check_count++;
		if (r.width != k->w || r.height != k->h || (int)r.fit != k->fit ||
		    r.quality != k->q || r.format != p.req.format) {
			check_failures++;
			fprintf(stderr, "?%s on %dx%d: w %d h %d fit %d q %d, want %d %d %d %d\n",
			        k->query, k->src_w, k->src_h, r.width, r.height, (int)r.fit,
			        r.quality, k->w, k->h, k->fit, k->q);
		}
	}

	/* Without q, ENLARGER_RENDER_QUALITY when it is set; asking for that q is the same. */
	{
		struct enl_render_req a, b;
		c.render_quality_default = 90;
		REQUIRE(parse(&c, "w=400&fmt=webp", NULL, &p, &e) == 0);
		enl_render_canonical(&c, &p, 640, 480, &a);
		REQUIRE(parse(&c, "w=400&fmt=webp&q=90", NULL, &p, &e) == 0);
		enl_render_canonical(&c, &p, 640, 480, &b);
		CHECK_INT_EQ(a.quality, 90);
		CHECK(memcmp(&a, &b, sizeof(a)) == 0);
		c.render_quality_default = 0;
	}

	/* No q list: q is refused; "any" widths take every width up to the maximum. */
	c.render_qualities.n = 0;
	CHECK_INT_EQ(parse(&c, "w=400&q=90", NULL, &p, &e), ENL_EINVAL);
	CHECK(strstr(e.text, "parameter q is not accepted") != NULL);
	c.render_widths.any = 1;
	CHECK_INT_EQ(parse(&c, "w=401&h=4096&fit=cover", NULL, &p, &e), 0);
	CHECK_INT_EQ(parse(&c, "w=4097", NULL, &p, &e), ENL_EINVAL);
	CHECK(strstr(e.text, "parameter w must be an integer from 1 to 4096") != NULL);
	return check_done();
}

/* /render parameter parsing and Accept negotiation, as tables: a new parameter is one row in
 * `params` and its rows in `cases`; a new Accept rule is a row in `accepts`. */
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "check.h"
#include "enlarger/defaults.h"
#include "enlarger/service.h"

static int got_width(const struct enl_render_params *p)
{
	return p->req.width;
}
static int got_height(const struct enl_render_params *p)
{
	return p->req.height;
}
static int got_fit(const struct enl_render_params *p)
{
	return (int)p->req.fit;
}
static int got_format(const struct enl_render_params *p)
{
	return (int)p->req.format;
}
static int got_quality(const struct enl_render_params *p)
{
	return p->req.quality;
}

/* Where a parameter's raw value goes in the query, and what it becomes once parsed.
 * "accept" is the header: with no fmt (auto), it picks the format. */
static const struct param {
	const char *name;
	size_t slot; /* offset of its const char * in struct enl_render_query */
	int (*got)(const struct enl_render_params *p);
} params[] = {
    {"w", offsetof(struct enl_render_query, w), got_width},
    {"h", offsetof(struct enl_render_query, h), got_height},
    {"fit", offsetof(struct enl_render_query, fit), got_fit},
    {"fmt", offsetof(struct enl_render_query, fmt), got_format},
    {"q", offsetof(struct enl_render_query, q), got_quality},
    {"accept", offsetof(struct enl_render_query, accept), got_format},
};

/* One parameter set to value (NULL: absent) on top of w=400 and nothing else. rc 0: the
 * parameter parses to want; ENL_EINVAL: refused, the message naming the parameter. */
static const struct param_case {
	const char *param, *value;
	int rc, want;
} cases[] = {
    /* w: required, 1 to ENLARGER_MAX_RENDER_WIDTH (4096 here), digits only. */
    {"w", "400", 0, 400},
    {"w", "1", 0, 1},
    {"w", "4096", 0, 4096},
    {"w", NULL, ENL_EINVAL, 0},
    {"w", "0", ENL_EINVAL, 0},
    {"w", "4097", ENL_EINVAL, 0},
    {"w", "-5", ENL_EINVAL, 0},
    {"w", "12abc", ENL_EINVAL, 0},
    {"w", " 12", ENL_EINVAL, 0},
    {"w", "99999999999999999999", ENL_EINVAL, 0},
    /* h: 0 (keep the aspect) to the largest side the core renders. */
    {"h", NULL, 0, 0},
    {"h", "300", 0, 300},
    {"h", "0", 0, 0},
    {"h", "8192", 0, ENL_RENDER_MAX_SIDE},
    {"h", "8193", ENL_EINVAL, 0},
    {"h", "10000", ENL_EINVAL, 0},
    {"h", "x", ENL_EINVAL, 0},
    /* fit: inside (default) or cover. */
    {"fit", NULL, 0, ENL_FIT_INSIDE},
    {"fit", "inside", 0, ENL_FIT_INSIDE},
    {"fit", "cover", 0, ENL_FIT_COVER},
    {"fit", "fill", ENL_EINVAL, 0},
    {"fit", "COVER", ENL_EINVAL, 0},
    /* fmt: a format name as written, or auto (default; JPEG without an Accept). */
    {"fmt", NULL, 0, ENL_FMT_JPEG},
    {"fmt", "auto", 0, ENL_FMT_JPEG},
    {"fmt", "webp", 0, ENL_FMT_WEBP},
    {"fmt", "jpeg", 0, ENL_FMT_JPEG},
    {"fmt", "jpg", 0, ENL_FMT_JPEG},
    {"fmt", "png", 0, ENL_FMT_PNG},
    {"fmt", "avif", 0, ENL_FMT_AVIF},
    {"fmt", "gif", ENL_EINVAL, 0},
    {"fmt", "WEBP", ENL_EINVAL, 0},
    {"fmt", "", ENL_EINVAL, 0},
    /* q: 1 to 100; absent is ENLARGER_RENDER_QUALITY (0 here: the format's default). */
    {"q", NULL, 0, 0},
    {"q", "90", 0, 90},
    {"q", "1", 0, 1},
    {"q", "100", 0, 100},
    {"q", "0", ENL_EINVAL, 0},
    {"q", "101", ENL_EINVAL, 0},
    /* Accept, with fmt auto. */
    {"accept", "image/webp", 0, ENL_FMT_WEBP},
    {"accept", "image/avif", 0, ENL_FMT_AVIF},
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

/* With an allow-list, only its widths pass, and the refusal lists them. */
static const struct width_case {
	const char *w;
	int rc;
} allowed[] = {
    {"640", 0},
    {"320", 0},
    {"641", ENL_EINVAL},
    {"400", ENL_EINVAL},
};

static const struct param *param_named(const char *name)
{
	for (size_t i = 0; i < sizeof(params) / sizeof(params[0]); i++)
		if (strcmp(params[i].name, name) == 0)
			return &params[i];
	return NULL;
}

static int parse_one(const struct enl_config *c, const char *name, const char *value,
                     struct enl_render_params *p, struct enl_errmsg *e)
{
	struct enl_render_query q = {.w = "400"};
	const struct param *pm = param_named(name);
	REQUIRE(pm != NULL);
	*(const char **)((char *)&q + pm->slot) = value;
	memset(e, 0, sizeof(*e));
	return enl_render_params_parse(c, &q, p, e);
}

int main(void)
{
	struct enl_config c;
	struct enl_render_params p;
	struct enl_errmsg e;

	memset(&c, 0, sizeof(c));
	c.max_render_width = 4096;
	c.render_widths.any = 1;

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

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const struct param_case *k = &cases[i];
		int rc = parse_one(&c, k->param, k->value, &p, &e);
		char named[32];
		snprintf(named, sizeof(named), "parameter %s", k->param);
		check_count++;
		if (rc != k->rc) {
			check_failures++;
			fprintf(stderr, "%s=%s: rc %d, want %d (%s)\n", k->param,
			        k->value ? k->value : "(absent)", rc, k->rc, e.text);
		} else if (rc == 0 && param_named(k->param)->got(&p) != k->want) {
			check_failures++;
			fprintf(stderr, "%s=%s: parsed %d, want %d\n", k->param,
			        k->value ? k->value : "(absent)", param_named(k->param)->got(&p),
			        k->want);
		} else if (rc != 0 && !strstr(e.text, named)) {
			check_failures++;
			fprintf(stderr, "%s=%s: \"%s\" does not name the parameter\n", k->param,
			        k->value ? k->value : "(absent)", e.text);
		}
	}

	/* fmt=auto (or none) says the answer varies with Accept; a named format does not. */
	REQUIRE(parse_one(&c, "fmt", NULL, &p, &e) == 0);
	CHECK_INT_EQ(p.fmt_auto, 1);
	REQUIRE(parse_one(&c, "fmt", "auto", &p, &e) == 0);
	CHECK_INT_EQ(p.fmt_auto, 1);
	REQUIRE(parse_one(&c, "fmt", "png", &p, &e) == 0);
	CHECK_INT_EQ(p.fmt_auto, 0);

	/* Without q, ENLARGER_RENDER_QUALITY when it is set. */
	c.render_quality_default = 75;
	REQUIRE(parse_one(&c, "q", NULL, &p, &e) == 0);
	CHECK_INT_EQ(p.req.quality, 75);
	c.render_quality_default = 0;

	c.render_widths.any = 0;
	c.render_widths.n = 3;
	c.render_widths.v[0] = 320;
	c.render_widths.v[1] = 640;
	c.render_widths.v[2] = 1280;
	for (size_t i = 0; i < sizeof(allowed) / sizeof(allowed[0]); i++) {
		CHECK_INT_EQ(parse_one(&c, "w", allowed[i].w, &p, &e), allowed[i].rc);
		if (allowed[i].rc)
			CHECK(strstr(e.text, "320, 640, 1280") != NULL);
	}
	return check_done();
}

/* /render query parameters and Accept negotiation: pure, unit-tested
 * (tests/unit/test_render_params.c). */
#include "enlarger/service.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "enlarger/defaults.h"

/* A decimal integer in [min, max] with nothing around it. */
static int parse_int(const char *s, int min, int max, int *out)
{
	char *end = NULL;
	if (!s || !isdigit((unsigned char)s[0]))
		return ENL_EINVAL;
	errno = 0;
	long v = strtol(s, &end, 10);
	if (errno || *end != '\0' || v < min || v > max)
		return ENL_EINVAL;
	*out = (int)v;
	return 0;
}

/* Query values are matched as written, as fit's are: "WEBP" is not a format here. */
static int is_lower(const char *s)
{
	for (; *s; s++)
		if (isupper((unsigned char)*s))
			return 0;
	return 1;
}

/* The q value of one media range's parameters ("; q=0.5"): 1000 = q=1. */
static int qvalue(const char *params, size_t n)
{
	const char *p = params;
	const char *end = params + n;
	while (p < end) {
		while (p < end && (*p == ';' || *p == ' ' || *p == '\t'))
			p++;
		if (end - p >= 2 && (p[0] == 'q' || p[0] == 'Q') && p[1] == '=') {
			p += 2;
			int v = 0, scale = 1000;
			if (p < end && *p == '1')
				return 1000;
			if (p < end && *p == '0') {
				p++;
				if (p < end && *p == '.') {
					p++;
					while (p < end && isdigit((unsigned char)*p) && scale > 1) {
						scale /= 10;
						v += (*p - '0') * scale;
						p++;
					}
				}
				return v;
			}
			return 0; /* malformed q: treat as not acceptable */
		}
		while (p < end && *p != ';')
			p++;
	}
	return 1000;
}

/* 1 when accept names type explicitly with q > 0. Wildcards do not count: "image/any"
 * says nothing about AVIF support, so it falls back to JPEG. */
static int accepts(const char *accept, const char *type)
{
	size_t tl = strlen(type);
	const char *p = accept;
	while (p && *p) {
		size_t n = strcspn(p, ",");
		const char *item = p;
		while (n && (*item == ' ' || *item == '\t')) {
			item++;
			n--;
		}
		size_t mt = strcspn(item, ";,");
		if (mt > n)
			mt = n;
		while (mt && (item[mt - 1] == ' ' || item[mt - 1] == '\t'))
			mt--;
		if (mt == tl && strncasecmp(item, type, tl) == 0) {
			size_t rest = strcspn(item, ",");
			if (qvalue(item + mt, rest - mt) > 0)
				return 1;
		}
		p += strcspn(p, ",");
		if (*p == ',')
			p++;
	}
	return 0;
}

enum enl_format enl_accept_pick(const char *accept)
{
	if (!accept)
		return ENL_FMT_JPEG;
	if (accepts(accept, "image/avif"))
		return ENL_FMT_AVIF;
	if (accepts(accept, "image/webp"))
		return ENL_FMT_WEBP;
	return ENL_FMT_JPEG;
}

static void list_widths(const struct enl_config *c, char *out, size_t outsz)
{
	size_t o = 0;
	out[0] = '\0';
	for (int i = 0; i < c->render_widths.n && o < outsz; i++) {
		int n = snprintf(out + o, outsz - o, "%s%d", i ? ", " : "", c->render_widths.v[i]);
		if (n < 0)
			break;
		o += (size_t)n;
	}
}

int enl_render_params_parse(const struct enl_config *c, const struct enl_render_query *q,
                            struct enl_render_params *out, struct enl_errmsg *e)
{
	memset(out, 0, sizeof(*out));
	out->req.fit = ENL_FIT_INSIDE;
	out->req.quality = c->render_quality_default;

	if (!q->w)
		return enl_fail(e, ENL_EINVAL, "parameter w is required (1 to %d)",
		                c->max_render_width);
	if (parse_int(q->w, 1, c->max_render_width, &out->req.width))
		return enl_fail(e, ENL_EINVAL, "parameter w must be an integer from 1 to %d",
		                c->max_render_width);
	if (!c->render_widths.any) {
		int ok = 0;
		for (int i = 0; i < c->render_widths.n; i++)
			ok |= c->render_widths.v[i] == out->req.width;
		if (!ok) {
			char list[256];
			list_widths(c, list, sizeof(list));
			return enl_fail(e, ENL_EINVAL, "parameter w must be one of: %s", list);
		}
	}
	if (q->h && parse_int(q->h, 0, ENL_RENDER_MAX_SIDE, &out->req.height))
		return enl_fail(e, ENL_EINVAL, "parameter h must be an integer from 0 to %d",
		                ENL_RENDER_MAX_SIDE);
	if (q->fit) {
		if (strcmp(q->fit, "inside") == 0)
			out->req.fit = ENL_FIT_INSIDE;
		else if (strcmp(q->fit, "cover") == 0)
			out->req.fit = ENL_FIT_COVER;
		else
			return enl_fail(e, ENL_EINVAL, "parameter fit must be inside or cover");
	}
	if (q->q && parse_int(q->q, 1, 100, &out->req.quality))
		return enl_fail(e, ENL_EINVAL, "parameter q must be an integer from 1 to 100");

	if (!q->fmt || strcmp(q->fmt, "auto") == 0) {
		out->fmt_auto = 1;
		out->req.format = enl_accept_pick(q->accept);
	} else if (!is_lower(q->fmt) || enl_format_parse(q->fmt, &out->req.format)) {
		return enl_fail(e, ENL_EINVAL,
		                "parameter fmt must be webp, jpeg, png, avif or auto");
	}
	return 0;
}

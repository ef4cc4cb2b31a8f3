/* /render query parameters, their canonical form and Accept negotiation: pure,
 * unit-tested (tests/unit/test_render_params.c). The rules are docs/keys.md's
 * "Canonical requests". */
#include "enlarger/service.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "enlarger/defaults.h"

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

/* The parameters a /render URL may carry, each at most once. */
static const char *const known[] = {"w", "h", "fit", "fmt", "q", "v", "sig"};
enum { P_W, P_H, P_FIT, P_FMT, P_Q, P_V, P_SIG, P_COUNT };

/* A name or value as sent, for a message: printable ASCII only (a client's bytes go into
 * a JSON body), and short. */
static void shown(char *out, size_t cap, const char *s, size_t n)
{
	size_t o = 0, i;
	for (i = 0; i < n && o + 4 < cap; i++)
		out[o++] = s[i] > 0x20 && s[i] < 0x7f ? s[i] : '?';
	out[o] = '\0';
	if (i < n)
		memcpy(out + o, "...", 4);
}

/* Canonical decimal, as sent: 1 to 5 digits, no leading zero, sign, space or escape,
 * at most max. */
static int canonical_int(const char *s, size_t n, int max, int *out)
{
	int v = 0;
	if (!s || n == 0 || n > 5 || s[0] == '0')
		return ENL_EINVAL;
	for (size_t i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return ENL_EINVAL;
		v = v * 10 + (s[i] - '0');
	}
	if (v > max)
		return ENL_EINVAL;
	*out = v;
	return 0;
}

static int is_token(const char *s, size_t n, const char *token)
{
	return s && strlen(token) == n && memcmp(s, token, n) == 0;
}

/* The refusal of a value of name that is not in l: "parameter w must be one of: 64, 128,
 * ...", or for "any", an integer up to max. */
static int not_listed(const struct enl_int_list *l, int max, const char *name, struct enl_errmsg *e)
{
	char list[256];
	size_t o = 0;
	if (l->any)
		return enl_fail(e, ENL_EINVAL, "parameter %s must be an integer from 1 to %d", name,
		                max);
	list[0] = '\0';
	for (int i = 0; i < l->n && o < sizeof(list); i++) {
		int n = snprintf(list + o, sizeof(list) - o, "%s%d", i ? ", " : "", l->v[i]);
		if (n < 0)
			break;
		o += (size_t)n;
	}
	return enl_fail(e, ENL_EINVAL, "parameter %s must be one of: %s", name, list);
}

static int listed(const struct enl_int_list *l, int v)
{
	if (l->any)
		return 1;
	for (int i = 0; i < l->n; i++)
		if (l->v[i] == v)
			return 1;
	return 0;
}

/* A width or height: canonical decimal, at most the maximum, from the list. */
static int side(const struct enl_config *c, const char *name, const char *s, size_t n, int *out,
                struct enl_errmsg *e)
{
	if (canonical_int(s, n, c->max_render_width, out) || !listed(&c->render_widths, *out))
		return not_listed(&c->render_widths, c->max_render_width, name, e);
	return 0;
}

int enl_render_params_parse(const struct enl_config *c, const char *raw_query, const char *accept,
                            struct enl_render_params *out, struct enl_errmsg *e)
{
	const char *val[P_COUNT] = {NULL};
	size_t len[P_COUNT] = {0};
	int seen[P_COUNT] = {0};
	char unknown[160] = "", repeated[64] = "";
	const char *p = raw_query ? raw_query : "";

	memset(out, 0, sizeof(*out));
	out->req.fit = ENL_FIT_INSIDE;

	/* The pairs as sent: a name is matched byte for byte (an escaped name is not a
	 * known one), and no value of a known parameter needs an escape. */
	while (*p) {
		size_t n = strcspn(p, "&");
		size_t nl = strcspn(p, "=&");
		int k = -1;
		if (n == 0)
			return enl_fail(
			    e, ENL_EINVAL,
			    "the query has an empty parameter (\"&&\", or \"&\" at an end)");
		for (int i = 0; i < P_COUNT; i++)
			if (is_token(p, nl, known[i]))
				k = i;
		if (k < 0 || seen[k]) {
			char *list = k < 0 ? unknown : repeated;
			size_t cap = k < 0 ? sizeof(unknown) : sizeof(repeated);
			size_t used = strlen(list);
			char name[40];
			shown(name, sizeof(name), p, nl);
			if (!strstr(list, name) && used + strlen(name) + 3 < cap)
				snprintf(list + used, cap - used, "%s%s", used ? ", " : "", name);
		} else {
			seen[k] = 1;
			val[k] = nl < n ? p + nl + 1 : p + n;
			len[k] = nl < n ? n - nl - 1 : 0;
		}
		p += n;
		if (*p == '&') {
			p++;
			if (!*p)
				return enl_fail(
				    e, ENL_EINVAL,
				    "the query has an empty parameter (\"&&\", or \"&\" at an "
				    "end)");
		}
	}
	if (unknown[0] || repeated[0])
		return enl_fail(e, ENL_EINVAL,
		                "%s%s%s%s%s (each of w, h, fit, fmt, q, v, sig at most once)",
		                unknown[0] ? "unknown parameters: " : "", unknown,
		                unknown[0] && repeated[0] ? "; " : "",
		                repeated[0] ? "parameters given more than once: " : "", repeated);

	if (!seen[P_W])
		return enl_fail(e, ENL_EINVAL, "parameter w is required");
	if (side(c, "w", val[P_W], len[P_W], &out->req.width, e))
		return ENL_EINVAL;
	if (seen[P_H]) {
		if (!seen[P_FIT])
			return enl_fail(
			    e, ENL_EINVAL,
			    "parameter h needs fit (inside: within w x h; cover: fill it)");
		if (side(c, "h", val[P_H], len[P_H], &out->req.height, e))
			return ENL_EINVAL;
	}
	if (seen[P_FIT]) {
		if (is_token(val[P_FIT], len[P_FIT], "cover"))
			out->req.fit = ENL_FIT_COVER;
		else if (!is_token(val[P_FIT], len[P_FIT], "inside"))
			return enl_fail(e, ENL_EINVAL, "parameter fit must be inside or cover");
	}
	if (seen[P_Q]) {
		if (c->render_qualities.n == 0)
			return enl_fail(
			    e, ENL_EINVAL,
			    "parameter q is not accepted here: renders have the format's "
			    "default quality");
		if (canonical_int(val[P_Q], len[P_Q], 100, &out->req.quality) ||
		    !listed(&c->render_qualities, out->req.quality))
			return not_listed(&c->render_qualities, 100, "q", e);
	}

	static const char *const fmts[] = {"webp", "jpeg", "png", "avif"};
	static const enum enl_format fmt_ids[] = {ENL_FMT_WEBP, ENL_FMT_JPEG, ENL_FMT_PNG,
	                                          ENL_FMT_AVIF};
	if (!seen[P_FMT] || is_token(val[P_FMT], len[P_FMT], "auto")) {
		out->fmt_auto = 1;
		out->req.format = enl_accept_pick(accept);
	} else {
		int f = -1;
		for (int i = 0; i < 4; i++)
			if (is_token(val[P_FMT], len[P_FMT], fmts[i]))
				f = i;
		if (f < 0)
			return enl_fail(e, ENL_EINVAL,
			                "parameter fmt must be webp, jpeg, png, avif or auto");
		out->req.format = fmt_ids[f];
	}

	if (seen[P_V]) {
		/* The alphabet and length of docs/keys.md's version tag. */
		int ok = len[P_V] >= 1 && len[P_V] <= ENL_VERSION_TAG_MAX;
		for (size_t i = 0; ok && i < len[P_V]; i++) {
			char ch = val[P_V][i];
			ok = (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') || ch == '-';
		}
		if (!ok)
			return enl_fail(
			    e, ENL_EINVAL,
			    "parameter v must be a version tag: the photo item's version "
			    "(1 to %d of a-z, 0-9 and '-')",
			    ENL_VERSION_TAG_MAX);
		memcpy(out->version, val[P_V], len[P_V]);
		out->version[len[P_V]] = '\0';
	}
	if (seen[P_SIG]) {
		int ok = len[P_SIG] == ENL_RENDER_SIG_LEN;
		for (size_t i = 0; ok && i < len[P_SIG]; i++) {
			char ch = val[P_SIG][i];
			ok = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
			     (ch >= '0' && ch <= '9') || ch == '-' || ch == '_';
		}
		if (!ok)
			return enl_fail(
			    e, ENL_EINVAL,
			    "parameter sig must be %d characters of base64url (no padding)",
			    ENL_RENDER_SIG_LEN);
		memcpy(out->sig, val[P_SIG], len[P_SIG]);
		out->sig[len[P_SIG]] = '\0';
	}
	return 0;
}

void enl_render_canonical(const struct enl_config *c, const struct enl_render_params *p, int src_w,
                          int src_h, struct enl_render_req *out)
{
	*out = p->req;
	/* The quality the encoder will use, by number: q equal to the default is no q. */
	if (out->format == ENL_FMT_PNG)
		out->quality = 0;
	else if (out->quality == 0)
		out->quality = c->render_quality_default ? c->render_quality_default
		                                         : enl_format_quality(out->format);
	/* Never upscaled: a side at or past the source's is the source's. Only these
	 * comparisons, never which side binds: that is decided by libvips on the decoded
	 * (shrunk-on-load, rounded) size, so a near tie must keep both sides. */
	if (out->fit == ENL_FIT_COVER && out->height > 0) {
		if (out->width > src_w)
			out->width = src_w;
		if (out->height > src_h)
			out->height = src_h;
		return;
	}
	out->fit = ENL_FIT_INSIDE; /* cover without h is inside */
	if (out->width > src_w)
		out->width = src_w;
	if (out->height >= src_h)
		out->height = 0; /* cannot bind: the width (or the source) does */
}

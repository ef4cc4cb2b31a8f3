/* Fuzz target for the /render query (enl_render_params_parse), its canonical form
 * (enl_render_canonical) and Accept negotiation (enl_accept_pick). The input is the raw
 * query (as sent, without '?') on the first line and the Accept header on the second (a
 * missing line: no header); a first byte '#' turns on lists of widths and qualities
 * (else any width, no q). An accepted query must be canonical (include/enlarger/service.h):
 * every pair a known name given once, every number written as "%d" prints it, h only with
 * fit, values from the lists; and its canonical form never larger than asked nor than the
 * source, and canonical again unchanged. */
#include <stdio.h>

#include "enlarger/config.h"
#include "enlarger/defaults.h"
#include "enlarger/service.h"
#include "fuzz.h"

/* The value of name in the raw query, or NULL (the parser refused repeats already). */
static const char *value_of(const char *q, const char *name, size_t *len)
{
	size_t nl = strlen(name);
	while (*q) {
		size_t n = strcspn(q, "&");
		if (n > nl && strncmp(q, name, nl) == 0 && q[nl] == '=') {
			*len = n - nl - 1;
			return q + nl + 1;
		}
		q += n;
		if (*q == '&')
			q++;
	}
	return NULL;
}

/* Is the raw value exactly "%d" of v? */
static int prints(const char *raw, size_t len, int v)
{
	char b[16];
	int n = snprintf(b, sizeof(b), "%d", v);
	return raw && n > 0 && (size_t)n == len && memcmp(raw, b, len) == 0;
}

static int in_list(const struct enl_int_list *l, int v)
{
	int ok = l->any;
	for (int i = 0; i < l->n; i++)
		ok |= l->v[i] == v;
	return ok;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s = fuzz_cstr(data, size);
	struct enl_config c;
	memset(&c, 0, sizeof(c));
	c.max_render_width = 4096;
	c.render_widths.any = 1;
	char *query = s;
	if (*query == '#') {
		static const int widths[] = {200, 400, 800, 1600};
		memcpy(c.render_widths.v, widths, sizeof(widths));
		c.render_widths.n = 4;
		c.render_widths.any = 0;
		c.render_qualities.v[0] = 50;
		c.render_qualities.v[1] = 90;
		c.render_qualities.n = 2;
		query++;
	}
	char *accept = strchr(query, '\n');
	if (accept)
		*accept++ = 0;
	struct enl_render_params out;
	struct enl_errmsg e = {""};

	enum enl_format pick = enl_accept_pick(accept);
	FUZZ_CHECK(pick == ENL_FMT_AVIF || pick == ENL_FMT_WEBP || pick == ENL_FMT_JPEG);
	if (accept && !strchr(accept, '/'))
		FUZZ_CHECK(pick == ENL_FMT_JPEG); /* no media type at all */

	int rc = enl_render_params_parse(&c, query, accept, &out, &e);
	FUZZ_CHECK(rc == 0 || rc == ENL_EINVAL);
	if (rc != 0) {
		FUZZ_CHECK(e.text[0] != 0);
		free(s);
		return 0;
	}
	size_t wl = 0, hl = 0, ql = 0, fl = 0, ml = 0;
	const char *w = value_of(query, "w", &wl), *h = value_of(query, "h", &hl);
	const char *q = value_of(query, "q", &ql), *fit = value_of(query, "fit", &fl);
	const char *fmt = value_of(query, "fmt", &ml);
	FUZZ_CHECK(prints(w, wl, out.req.width));
	FUZZ_CHECK(out.req.width >= 1 && out.req.width <= c.max_render_width);
	FUZZ_CHECK(in_list(&c.render_widths, out.req.width));
	FUZZ_CHECK(h ? fit && prints(h, hl, out.req.height) &&
	                   in_list(&c.render_widths, out.req.height)
	             : out.req.height == 0);
	FUZZ_CHECK(q ? prints(q, ql, out.req.quality) &&
	                   in_list(&c.render_qualities, out.req.quality)
	             : out.req.quality == 0);
	FUZZ_CHECK(
	    out.req.fit ==
	    (fit && fl == 5 && memcmp(fit, "cover", 5) == 0 ? ENL_FIT_COVER : ENL_FIT_INSIDE));
	FUZZ_CHECK(out.fmt_auto == (!fmt || (ml == 4 && memcmp(fmt, "auto", 4) == 0)));
	if (out.fmt_auto)
		FUZZ_CHECK(out.req.format == pick);
	else
		FUZZ_CHECK(strlen(enl_format_name(out.req.format)) == ml &&
		           memcmp(enl_format_name(out.req.format), fmt, ml) == 0);
	FUZZ_CHECK(strlen(out.sig) == 0 || strlen(out.sig) == ENL_RENDER_SIG_LEN);
	FUZZ_CHECK(strspn(out.version, "abcdefghijklmnopqrstuvwxyz0123456789-") ==
	           strlen(out.version));

	/* The canonical form for a few sources: never past what was asked nor the source,
	 * and a fixed point. */
	static const int dims[][2] = {{1, 1}, {300, 200}, {200, 300}, {800, 800}, {9000, 50}};
	for (size_t i = 0; i < sizeof(dims) / sizeof(dims[0]); i++) {
		struct enl_render_req r, r2;
		struct enl_render_params again = out;
		enl_render_canonical(&c, &out, dims[i][0], dims[i][1], &r);
		FUZZ_CHECK(r.width >= 1 && r.width <= out.req.width && r.width <= dims[i][0]);
		FUZZ_CHECK(r.height >= 0 && r.height <= out.req.height && r.height <= dims[i][1]);
		FUZZ_CHECK(r.fit == ENL_FIT_INSIDE || r.height > 0);
		FUZZ_CHECK(r.format == out.req.format);
		FUZZ_CHECK(r.format == ENL_FMT_PNG ? r.quality == 0
		                                   : r.quality >= 1 && r.quality <= 100);
		again.req = r;
		enl_render_canonical(&c, &again, dims[i][0], dims[i][1], &r2);
		FUZZ_CHECK(memcmp(&r, &r2, sizeof(r)) == 0);
	}
	free(s);
	return 0;
}

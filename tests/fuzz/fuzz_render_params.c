/* Fuzz target for the /render query (enl_render_params_parse) and Accept negotiation
 * (enl_accept_pick). The input is up to six lines: w, h, fit, fmt, q and Accept (a
 * missing line is an absent parameter); the first byte, when it is '#', turns on an
 * allow-list of widths. An accepted query must hold only values its rules allow
 * (include/enlarger/service.h): w a decimal in 1..max (and in the allow-list), h in
 * 0..4*max, q in 1..100, fmt=auto resolved by the Accept header. */
#include "enlarger/config.h"
#include "enlarger/defaults.h"
#include "enlarger/service.h"
#include "fuzz.h"

/* The decimal digits of s as a number, or -1 when s is not all digits or too large. */
static long digits(const char *s)
{
	size_t n = strlen(s);
	if (n == 0 || strspn(s, "0123456789") != n)
		return -1;
	while (n > 1 && *s == '0')
		s++, n--;
	if (n > 9)
		return -1;
	long v = 0;
	for (size_t i = 0; i < n; i++)
		v = v * 10 + (s[i] - '0');
	return v;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s = fuzz_cstr(data, size);
	struct enl_config c;
	memset(&c, 0, sizeof(c));
	c.max_render_width = 4096;
	c.render_widths.any = 1;
	char *p = s;
	if (*p == '#') {
		static const int widths[] = {200, 400, 800, 1600};
		memcpy(c.render_widths.v, widths, sizeof(widths));
		c.render_widths.n = 4;
		c.render_widths.any = 0;
		p++;
	}
	const char *v[6] = {NULL};
	for (int i = 0; i < 6 && p; i++) {
		v[i] = p;
		p = strchr(p, '\n');
		if (p)
			*p++ = 0;
	}
	struct enl_render_query q = {v[0], v[1], v[2], v[3], v[4], v[5]};
	struct enl_render_params out;
	struct enl_errmsg e = {""};

	enum enl_format pick = enl_accept_pick(q.accept);
	FUZZ_CHECK(pick == ENL_FMT_AVIF || pick == ENL_FMT_WEBP || pick == ENL_FMT_JPEG);
	if (q.accept && !strchr(q.accept, '/'))
		FUZZ_CHECK(pick == ENL_FMT_JPEG); /* no media type at all */

	int rc = enl_render_params_parse(&c, &q, &out, &e);
	FUZZ_CHECK(rc == 0 || rc == ENL_EINVAL);
	if (rc == 0) {
		FUZZ_CHECK(q.w && digits(q.w) == out.req.width);
		FUZZ_CHECK(out.req.width >= 1 && out.req.width <= c.max_render_width);
		int listed = c.render_widths.any;
		for (int i = 0; i < c.render_widths.n; i++)
			listed |= c.render_widths.v[i] == out.req.width;
		FUZZ_CHECK(listed);
		FUZZ_CHECK(q.h ? digits(q.h) == out.req.height : out.req.height == 0);
		FUZZ_CHECK(out.req.height >= 0 && out.req.height <= ENL_RENDER_MAX_SIDE);
		FUZZ_CHECK(q.q ? digits(q.q) == out.req.quality : out.req.quality == 0);
		FUZZ_CHECK(out.req.quality >= 0 && out.req.quality <= 100);
		FUZZ_CHECK(out.req.fit ==
		           (q.fit && strcmp(q.fit, "cover") == 0 ? ENL_FIT_COVER : ENL_FIT_INSIDE));
		FUZZ_CHECK(out.fmt_auto == (!q.fmt || strcmp(q.fmt, "auto") == 0));
		if (out.fmt_auto)
			FUZZ_CHECK(out.req.format == pick);
		else
			FUZZ_CHECK(strcmp(enl_format_name(out.req.format), q.fmt) == 0 ||
			           (out.req.format == ENL_FMT_JPEG && strcmp(q.fmt, "jpg") == 0));
	} else {
		FUZZ_CHECK(e.text[0] != 0);
	}
	free(s);
	return 0;
}

/* /render parameter parsing and Accept negotiation. */
#include <string.h>

#include "check.h"
#include "enlarger/service.h"

static int parse(const struct enl_config *c, const char *w, const char *h, const char *fit,
                 const char *fmt, const char *q, const char *accept, struct enl_render_params *p,
                 struct enl_errmsg *e)
{
	struct enl_render_query rq = {w, h, fit, fmt, q, accept};
	memset(e, 0, sizeof(*e));
	return enl_render_params_parse(c, &rq, p, e);
}

int main(void)
{
	struct enl_config c;
	struct enl_render_params p;
	struct enl_errmsg e;

	memset(&c, 0, sizeof(c));
	c.max_render_width = 4096;

	/* Accept negotiation: avif, then webp, then jpeg; explicit types only; q=0 refuses. */
	CHECK_INT_EQ(enl_accept_pick(NULL), ENL_FMT_JPEG);
	CHECK_INT_EQ(enl_accept_pick(""), ENL_FMT_JPEG);
	CHECK_INT_EQ(enl_accept_pick("*/*"), ENL_FMT_JPEG);
	CHECK_INT_EQ(enl_accept_pick("image/*"), ENL_FMT_JPEG);
	CHECK_INT_EQ(enl_accept_pick("image/avif,image/webp,image/apng,image/*,*/*;q=0.8"),
	             ENL_FMT_AVIF);
	CHECK_INT_EQ(enl_accept_pick("image/webp,*/*"), ENL_FMT_WEBP);
	CHECK_INT_EQ(enl_accept_pick("image/avif;q=0, image/webp;q=0.5"), ENL_FMT_WEBP);
	CHECK_INT_EQ(enl_accept_pick("image/avif;q=0.0,image/webp;q=0"), ENL_FMT_JPEG);
	CHECK_INT_EQ(enl_accept_pick("IMAGE/WEBP"), ENL_FMT_WEBP);
	CHECK_INT_EQ(enl_accept_pick("image/avif ; q=0.001"), ENL_FMT_AVIF);
	CHECK_INT_EQ(enl_accept_pick("image/avifx,image/webpp"), ENL_FMT_JPEG);
	CHECK_INT_EQ(enl_accept_pick("text/html, image/webp ;q=1.0"), ENL_FMT_WEBP);

	/* w required and bounded. */
	CHECK_INT_EQ(parse(&c, NULL, NULL, NULL, NULL, NULL, NULL, &p, &e), ENL_EINVAL);
	CHECK(strstr(e.text, "w") != NULL);
	CHECK_INT_EQ(parse(&c, "0", NULL, NULL, NULL, NULL, NULL, &p, &e), ENL_EINVAL);
	CHECK_INT_EQ(parse(&c, "4097", NULL, NULL, NULL, NULL, NULL, &p, &e), ENL_EINVAL);
	CHECK_INT_EQ(parse(&c, "-5", NULL, NULL, NULL, NULL, NULL, &p, &e), ENL_EINVAL);
	CHECK_INT_EQ(parse(&c, "12abc", NULL, NULL, NULL, NULL, NULL, &p, &e), ENL_EINVAL);
	CHECK_INT_EQ(parse(&c, " 12", NULL, NULL, NULL, NULL, NULL, &p, &e), ENL_EINVAL);
	CHECK_INT_EQ(parse(&c, "99999999999999999999", NULL, NULL, NULL, NULL, NULL, &p, &e),
	             ENL_EINVAL);

	/* Defaults: inside, auto, default quality. */
	REQUIRE(parse(&c, "400", NULL, NULL, NULL, NULL, "image/webp", &p, &e) == 0);
	CHECK_INT_EQ(p.req.width, 400);
	CHECK_INT_EQ(p.req.height, 0);
	CHECK_INT_EQ(p.req.fit, ENL_FIT_INSIDE);
	CHECK_INT_EQ(p.req.format, ENL_FMT_WEBP);
	CHECK_INT_EQ(p.req.quality, 0);
	CHECK_INT_EQ(p.fmt_auto, 1);

	REQUIRE(parse(&c, "400", "300", "cover", "png", "90", "image/webp", &p, &e) == 0);
	CHECK_INT_EQ(p.req.height, 300);
	CHECK_INT_EQ(p.req.fit, ENL_FIT_COVER);
	CHECK_INT_EQ(p.req.format, ENL_FMT_PNG);
	CHECK_INT_EQ(p.req.quality, 90);
	CHECK_INT_EQ(p.fmt_auto, 0);
	REQUIRE(parse(&c, "400", NULL, NULL, "jpeg", NULL, NULL, &p, &e) == 0);
	CHECK_INT_EQ(p.req.format, ENL_FMT_JPEG);
	REQUIRE(parse(&c, "400", NULL, NULL, "avif", NULL, NULL, &p, &e) == 0);
	CHECK_INT_EQ(p.req.format, ENL_FMT_AVIF);
	REQUIRE(parse(&c, "400", NULL, NULL, "auto", NULL, "image/avif", &p, &e) == 0);
	CHECK_INT_EQ(p.req.format, ENL_FMT_AVIF);

	/* Each bad parameter is named. */
	CHECK_INT_EQ(parse(&c, "400", "x", NULL, NULL, NULL, NULL, &p, &e), ENL_EINVAL);
	CHECK(strstr(e.text, "parameter h") != NULL);
	CHECK_INT_EQ(parse(&c, "400", NULL, "fill", NULL, NULL, NULL, &p, &e), ENL_EINVAL);
	CHECK(strstr(e.text, "parameter fit") != NULL);
	CHECK_INT_EQ(parse(&c, "400", NULL, NULL, "gif", NULL, NULL, &p, &e), ENL_EINVAL);
	CHECK(strstr(e.text, "parameter fmt") != NULL);
	CHECK_INT_EQ(parse(&c, "400", NULL, NULL, NULL, "0", NULL, &p, &e), ENL_EINVAL);
	CHECK(strstr(e.text, "parameter q") != NULL);
	CHECK_INT_EQ(parse(&c, "400", NULL, NULL, NULL, "101", NULL, &p, &e), ENL_EINVAL);

	/* The allow-list refuses other widths and lists the allowed ones. */
	c.n_render_widths = 3;
	c.render_widths[0] = 320;
	c.render_widths[1] = 640;
	c.render_widths[2] = 1280;
	CHECK(parse(&c, "640", NULL, NULL, NULL, NULL, NULL, &p, &e) == 0);
	CHECK_INT_EQ(parse(&c, "641", NULL, NULL, NULL, NULL, NULL, &p, &e), ENL_EINVAL);
	CHECK(strstr(e.text, "320, 640, 1280") != NULL);
	return check_done();
}

/* `enlarger sign URL`: prints URL with its /render signature (ENLARGER_RENDER_SIGNING_KEY;
 * docs/signing.md), after checking that the service would take its query. URL is
 * "https://host/render/<key>?..." or just the path and query, percent-encoded as it will be
 * sent; a sig already in it is replaced. */
#include "cmd.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "enlarger/config.h"
#include "enlarger/service.h"

/* The query without its sig pairs, in the order given, into out (as long as query). */
static void without_sig(const char *query, char *out)
{
	size_t o = 0;
	for (const char *p = query; *p;) {
		size_t n = strcspn(p, "&");
		if (!(n >= 4 && memcmp(p, "sig=", 4) == 0)) {
			if (o)
				out[o++] = '&';
			memcpy(out + o, p, n);
			o += n;
		}
		p += n;
		if (*p == '&')
			p++;
	}
	out[o] = '\0';
}

int enl_cmd_sign(int argc, char **argv)
{
	struct enl_config cfg;
	struct enl_errmsg e = {{0}};
	struct enl_render_params p;
	char sig[ENL_RENDER_SIG_LEN + 1];
	char *url = NULL, *query = NULL;
	int rc = 2;

	if (argc != 2 || argv[1][0] == '-') {
		fprintf(stderr,
		        "usage: enlarger sign URL   (https://host/render/<key>?w=...&v=...)\n");
		return 2;
	}
	if (enl_config_load(&cfg, NULL, NULL, &e)) {
		fprintf(stderr, "enlarger: %s\n", e.text);
		return 2;
	}
	if (!cfg.render_signing_key[0]) {
		fprintf(stderr, "enlarger: ENLARGER_RENDER_SIGNING_KEY is not set\n");
		return 2;
	}
	url = strdup(argv[1]);
	query = strdup(argv[1]);
	if (!url || !query) {
		fprintf(stderr, "enlarger: out of memory\n");
		goto done;
	}
	/* The path starts at the first '/' after the authority, if there is one. */
	char *scheme = strstr(url, "://");
	char *path = scheme ? strchr(scheme + 3, '/') : url;
	if (!path || strncmp(path, "/render/", 8) != 0 || strchr(url, '#')) {
		fprintf(stderr,
		        "enlarger: %s is not a /render URL (https://host/render/<key>?..., "
		        "no fragment)\n",
		        argv[1]);
		goto done;
	}
	char *q = strchr(path, '?');
	if (q)
		*q++ = '\0';
	without_sig(q ? q : "", query);
	if (enl_render_params_parse(&cfg, query, NULL, &p, &e)) {
		fprintf(stderr, "enlarger: the service would refuse this URL: %s\n", e.text);
		goto done;
	}
	if (enl_render_sign(cfg.render_signing_key, path, query, sig)) {
		fprintf(stderr, "enlarger: cannot compute the signature\n");
		goto done;
	}
	printf("%s?%s%ssig=%s\n", url, query, query[0] ? "&" : "", sig);
	rc = 0;
done:
	free(url);
	free(query);
	return rc;
}

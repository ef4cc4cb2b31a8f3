/* The processing core alone, without HTTP or a store: for profiling (perf, callgrind) and
 * for before/after numbers of CPU levers. Not part of the service.
 *
 *   corebench render FILE [N [WIDTH [FMT]]]   enl_pipeline_render N times (default 400 webp)
 *   corebench process FILE [N]                enl_pipeline_process N times
 *   corebench mezzanine FILE [N [WIDTH [FMT]]] processes FILE once, then renders from its
 *                                             mezzanine N times, as a /render miss does
 *
 * Prints the median, min and max wall time per call in ms, and the CPU time (user + system,
 * all threads) per call. CB_OUT=FILE keeps the last
 * render's bytes; CB_THREADS=N is the job's share of the cores (enl_pipeline_opts.threads,
 * default 1). Build (after
 * `cmake -S . -B build/rel -DCMAKE_BUILD_TYPE=Release && cmake --build build/rel`):
 *
 *   cc -O2 -std=c11 -Iinclude -o build/rel/corebench bench/corebench.c \
 *     build/rel/libenl_core.a build/rel/libenl_util.a \
 *     $(pkg-config --cflags --libs vips libexif jansson libcrypto libwebp libjpeg) -ldl -lm
 * -lpthread */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include "enlarger/fs.h"
#include "enlarger/pipeline.h"

#include "bench_util.h"

int main(int argc, char **argv)
{
	struct enl_pipeline_opts o;
	struct enl_errmsg e = {{0}};
	struct enl_buf in;
	size_t out_len = 0;
	double *t, cpu0, cpu;
	struct rusage ru;
	struct enl_render_req mezz = {0}; /* mezzanine: what each render asks */
	int n, i, rc = 0, process;

	if (argc < 3 || (strcmp(argv[1], "render") && strcmp(argv[1], "process") &&
	                 strcmp(argv[1], "mezzanine"))) {
		fprintf(stderr,
		        "usage: corebench render|process|mezzanine FILE [N [WIDTH [FMT]]]\n");
		return 2;
	}
	process = strcmp(argv[1], "process") == 0;
	n = argc > 3 ? atoi(argv[3]) : 5;
	if (n < 1)
		n = 1;
	if (enl_file_read(argv[2], 0, &in, &e)) {
		fprintf(stderr, "corebench: %s\n", e.text);
		return 1;
	}
	if (enl_pipeline_init(argv[0]))
		return 1;
	enl_pipeline_opts_default(&o);
	if (getenv("CB_THREADS"))
		o.threads = atoi(getenv("CB_THREADS"));
	if (strcmp(argv[1], "mezzanine") == 0) {
		/* The source becomes the mezzanine; renders name the original as /render does. */
		struct enl_pipeline_result res;
		o.mezzanine = 1;
		if (enl_pipeline_process(in.data, in.len, &o, NULL, &res, &e) ||
		    !res.mezzanine.bytes.len) {
			fprintf(stderr, "corebench: no mezzanine: %s\n", e.text);
			return 1;
		}
		mezz.original_width = res.width;
		mezz.original_jpeg = strcmp(res.source_format, "jpeg") == 0;
		mezz.exact = 1;
		enl_render_inside_size(res.width, res.height, argc > 4 ? atoi(argv[4]) : 400, 0,
		                       &mezz.width, &mezz.height);
		enl_buf_free(&in);
		in = res.mezzanine.bytes;
		enl_buf_init(&res.mezzanine.bytes, 0);
		enl_pipeline_result_free(&res);
	}
	t = calloc((size_t)n, sizeof(*t));
	getrusage(RUSAGE_SELF, &ru);
	cpu0 = ru.ru_utime.tv_sec * 1e3 + ru.ru_utime.tv_usec / 1e3 + ru.ru_stime.tv_sec * 1e3 +
	       ru.ru_stime.tv_usec / 1e3;
	for (i = 0; i < n && rc == 0; i++) {
		double t0 = now_ms();
		if (process) {
			struct enl_pipeline_result res;
			rc = enl_pipeline_process(in.data, in.len, &o, NULL, &res, &e);
			if (rc == 0) {
				out_len = res.out[0][0].bytes.len + res.out[0][1].bytes.len +
				          res.out[1][0].bytes.len + res.out[1][1].bytes.len;
				enl_pipeline_result_free(&res);
			}
		} else {
			struct enl_render_req req = mezz;
			struct enl_output out;
			if (!req.exact)
				req.width = argc > 4 ? atoi(argv[4]) : 400;
			req.format = ENL_FMT_WEBP;
			if (argc > 5 && enl_format_parse(argv[5], &req.format)) {
				fprintf(stderr, "corebench: unknown format %s\n", argv[5]);
				return 2;
			}
			rc = enl_pipeline_render(in.data, in.len, &o, NULL, &req, &out, &e);
			if (rc == 0) {
				const char *path = getenv("CB_OUT");
				FILE *f = path ? fopen(path, "wb") : NULL;
				if (f) {
					fwrite(out.bytes.data, 1, out.bytes.len, f);
					fclose(f);
				}
				out_len = out.bytes.len;
				enl_buf_free(&out.bytes);
			}
		}
		t[i] = now_ms() - t0;
	}
	if (rc) {
		fprintf(stderr, "corebench: %s\n", e.text);
		return 1;
	}
	qsort(t, (size_t)n, sizeof(*t), cmp_double);
	getrusage(RUSAGE_SELF, &ru);
	cpu = ru.ru_utime.tv_sec * 1e3 + ru.ru_utime.tv_usec / 1e3 + ru.ru_stime.tv_sec * 1e3 +
	      ru.ru_stime.tv_usec / 1e3 - cpu0;
	printf("%s %s: median %.1f ms (min %.1f, max %.1f), CPU %.1f ms a call, N=%d, %zu bytes "
	       "out\n",
	       argv[1], argv[2], t[n / 2], t[0], t[n - 1], cpu / n, n, out_len);
	free(t);
	enl_buf_free(&in);
	enl_pipeline_shutdown();
	return 0;
}

/* `enlarger process FILE [--out DIR]`: the core on a local file, no store and no
 * table. Writes <name>-thumb.webp, <name>-thumb.jpg, <name>-optimized.webp and
 * <name>-optimized.jpg into DIR (default .) and prints the result JSON, the same
 * flat fields POST /process stores (keys are the files written). */
#include "cmd.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "enlarger/config.h"
#include "enlarger/fs.h"
#include "enlarger/log.h"
#include "enlarger/pipeline.h"
#include "enlarger/service.h"

/* Writes via a temporary file and rename, so a reader never sees half a file. */
static int write_file(const char *path, const struct enl_buf *b, struct enl_errmsg *e)
{
	char tmp[4200];
	int rc = 0;
	snprintf(tmp, sizeof(tmp), "%s.tmp.%ld", path, (long)getpid());
	FILE *f = fopen(tmp, "wb");
	if (!f)
		return enl_fail(e, ENL_EIO, "cannot write %s: %s", path, strerror(errno));
	if (fwrite(b->data, 1, b->len, f) != b->len)
		rc = ENL_EIO;
	if (fclose(f))
		rc = ENL_EIO;
	if (rc == 0 && rename(tmp, path))
		rc = ENL_EIO;
	if (rc) {
		unlink(tmp);
		return enl_fail(e, ENL_EIO, "cannot write %s: %s", path, strerror(errno));
	}
	return 0;
}

static void stem_of(const char *path, char *out, size_t outsz)
{
	const char *base = strrchr(path, '/');
	base = base ? base + 1 : path;
	size_t n = strlen(base);
	const char *dot = strrchr(base, '.');
	if (dot && dot != base)
		n = (size_t)(dot - base);
	if (n >= outsz)
		n = outsz - 1;
	memcpy(out, base, n);
	out[n] = '\0';
}

int enl_cmd_process(int argc, char **argv)
{
	static const char *suffix[ENL_DERIV_COUNT][2] = {{"thumb.webp", "thumb.jpg"},
	                                                 {"optimized.webp", "optimized.jpg"}};
	const char *file = NULL, *dir = ".";
	struct enl_config cfg;
	struct enl_pipeline_opts po;
	struct enl_pipeline_result res;
	struct enl_buf data = ENL_BUF_INIT;
	struct enl_errmsg e = {{0}};
	char paths[ENL_DERIV_COUNT][2][4096];
	const char *kp[ENL_DERIV_COUNT][2];
	char stem[256];
	json_t *fields = NULL;
	int have_res = 0, pipeline_ready = 0, code = 1, rc;

	memset(&res, 0, sizeof(res));
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--out") == 0 && i + 1 < argc) {
			dir = argv[++i];
		} else if (argv[i][0] == '-' && argv[i][1]) {
			fprintf(stderr, "usage: enlarger process FILE [--out DIR]\n");
			return 2;
		} else if (!file) {
			file = argv[i];
		} else {
			fprintf(stderr, "usage: enlarger process FILE [--out DIR]\n");
			return 2;
		}
	}
	if (!file) {
		fprintf(stderr, "usage: enlarger process FILE [--out DIR]\n");
		return 2;
	}
	if (enl_config_load(&cfg, NULL, NULL, &e)) {
		fprintf(stderr, "enlarger: %s\n", e.text);
		return 2;
	}
	enl_log_set_level(cfg.log_level > ENL_LOG_WARN ? (enum enl_log_level)cfg.log_level
	                                               : ENL_LOG_WARN);
	enl_app_pipeline_opts(&po, &cfg);
	po.threads = (int)sysconf(_SC_NPROCESSORS_ONLN); /* the one job: every core */
	po.mezzanine = 0; /* only the service keeps one, for its renders */

	if ((rc = enl_file_read(file, cfg.max_input_bytes, &data, &e)))
		goto fail;
	if (enl_pipeline_init(argv[0])) {
		rc = enl_fail(&e, ENL_EINTERNAL, "libvips did not start");
		goto fail;
	}
	pipeline_ready = 1;
	if ((rc = enl_pipeline_process(data.data, data.len, &po, NULL, &res, &e)))
		goto fail;
	have_res = 1;
	if (mkdir(dir, 0755) && errno != EEXIST) {
		rc = enl_fail(&e, ENL_EIO, "cannot create %s: %s", dir, strerror(errno));
		goto fail;
	}
	stem_of(file, stem, sizeof(stem));
	for (int d = 0; d < ENL_DERIV_COUNT; d++) {
		for (int k = 0; k < 2; k++) {
			snprintf(paths[d][k], sizeof(paths[d][k]), "%s/%s-%s", dir, stem,
			         suffix[d][k]);
			if ((rc = write_file(paths[d][k], &res.out[d][k].bytes, &e)))
				goto fail;
			kp[d][k] = paths[d][k];
		}
	}
	fields = enl_service_fields(&res, kp, NULL);
	if (!fields) {
		rc = enl_fail(&e, ENL_ENOMEM, "out of memory");
		goto fail;
	}
	json_dumpf(fields, stdout, JSON_INDENT(2) | JSON_SORT_KEYS | JSON_REAL_PRECISION(15));
	fputc('\n', stdout);
	code = 0;
	goto done;
fail:
	fprintf(stderr, "enlarger: %s: %s (%s)\n", file, e.text[0] ? e.text : "failed",
	        enl_err_name(rc));
	/* 3 for a verdict on the image, 1 for anything else. */
	code = (rc == ENL_EDECODE || rc == ENL_EUNSUPPORTED || rc == ENL_ETOOBIG) ? 3 : 1;
done:
	json_decref(fields);
	if (have_res)
		enl_pipeline_result_free(&res);
	enl_buf_free(&data);
	if (pipeline_ready)
		enl_pipeline_shutdown();
	return code;
}

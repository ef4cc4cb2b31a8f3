/* Fuzz target for enl_exif_parse (and the JSON built from its result).
 * With -DENLARGER_FUZZ=ON (clang) it is a libFuzzer target:
 *   build/fuzz/fuzz_exif -max_total_time=60 tests/fuzz/corpus/exif
 * Otherwise it is a plain executable that runs every file named on the command line, or
 * every file in the directories named, once: ctest runs it over the seed corpus. */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "enlarger/exif.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct enl_exif x;
	enl_exif_parse(data, size, &x);
	json_t *j = enl_exif_json(&x), *g = enl_exif_gps_json(&x);
	char *s = j ? json_dumps(j, 0) : NULL;
	/* Whatever the input, the result must serialise: a NULL here is a bug. */
	if (!s || (x.has_gps && !g))
		abort();
	free(s);
	json_decref(j);
	json_decref(g);
	return 0;
}

#ifndef ENL_LIBFUZZER
/* Reads one file (at most 16 MiB) into a heap block of exactly its size. */
static int run_file(const char *path)
{
	FILE *f = fopen(path, "rb");
	unsigned char *buf = NULL;
	long n;
	int rc = 1;

	if (!f)
		goto done;
	if (fseek(f, 0, SEEK_END) || (n = ftell(f)) < 0 || n > (16L << 20) || fseek(f, 0, SEEK_SET))
		goto done;
	buf = malloc(n ? (size_t)n : 1);
	if (!buf || fread(buf, 1, (size_t)n, f) != (size_t)n)
		goto done;
	LLVMFuzzerTestOneInput(buf, (size_t)n);
	rc = 0;
done:
	if (rc)
		fprintf(stderr, "cannot read %s\n", path);
	if (f)
		fclose(f);
	free(buf);
	return rc;
}

int main(int argc, char **argv)
{
	int files = 0, failed = 0;
	for (int i = 1; i < argc; i++) {
		struct stat st;
		if (stat(argv[i], &st) != 0) {
			fprintf(stderr, "no such file: %s\n", argv[i]);
			failed++;
			continue;
		}
		if (!S_ISDIR(st.st_mode)) {
			failed += run_file(argv[i]);
			files++;
			continue;
		}
		DIR *d = opendir(argv[i]);
		struct dirent *e;
		while (d && (e = readdir(d)) != NULL) {
			char path[4096];
			if (e->d_name[0] == '.')
				continue;
			snprintf(path, sizeof(path), "%s/%s", argv[i], e->d_name);
			failed += run_file(path);
			files++;
		}
		if (d)
			closedir(d);
	}
	printf("%d inputs, %d unreadable\n", files, failed);
	return files == 0 || failed ? 1 : 0;
}
#endif

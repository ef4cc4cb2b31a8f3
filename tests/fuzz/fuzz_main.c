/* The plain runner of every fuzz target, used when they are not built with libFuzzer
 * (-DENLARGER_FUZZ=OFF): runs LLVMFuzzerTestOneInput once over every file named on the
 * command line, or every file in the directories named. ctest runs it over the seed
 * corpus; in the sanitizer build that is a crash check of every seed. Exits 1 when a
 * file cannot be read or there is none. */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

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

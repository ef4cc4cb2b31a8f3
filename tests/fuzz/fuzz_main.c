/* The plain runner of every fuzz target, used when they are not built with libFuzzer
 * (-DENLARGER_FUZZ=OFF): runs LLVMFuzzerTestOneInput once over every file named on the
 * command line, or every file in the directories named (after LLVMFuzzerInitialize,
 * when the target has one). ctest runs it over the seed
 * corpus; in the sanitizer build that is a crash check of every seed. Exits 1 when a
 * file cannot be read or there is none. */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "enlarger/fs.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
/* Weak: only the targets that need set-up define it. */
int LLVMFuzzerInitialize(int *argc, char ***argv) __attribute__((weak));

/* Runs one file (at most 16 MiB) from a heap block of exactly its size, so that the
 * sanitizer build sees a read one byte past the input (a buffer from the reader is
 * larger). */
static int run_file(const char *path)
{
	struct enl_buf in;
	struct enl_errmsg e = {""};
	if (enl_file_read(path, 16u << 20, &in, &e)) {
		fprintf(stderr, "%s\n", e.text);
		return 1;
	}
	unsigned char *buf = malloc(in.len ? in.len : 1);
	if (!buf) {
		enl_buf_free(&in);
		fprintf(stderr, "out of memory for %s\n", path);
		return 1;
	}
	if (in.len)
		memcpy(buf, in.data, in.len);
	LLVMFuzzerTestOneInput(buf, in.len);
	free(buf);
	enl_buf_free(&in);
	return 0;
}

int main(int argc, char **argv)
{
	int files = 0, failed = 0;
	if (LLVMFuzzerInitialize)
		LLVMFuzzerInitialize(&argc, &argv);
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

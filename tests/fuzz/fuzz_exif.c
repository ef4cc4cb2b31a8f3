/* Fuzz target for enl_exif_parse (and the JSON built from its result).
 * With -DENLARGER_FUZZ=ON (clang) it is a libFuzzer target:
 *   build/fuzz/fuzz_exif -max_total_time=60 tests/fuzz/corpus/exif
 * Otherwise it is a plain executable (with fuzz_main.c) that runs every file named on the
 * command line, or every file in the directories named, once: ctest runs it over the
 * seed corpus. */
#include <stdint.h>
#include <stdlib.h>

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

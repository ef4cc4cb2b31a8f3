/* Small file-system helpers (see include/enlarger/fs.h). */
#include "enlarger/fs.h"

#include <errno.h>
#include <stdio.h>
#include <sys/stat.h>

int enl_mkdir_p(const char *dir)
{
	char p[4096];
	int n = snprintf(p, sizeof(p), "%s", dir);
	if (n <= 0 || (size_t)n >= sizeof(p))
		return -ENAMETOOLONG;
	for (char *c = p + 1; *c; c++) {
		if (*c != '/')
			continue;
		*c = '\0';
		if (mkdir(p, 0755) != 0 && errno != EEXIST)
			return -errno;
		*c = '/';
	}
	if (mkdir(p, 0755) != 0 && errno != EEXIST)
		return -errno;
	return 0;
}

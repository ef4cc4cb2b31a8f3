/* LIST of the local store: a walk of the bucket folder below the prefix's folder part,
 * skipping temporaries, links and names that are not keys, sorted like S3. */
#include "local_internal.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "keylist.h"

/* Collects the keys below dirfd (whose keys start with path[0..plen)) that begin
 * with prefix. Takes ownership of dirfd. */
static int walk(int dirfd, char *path, size_t plen, const char *prefix, size_t prelen, int depth,
                struct enl_keylist *kv, struct enl_errmsg *e)
{
	int rc = ENL_OK;
	DIR *d = fdopendir(dirfd);
	if (!d) {
		int err = errno;
		close(dirfd);
		return enl_local_io_fail(e, "list", err);
	}
	struct dirent *de;
	while ((de = readdir(d)) != NULL) {
		const char *nm = de->d_name;
		if (strcmp(nm, ".") == 0 || strcmp(nm, "..") == 0 ||
		    strncmp(nm, LOCAL_TMP_PREFIX, strlen(LOCAL_TMP_PREFIX)) == 0)
			continue;
		size_t nl = strlen(nm);
		if (plen + nl + 1 > LOCAL_KEY_MAX)
			continue;
		memcpy(path + plen, nm, nl + 1);
		size_t kl = plen + nl;
		unsigned char type = de->d_type;
		if (type == DT_UNKNOWN) {
			struct stat sb;
			if (fstatat(dirfd, nm, &sb, AT_SYMLINK_NOFOLLOW) != 0)
				continue;
			type = S_ISDIR(sb.st_mode) ? DT_DIR : S_ISREG(sb.st_mode) ? DT_REG : DT_LNK;
		}
		if (type == DT_DIR) {
			/* Descend only where keys below could still match the prefix. */
			size_t cmp = kl + 1 < prelen ? kl + 1 : prelen;
			path[kl] = '/';
			path[kl + 1] = '\0';
			if (depth < LOCAL_LIST_DEPTH && strncmp(path, prefix, cmp) == 0) {
				int sub = openat(dirfd, nm,
				                 O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
				if (sub >= 0)
					rc = walk(sub, path, kl + 1, prefix, prelen, depth + 1, kv,
					          e);
			}
		} else if (type == DT_REG && kl >= prelen && strncmp(path, prefix, prelen) == 0 &&
		           enl_local_key_check(path, NULL) == ENL_OK) {
			rc = enl_keylist_add(kv, path);
			if (rc)
				enl_fail(e, rc, "out of memory");
		}
		if (rc)
			break;
	}
	closedir(d);
	return rc;
}

int enl_local_list(struct enl_store *s, const char *bucket, const char *prefix,
                   enl_store_list_cb cb, void *ud, struct enl_errmsg *e)
{
	struct local_store *st = (struct local_store *)s;
	struct enl_keylist kv = {0};
	int rc = enl_bucket_name_check(bucket, e);
	if (rc)
		return rc;
	size_t dirlen = 0;
	rc = enl_local_prefix_check(prefix, &dirlen, e);
	if (rc)
		return rc;
	size_t prelen = strlen(prefix);

	int bfd = enl_local_open_dirs(st->root_fd, bucket, strlen(bucket), 0);
	if (bfd < 0)
		return enl_local_errno(-bfd, "list", e);
	int fd = dirlen ? enl_local_open_dirs(bfd, prefix, dirlen, 0) : dup(bfd);
	close(bfd);
	if (fd < 0) {
		/* No such folder: nothing under this prefix. */
		return (fd == -ENOENT || fd == -ENOTDIR) ? ENL_OK
		                                         : enl_local_io_fail(e, "list", -fd);
	}
	char path[LOCAL_KEY_MAX + 2];
	memcpy(path, prefix, dirlen);
	size_t plen = dirlen;
	if (dirlen)
		path[plen++] = '/';
	path[plen] = '\0';
	rc = walk(fd, path, plen, prefix, prelen, 0, &kv, e);
	if (!rc)
		rc = enl_keylist_emit(&kv, cb, ud);
	enl_keylist_free(&kv);
	return rc;
}

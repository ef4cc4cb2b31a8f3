/* The metadata sidecar (root/.meta/<bucket>/<key>.json): its format, the check that it
 * belongs to the data file (inode, size, mtime), and remembering the ETag of a file
 * dropped in by hand. */
#include "local_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

int enl_local_sidecar_name(const char *last, char *out, size_t cap)
{
	int n = snprintf(out, cap, "%s.json", last);
	return (n < 0 || (size_t)n >= cap) ? -ENAMETOOLONG : 0;
}

/* Reads and parses the sidecar of key; *out NULL (and 0) when there is none or it
 * cannot be read or parsed (then the object is treated as dropped in by hand). */
void enl_local_sidecar_load(struct local_store *st, const char *bucket, const char *key,
                            json_t **out)
{
	*out = NULL;
	unsigned char *buf = NULL;
	int fd =
	    enl_local_open_key_file(st, SIDE_META, bucket, key, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0)
		return;
	struct stat sb;
	if (fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode) || sb.st_size > LOCAL_SIDECAR_MAX)
		goto done;
	buf = malloc((size_t)sb.st_size + 1);
	if (!buf)
		goto done;
	size_t len = 0;
	while (len < (size_t)sb.st_size) {
		ssize_t r = read(fd, buf + len, (size_t)sb.st_size - len);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		len += (size_t)r;
	}
	*out = enl_local_sidecar_parse(buf, len);
done:
	free(buf);
	close(fd);
}

json_t *enl_local_sidecar_parse(const void *data, size_t len)
{
	json_error_t jerr;
	json_t *doc = json_loadb(data, len, JSON_REJECT_DUPLICATES, &jerr);
	if (doc && !json_is_object(doc)) {
		json_decref(doc);
		doc = NULL;
	}
	return doc;
}

int enl_local_sidecar_matches(json_t *sc, const struct stat *sb)
{
	json_t *id = json_object_get(sc, "file"); /* borrowed */
	if (!json_is_object(id))
		return 0;
	return json_integer_value(json_object_get(id, "ino")) == (json_int_t)sb->st_ino &&
	       json_integer_value(json_object_get(id, "size")) == (json_int_t)sb->st_size &&
	       json_integer_value(json_object_get(id, "mtimeSec")) ==
	           (json_int_t)sb->st_mtim.tv_sec &&
	       json_integer_value(json_object_get(id, "mtimeNsec")) ==
	           (json_int_t)sb->st_mtim.tv_nsec;
}

static void copy_str(char *dst, size_t cap, const char *src)
{
	snprintf(dst, cap, "%s", src ? src : "");
}

void enl_local_sidecar_info(json_t *sc, struct enl_object_info *info)
{
	copy_str(info->etag, sizeof(info->etag), json_string_value(json_object_get(sc, "etag")));
	copy_str(info->content_type, sizeof(info->content_type),
	         json_string_value(json_object_get(sc, "contentType")));
	copy_str(info->cache_control, sizeof(info->cache_control),
	         json_string_value(json_object_get(sc, "cacheControl")));
	json_t *meta = json_object_get(sc, "meta"); /* borrowed */
	const char *name;
	json_t *v;
	info->n_meta = 0;
	json_object_foreach(meta, name, v)
	{
		if (info->n_meta >= ENL_META_MAX || !json_is_string(v))
			continue;
		copy_str(info->meta[info->n_meta].name, sizeof(info->meta[0].name), name);
		copy_str(info->meta[info->n_meta].value, sizeof(info->meta[0].value),
		         json_string_value(v));
		info->n_meta++;
	}
}

/* The sidecar document for a PUT. New reference, NULL on ENOMEM. */
json_t *enl_local_sidecar_new(const struct stat *sb, const char *etag, const struct enl_put_opts *o)
{
	json_t *meta = json_object();
	for (int i = 0; o && meta && i < o->n_meta; i++) {
		char lname[sizeof(o->meta[i].name)];
		size_t k = 0;
		for (; o->meta[i].name[k] && k < sizeof(lname) - 1; k++) {
			char c = o->meta[i].name[k];
			lname[k] = (c >= 'A' && c <= 'Z') ? (char)(c - 'A' + 'a') : c;
		}
		lname[k] = '\0';
		json_object_set_new(meta, lname, json_string(o->meta[i].value));
	}
	return json_pack("{s:i, s:{s:I, s:I, s:I, s:I}, s:s, s:s, s:s, s:o*}", "v", 1, "file",
	                 "ino", (json_int_t)sb->st_ino, "size", (json_int_t)sb->st_size, "mtimeSec",
	                 (json_int_t)sb->st_mtim.tv_sec, "mtimeNsec",
	                 (json_int_t)sb->st_mtim.tv_nsec, "etag", etag, "contentType",
	                 o && o->content_type ? o->content_type : "", "cacheControl",
	                 o && o->cache_control ? o->cache_control : "", "meta", meta);
}

int enl_local_same_file(const struct stat *a, const struct stat *b)
{
	return a->st_ino == b->st_ino && a->st_dev == b->st_dev && a->st_size == b->st_size &&
	       a->st_mtim.tv_sec == b->st_mtim.tv_sec && a->st_mtim.tv_nsec == b->st_mtim.tv_nsec;
}

/* Writes a sidecar for a file that came without one (ETag and sniffed type from
 * its bytes), if the file at key is still the one described by sb. Best effort:
 * a sidecar is only a cache of what the bytes say, so failures are ignored, and
 * no fsync (a torn sidecar fails to parse and is recomputed). */
void enl_local_sidecar_cache(struct local_store *st, const char *bucket, const char *key,
                             const struct stat *sb, const struct enl_object_info *info)
{
	const char *last;
	char mname[LOCAL_SEGMENT_MAX + 8];
	char *doc = NULL;
	int dfd = -1;
	struct local_temp t = {.fd = -1};
	struct enl_put_opts o = {.content_type = info->content_type};
	json_t *sc = enl_local_sidecar_new(sb, info->etag, &o);
	int mfd = enl_local_open_key_dir(st, SIDE_META, bucket, key, 1, &last);
	if (!sc || mfd < 0 || enl_local_sidecar_name(last, mname, sizeof(mname)) != 0)
		goto done;
	doc = json_dumps(sc, JSON_COMPACT);
	dfd = enl_local_open_key_dir(st, SIDE_DATA, bucket, key, 0, &last);
	if (!doc || dfd < 0 || enl_local_temp_open(&t, mfd) != 0)
		goto done;
	if (enl_local_write_all(t.fd, doc, strlen(doc)) != 0)
		goto done;
	pthread_mutex_t *lk = enl_local_key_lock(st, bucket, key);
	pthread_mutex_lock(lk);
	struct stat cur;
	if (fstatat(dfd, last, &cur, AT_SYMLINK_NOFOLLOW) == 0 && enl_local_same_file(sb, &cur))
		enl_local_temp_commit(&t, mname);
	pthread_mutex_unlock(lk);
done:
	enl_local_temp_discard(&t);
	if (dfd >= 0)
		close(dfd);
	if (mfd >= 0)
		close(mfd);
	free(doc);
	json_decref(sc);
}

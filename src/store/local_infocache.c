/* What a read learnt about an object (ETag, type, metadata), remembered in memory by
 * the identity of its data file, so the next HEAD or GET of an unchanged file neither
 * opens nor parses its sidecar (a /render hit reads two: the original's for its ETag
 * and the variant's). Sound because the local store never changes an object's
 * metadata without writing a new data file (a PUT renames a new inode into place), and
 * a file changed in place by hand changes its mtime/ctime: the identity is device,
 * inode, size, mtime and ctime, the sidecar's own check plus ctime. Direct-mapped,
 * LOCAL_INFO_SLOTS entries; a collision replaces. Striped read-write locks:
 * lookups (every hit) share them, only remembering excludes. */
#include "local_internal.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

struct local_info_entry {
	dev_t dev;
	ino_t ino;
	off_t size;
	struct timespec mtim, ctim;
	struct enl_object_info info;
	char name[]; /* bucket '/' key */
};

static uint32_t name_hash(const char *bucket, const char *key)
{
	uint32_t h = 2166136261u; /* FNV-1a */
	for (const char *p = bucket; *p; p++)
		h = (h ^ (unsigned char)*p) * 16777619u;
	h = (h ^ '/') * 16777619u;
	for (const char *p = key; *p; p++)
		h = (h ^ (unsigned char)*p) * 16777619u;
	return h;
}

static int same_name(const struct local_info_entry *en, const char *bucket, const char *key)
{
	size_t bl = strlen(bucket);
	return strncmp(en->name, bucket, bl) == 0 && en->name[bl] == '/' &&
	       strcmp(en->name + bl + 1, key) == 0;
}

static int same_file(const struct local_info_entry *en, const struct stat *sb)
{
	return en->dev == sb->st_dev && en->ino == sb->st_ino && en->size == sb->st_size &&
	       en->mtim.tv_sec == sb->st_mtim.tv_sec && en->mtim.tv_nsec == sb->st_mtim.tv_nsec &&
	       en->ctim.tv_sec == sb->st_ctim.tv_sec && en->ctim.tv_nsec == sb->st_ctim.tv_nsec;
}

int enl_local_info_cached(struct local_store *st, const char *bucket, const char *key,
                          const struct stat *sb, struct enl_object_info *out)
{
	uint32_t slot = name_hash(bucket, key) % LOCAL_INFO_SLOTS;
	int hit = 0;
	pthread_rwlock_rdlock(&st->info_locks[slot % LOCAL_LOCKS]);
	const struct local_info_entry *en = st->info[slot];
	if (en && same_file(en, sb) && same_name(en, bucket, key)) {
		*out = en->info;
		hit = 1;
	}
	pthread_rwlock_unlock(&st->info_locks[slot % LOCAL_LOCKS]);
	return hit;
}

void enl_local_info_remember(struct local_store *st, const char *bucket, const char *key,
                             const struct stat *sb, const struct enl_object_info *info)
{
	size_t bl = strlen(bucket), kl = strlen(key);
	struct local_info_entry *en = malloc(sizeof(*en) + bl + kl + 2);
	if (!en)
		return; /* only a cache */
	en->dev = sb->st_dev;
	en->ino = sb->st_ino;
	en->size = sb->st_size;
	en->mtim = sb->st_mtim;
	en->ctim = sb->st_ctim;
	en->info = *info;
	memcpy(en->name, bucket, bl);
	en->name[bl] = '/';
	memcpy(en->name + bl + 1, key, kl + 1);
	uint32_t slot = name_hash(bucket, key) % LOCAL_INFO_SLOTS;
	pthread_rwlock_wrlock(&st->info_locks[slot % LOCAL_LOCKS]);
	struct local_info_entry *old = st->info[slot];
	st->info[slot] = en;
	pthread_rwlock_unlock(&st->info_locks[slot % LOCAL_LOCKS]);
	free(old);
}

void enl_local_info_free(struct local_store *st)
{
	for (int i = 0; i < LOCAL_INFO_SLOTS; i++) {
		free(st->info[i]);
		st->info[i] = NULL;
	}
}

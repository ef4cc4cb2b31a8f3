/* Private to src/service/: what the render path knows of one version of an original
 * before it reads it, for the canonical cache key (enl_render_canonical): its size after
 * orientation. Versions never change (the tag names the bytes), so what is learnt once
 * holds for good: a bounded in-process map, filled from the photo item (which /process
 * writes with the version it was made from) or from the header of the original a render
 * read. docs/keys.md, "Where the source's size comes from", says why. It also remembers
 * whether the version has a mezzanine: yes once /process wrote it here, no for
 * ENL_MEZZANINE_RECHECK_S after a render's GET of it found none. */
#ifndef ENLARGER_SERVICE_SOURCE_H
#define ENLARGER_SERVICE_SOURCE_H

#include "enlarger/service.h"

/* Versions the map holds; one more evicts the one in its slot (direct-mapped): 56 bytes
 * each. */
#define ENL_SOURCES_SLOTS 16384

enum enl_source_mezz {
	ENL_SOURCE_MEZZ_UNKNOWN, /* not known: a render that could use one asks the store */
	ENL_SOURCE_MEZZ_YES,     /* /process wrote it (in this process) */
	ENL_SOURCE_MEZZ_NONE,    /* the store had none, recently (ENL_MEZZANINE_RECHECK_S) */
};

struct enl_source {
	int width, height; /* after orientation */
	int jpeg;          /* a JPEG original (its renders shrink on load by DCT scaling) */
	enum enl_source_mezz mezz;
};

struct enl_sources;

/* 0 or ENL_ENOMEM. */
int enl_sources_new(struct enl_sources **out);
void enl_sources_free(struct enl_sources *m);

/* The size of key at version: from the map, else from the photo item when it names this
 * version (one table read, whose answer is remembered). info is the original's HEAD (its
 * `photo-id` metadata names the item). 0 with *out, or ENL_ENOTFOUND: nobody has read
 * this version yet (never an error: a table that fails is logged and reads as unknown). */
int enl_source_find(struct enl_app *app, const char *key, const char *version,
                    const struct enl_object_info *info, struct enl_source *out);

/* Remembers the size of key at version (read from its header, or made by /process), and
 * src->mezz unless it is UNKNOWN (then what the map knew of the version's mezzanine stays). */
void enl_source_remember(struct enl_app *app, const char *key, const char *version,
                         const struct enl_source *src);
/* Remembers that key at version has no mezzanine (a GET found none), when the map holds
 * the version. */
void enl_source_no_mezzanine(struct enl_app *app, const char *key, const char *version);

#endif

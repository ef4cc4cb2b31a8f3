/* Sweeps: deleting the stored objects of a photo that nothing names any more, after a
 * delete or a replacement (src/service/sweep.c). Private to src/service/.
 *
 * Every sweep lists first, then reads what is current, then deletes the listed objects
 * of other versions: an object listed before the read was written by an attempt that had
 * claimed the photo (or rendered the original) before the read, so if its version still
 * matters the read names it, and a version that is newer than the read cannot be in the
 * listing. A sweep may therefore run at any time, twice, or beside another, and never
 * deletes what the item points at or what a running attempt is writing. */
#ifndef ENLARGER_SERVICE_SWEEP_H
#define ENLARGER_SERVICE_SWEEP_H

#include "enlarger/service.h"

struct enl_sweep_stats {
	unsigned listed;  /* objects of the photo (or original) found */
	unsigned deleted; /* of those, deleted */
	int more;         /* the listing was cut at the sweep's cap: sweep again for the rest */
};

/* The derivatives of photo_id (thumbnails and optimized buckets, docs/keys.md) whose
 * version the photo's item names neither by its derivative keys nor by its etag (a
 * version being processed). No item, or a deleted one, names none. 0, or the error of a
 * listing, of the item's read (nothing is deleted then) or of the first failed delete. */
int enl_sweep_derivatives(struct enl_app *app, const char *photo_id, struct enl_sweep_stats *st,
                          struct enl_errmsg *e);

/* The render variants of the original key (render bucket, "<sha256(key)>/<version>/...")
 * whose version is not the original's current one; every variant when the original is
 * gone. 0, or the error of the listing, of the original's HEAD (nothing is deleted then)
 * or of the first failed delete. */
int enl_sweep_renders(struct enl_app *app, const char *key, struct enl_sweep_stats *st,
                      struct enl_errmsg *e);

#endif

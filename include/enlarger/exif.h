/* Camera metadata from an EXIF block (the only user of libexif: src/core/exif.c). */
#ifndef ENLARGER_EXIF_H
#define ENLARGER_EXIF_H

#include <stddef.h>

#include <jansson.h>

/* Every field is optional; has_* / empty strings say what was found. */
struct enl_exif {
	char make[64];
	char model[64];
	char lens_model[128];
	char date_taken[40]; /* ISO 8601: "2021-03-04T10:11:12" or with "+02:00" */
	char software[128];
	char artist[128];
	char copyright[256];
	char exposure_time[24];  /* "1/250" or "2.5" */
	double exposure_seconds; /* has_exposure */
	double f_number;         /* has_f_number */
	double focal_length;     /* mm; has_focal_length */
	int iso;                 /* has_iso */
	int orientation;         /* 1..8; 0 when absent */
	double latitude;         /* signed decimal degrees, south negative */
	double longitude;        /* west negative */
	double altitude;         /* metres, below sea level negative */
	unsigned has_exposure : 1, has_f_number : 1, has_focal_length : 1, has_iso : 1, has_gps : 1,
	    has_altitude : 1;
};

/* Parses a raw EXIF block as libvips hands it over ("exif-data": may start with
 * "Exif\0\0" or directly with the TIFF header). Never fails: fields that cannot be
 * read are left empty. */
void enl_exif_parse(const void *data, size_t len, struct enl_exif *out);

/* {"cameraMake":..., "iso":..., "aperture":"2.8", "fNumber":2.8, ...}: only the fields
 * that were found, named as the photo item names them (docs/photo-item.md). New
 * reference. GPS is not included (see enl_exif_gps_json). */
json_t *enl_exif_json(const struct enl_exif *x);
/* {"latitude":..,"longitude":..[,"altitude":..]} or NULL when there is no GPS. New reference. */
json_t *enl_exif_gps_json(const struct enl_exif *x);

#endif

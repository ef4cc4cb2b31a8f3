/* Camera metadata from a raw EXIF block (include/enlarger/exif.h): the only user of libexif.
 *
 * libexif does the IFD walking; everything it hands back is treated as untrusted: every
 * value is read through num_at()/str_of(), which check the entry's format, component
 * count and byte size, refuse zero denominators and non-finite numbers, and turn text into
 * valid UTF-8 so jansson accepts it. Rules where EXIF leaves room (each matches what
 * `exiftool -n` reports, our test oracle, unless said otherwise):
 * - date taken: DateTimeOriginal (+ OffsetTimeOriginal), else DateTimeDigitized
 *   (+ OffsetTimeDigitized). DateTime (0x0132) is the file's modification time, not when the
 *   photo was taken, so it is never used. Blank or zero dates ("0000:00:00 00:00:00") are
 *   absent.
 * - f-number: FNumber, else ApertureValue (APEX, f = 2^(Av/2)), like exiftool's Aperture.
 * - shutter: ExposureTime only; the text form follows exiftool's PrintExposureTime
 *   ("1/250" below 0.25001 s, else one decimal without ".0": "0.3", "2.5", "30").
 * - ISO: PhotographicSensitivity (0x8827); when it is 65535 (EXIF 2.3: "65535 or more")
 *   ISOSpeed (0x8833) or RecommendedExposureIndex (0x8832) gives the real value.
 * - zero or negative focal length, f-number, ISO or exposure mean "unknown": absent.
 * - GPS: latitude and longitude need both values and both refs (as exiftool's composite
 *   tags do); a ref starting with S / W makes the value negative. Altitude: a missing
 *   AltitudeRef means above sea level (EXIF default 0); a non-zero ref means below.
 */
#include "enlarger/exif.h"

#include <limits.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libexif/exif-data.h>
#include <libexif/exif-utils.h>

/* A JPEG APP1 segment holds at most 64 KiB; HEIF Exif items are of the same size in
 * practice. Anything much larger is not EXIF we want to walk. */
#define ENL_EXIF_MAX_BYTES (1u << 20)

static const unsigned char exif_header[6] = {'E', 'x', 'i', 'f', 0, 0};

static int is_tiff_header(const unsigned char *p, size_t n)
{
	return n >= 8 && ((p[0] == 'I' && p[1] == 'I' && p[2] == 42 && p[3] == 0) ||
	                  (p[0] == 'M' && p[1] == 'M' && p[2] == 0 && p[3] == 42));
}

/* Where the TIFF header starts in what libvips handed over, or -1. Shapes seen:
 * "Exif\0\0" + TIFF (JPEG APP1; libvips' HEIF loader after it drops the item's prefix),
 * bare TIFF, and the raw HEIF Exif item: a 4-byte big-endian offset from the end of those
 * four bytes to the TIFF header (ISO/IEC 23008-12 A.2.1), usually 6 for "Exif\0\0". */
static long find_tiff(const unsigned char *d, size_t len)
{
	if (is_tiff_header(d, len))
		return 0;
	if (len >= 6 && memcmp(d, exif_header, 6) == 0 && is_tiff_header(d + 6, len - 6))
		return 6;
	if (len >= 12) {
		uint32_t off = (uint32_t)d[0] << 24 | (uint32_t)d[1] << 16 | (uint32_t)d[2] << 8 |
		               (uint32_t)d[3];
		if (off <= len - 4 && is_tiff_header(d + 4 + off, len - 4 - off))
			return (long)(4 + off);
	}
	/* Last resort: "Exif" followed by two bytes of anything and a TIFF header, near the
	 * start (a whole JPEG's APP1, or "Exif\0\xff" written by some tools). */
	for (size_t i = 0; i + 10 <= len && i < 64; i++) {
		if (memcmp(d + i, "Exif", 4) == 0 && is_tiff_header(d + i + 6, len - i - 6))
			return (long)(i + 6);
	}
	return -1;
}

static ExifEntry *entry_in(ExifData *ed, ExifIfd ifd, ExifTag tag)
{
	if (!ed->ifd[ifd])
		return NULL;
	return exif_content_get_entry(ed->ifd[ifd], tag);
}

/* EXIF-IFD tags that some writers (TIFF, DNG, odd tools) put in IFD0. */
static ExifEntry *entry_exif(ExifData *ed, ExifTag tag)
{
	ExifEntry *e = entry_in(ed, EXIF_IFD_EXIF, tag);
	return e ? e : entry_in(ed, EXIF_IFD_0, tag);
}

static uint64_t load_be(const unsigned char *p, size_t n, ExifByteOrder bo)
{
	uint64_t v = 0;
	for (size_t i = 0; i < n; i++) {
		size_t k = bo == EXIF_BYTE_ORDER_MOTOROLA ? i : n - 1 - i;
		v = v << 8 | p[k];
	}
	return v;
}

/* Component i of a numeric entry of any numeric format, as a finite double.
 * 0, or -1 when the entry is missing, too short, not numeric, or divides by zero. */
static int num_at(const ExifEntry *e, ExifByteOrder bo, unsigned i, double *out)
{
	if (!e || !e->data || i >= e->components)
		return -1;
	size_t fs = exif_format_get_size(e->format);
	if (fs == 0 || (size_t)i + 1 > e->size / fs)
		return -1;
	const unsigned char *p = e->data + (size_t)i * fs;
	double v;
	switch (e->format) {
	case EXIF_FORMAT_BYTE: v = p[0]; break;
	case EXIF_FORMAT_SBYTE: v = (signed char)p[0]; break;
	case EXIF_FORMAT_SHORT: v = exif_get_short(p, bo); break;
	case EXIF_FORMAT_SSHORT: v = exif_get_sshort(p, bo); break;
	case EXIF_FORMAT_LONG: v = exif_get_long(p, bo); break;
	case EXIF_FORMAT_SLONG: v = exif_get_slong(p, bo); break;
	case EXIF_FORMAT_RATIONAL: {
		ExifRational r = exif_get_rational(p, bo);
		if (r.denominator == 0)
			return -1;
		v = (double)r.numerator / (double)r.denominator;
		break;
	}
	case EXIF_FORMAT_SRATIONAL: {
		ExifSRational r = exif_get_srational(p, bo);
		if (r.denominator == 0)
			return -1;
		v = (double)r.numerator / (double)r.denominator;
		break;
	}
	case EXIF_FORMAT_FLOAT: {
		uint32_t u = (uint32_t)load_be(p, 4, bo);
		float f;
		memcpy(&f, &u, sizeof(f));
		v = f;
		break;
	}
	case EXIF_FORMAT_DOUBLE: {
		uint64_t u = load_be(p, 8, bo);
		memcpy(&v, &u, sizeof(v));
		break;
	}
	default: return -1;
	}
	if (!isfinite(v))
		return -1;
	*out = v;
	return 0;
}

/* Length of the valid UTF-8 sequence at s (n bytes left), or 0 when it is not one. */
static size_t utf8_seq(const unsigned char *s, size_t n)
{
	unsigned c = s[0];
	size_t len;
	unsigned min;
	if (c < 0x80)
		return 1;
	if (c >= 0xc2 && c <= 0xdf) {
		len = 2;
		min = 0x80;
	} else if (c >= 0xe0 && c <= 0xef) {
		len = 3;
		min = 0x800;
	} else if (c >= 0xf0 && c <= 0xf4) {
		len = 4;
		min = 0x10000;
	} else {
		return 0;
	}
	if (n < len)
		return 0;
	unsigned cp = c & (0x7f >> len);
	for (size_t i = 1; i < len; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = cp << 6 | (s[i] & 0x3f);
	}
	if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	return len;
}

/* Text of an entry into out (cap bytes, always terminated): up to the first NUL, control
 * characters as spaces, trailing spaces dropped. Valid UTF-8 is kept; anything else is
 * read as Latin-1 (what older cameras and Windows write), so the result is always valid
 * UTF-8 and never cut inside a character. */
static void str_of(const ExifEntry *e, char *out, size_t cap)
{
	out[0] = 0;
	if (!e || !e->data || e->size == 0)
		return;
	if (e->format != EXIF_FORMAT_ASCII && e->format != EXIF_FORMAT_UNDEFINED &&
	    e->format != EXIF_FORMAT_BYTE)
		return;
	const unsigned char *s = e->data;
	size_t n = 0;
	while (n < e->size && s[n])
		n++;

	int utf8 = 1;
	for (size_t i = 0; i < n;) {
		size_t k = utf8_seq(s + i, n - i);
		if (!k) {
			utf8 = 0;
			break;
		}
		i += k;
	}

	size_t o = 0;
	for (size_t i = 0; i < n;) {
		unsigned char tmp[2];
		const unsigned char *src = s + i;
		size_t k;
		if (utf8) {
			k = utf8_seq(s + i, n - i);
			i += k;
		} else if (s[i] < 0x80) {
			k = 1;
			i++;
		} else {
			tmp[0] = (unsigned char)(0xc0 | s[i] >> 6);
			tmp[1] = (unsigned char)(0x80 | (s[i] & 0x3f));
			src = tmp;
			k = 2;
			i++;
		}
		if (o + k >= cap)
			break;
		memcpy(out + o, src, k);
		if (k == 1 && (out[o] < 0x20 || out[o] == 0x7f))
			out[o] = ' ';
		o += k;
	}
	while (o > 0 && out[o - 1] == ' ')
		o--;
	out[o] = 0;
}

static int digits(const char *s, size_t n, int *out)
{
	int v = 0;
	for (size_t i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (s[i] - '0');
	}
	*out = v;
	return 0;
}

/* "YYYY:MM:DD HH:MM:SS" (also "-" in the date, "T" between) plus an optional
 * "+HH:MM" offset, as ISO 8601 into out. 0, or -1 when the date is blank or invalid. */
static int iso_date(const char *dt, const char *offset, char *out, size_t cap)
{
	int y, mo, d, h, mi, s;
	if (strlen(dt) < 19)
		return -1;
	if ((dt[4] != ':' && dt[4] != '-') || dt[7] != dt[4] || (dt[10] != ' ' && dt[10] != 'T') ||
	    dt[13] != ':' || dt[16] != ':')
		return -1;
	if (digits(dt, 4, &y) || digits(dt + 5, 2, &mo) || digits(dt + 8, 2, &d) ||
	    digits(dt + 11, 2, &h) || digits(dt + 14, 2, &mi) || digits(dt + 17, 2, &s))
		return -1;
	if (y < 1 || mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || s > 60)
		return -1;
	char tz[32] = "";
	int oh, om;
	if (offset && strlen(offset) == 6 && (offset[0] == '+' || offset[0] == '-') &&
	    offset[3] == ':' && !digits(offset + 1, 2, &oh) && !digits(offset + 4, 2, &om) &&
	    oh <= 23 && om <= 59)
		snprintf(tz, sizeof(tz), "%c%02d:%02d", offset[0], oh, om);
	int n = snprintf(out, cap, "%04d-%02d-%02dT%02d:%02d:%02d%s", y, mo, d, h, mi, s, tz);
	if (n < 0 || (size_t)n >= cap) {
		out[0] = 0;
		return -1;
	}
	return 0;
}

static void read_date(ExifData *ed, struct enl_exif *x)
{
	static const ExifTag pairs[][2] = {
	    {EXIF_TAG_DATE_TIME_ORIGINAL, EXIF_TAG_OFFSET_TIME_ORIGINAL},
	    {EXIF_TAG_DATE_TIME_DIGITIZED, EXIF_TAG_OFFSET_TIME_DIGITIZED},
	};
	for (size_t i = 0; i < sizeof(pairs) / sizeof(pairs[0]); i++) {
		char dt[64], off[16];
		str_of(entry_exif(ed, pairs[i][0]), dt, sizeof(dt));
		str_of(entry_exif(ed, pairs[i][1]), off, sizeof(off));
		if (iso_date(dt, off, x->date_taken, sizeof(x->date_taken)) == 0)
			return;
	}
}

/* exiftool's PrintExposureTime, so its printed ExposureTime is an oracle for ours. */
static void exposure_text(double secs, char *out, size_t cap)
{
	if (secs < 0.25001) {
		snprintf(out, cap, "1/%.0f", floor(0.5 + 1.0 / secs));
		return;
	}
	int n = snprintf(out, cap, "%.1f", secs);
	if (n >= 2 && (size_t)n < cap && strcmp(out + n - 2, ".0") == 0)
		out[n - 2] = 0;
}

static void read_exposure(ExifData *ed, ExifByteOrder bo, struct enl_exif *x)
{
	double t;
	/* Above 10^7 s (four months) is no exposure: it would only overflow the text. */
	if (num_at(entry_exif(ed, EXIF_TAG_EXPOSURE_TIME), bo, 0, &t) || t <= 0 || t > 1e7)
		return;
	/* Below 10^-9 s the reciprocal no longer fits the text either. */
	if (t < 1e-9)
		return;
	x->exposure_seconds = t;
	exposure_text(t, x->exposure_time, sizeof(x->exposure_time));
	x->has_exposure = 1;
}

static void read_iso(ExifData *ed, ExifByteOrder bo, struct enl_exif *x)
{
	double v;
	if (num_at(entry_exif(ed, EXIF_TAG_ISO_SPEED_RATINGS), bo, 0, &v) || v < 1 || v > INT_MAX)
		return;
	if (v == 65535) {
		double real;
		if ((!num_at(entry_exif(ed, EXIF_TAG_ISO_SPEED), bo, 0, &real) ||
		     !num_at(entry_exif(ed, EXIF_TAG_RECOMMENDED_EXPOSURE_INDEX), bo, 0, &real)) &&
		    real > 65535 && real <= INT_MAX)
			v = real;
	}
	x->iso = (int)v;
	x->has_iso = 1;
}

static void read_optics(ExifData *ed, ExifByteOrder bo, struct enl_exif *x)
{
	double v;
	if (!num_at(entry_exif(ed, EXIF_TAG_FOCAL_LENGTH), bo, 0, &v) && v > 0) {
		x->focal_length = v;
		x->has_focal_length = 1;
	}
	if (!num_at(entry_exif(ed, EXIF_TAG_FNUMBER), bo, 0, &v) && v > 0) {
		x->f_number = v;
		x->has_f_number = 1;
	} else if (!num_at(entry_exif(ed, EXIF_TAG_APERTURE_VALUE), bo, 0, &v) && v > -20 &&
	           v < 200) {
		x->f_number = pow(2.0, v / 2.0);
		x->has_f_number = 1;
	}
}

/* Degrees from one to three components (degrees, minutes, seconds), as exiftool sums them. */
static int coord(const ExifEntry *e, ExifByteOrder bo, double *out)
{
	double part[3] = {0, 0, 0};
	if (!e || e->components < 1)
		return -1;
	unsigned n = e->components < 3 ? e->components : 3;
	for (unsigned i = 0; i < n; i++) {
		if (num_at(e, bo, i, &part[i]))
			return -1;
	}
	*out = part[0] + (part[1] + part[2] / 60.0) / 60.0;
	return 0;
}

static void read_gps(ExifData *ed, ExifByteOrder bo, struct enl_exif *x)
{
	double lat, lon, alt;
	char lat_ref[8], lon_ref[8];
	ExifEntry *lat_ref_e = entry_in(ed, EXIF_IFD_GPS, EXIF_TAG_GPS_LATITUDE_REF);
	ExifEntry *lon_ref_e = entry_in(ed, EXIF_IFD_GPS, EXIF_TAG_GPS_LONGITUDE_REF);
	str_of(lat_ref_e, lat_ref, sizeof(lat_ref));
	str_of(lon_ref_e, lon_ref, sizeof(lon_ref));
	if (lat_ref_e && lon_ref_e &&
	    !coord(entry_in(ed, EXIF_IFD_GPS, EXIF_TAG_GPS_LATITUDE), bo, &lat) &&
	    !coord(entry_in(ed, EXIF_IFD_GPS, EXIF_TAG_GPS_LONGITUDE), bo, &lon) &&
	    fabs(lat) <= 90 && fabs(lon) <= 180) {
		x->latitude = (lat_ref[0] == 'S' || lat_ref[0] == 's') ? -lat : lat;
		x->longitude = (lon_ref[0] == 'W' || lon_ref[0] == 'w') ? -lon : lon;
		x->has_gps = 1;
	}
	if (!num_at(entry_in(ed, EXIF_IFD_GPS, EXIF_TAG_GPS_ALTITUDE), bo, 0, &alt) &&
	    fabs(alt) < 1e8) {
		double ref = 0;
		if (num_at(entry_in(ed, EXIF_IFD_GPS, EXIF_TAG_GPS_ALTITUDE_REF), bo, 0, &ref))
			ref = 0;
		x->altitude = ref != 0 ? -fabs(alt) : alt;
		x->has_altitude = 1;
	}
}

void enl_exif_parse(const void *data, size_t len, struct enl_exif *out)
{
	unsigned char *copy = NULL;
	ExifData *ed = NULL;

	if (!out)
		return;
	memset(out, 0, sizeof(*out));
	if (!data || len == 0)
		goto done;

	long at = find_tiff((const unsigned char *)data, len);
	if (at < 0)
		goto done;
	size_t n = len - (size_t)at;
	if (n > ENL_EXIF_MAX_BYTES)
		n = ENL_EXIF_MAX_BYTES;
	/* libexif wants the "Exif\0\0" header in front of the TIFF header. */
	copy = malloc(sizeof(exif_header) + n);
	if (!copy)
		goto done;
	memcpy(copy, exif_header, sizeof(exif_header));
	memcpy(copy + sizeof(exif_header), (const unsigned char *)data + at, n);

	ed = exif_data_new();
	if (!ed)
		goto done;
	/* Never let libexif invent or rewrite values ("fixing" adds mandatory tags with
	 * defaults); skip tags it does not know in an IFD; keep maker notes untouched. */
	exif_data_unset_option(ed, EXIF_DATA_OPTION_FOLLOW_SPECIFICATION);
	exif_data_set_option(ed, EXIF_DATA_OPTION_IGNORE_UNKNOWN_TAGS);
	exif_data_set_option(ed, EXIF_DATA_OPTION_DONT_CHANGE_MAKER_NOTE);
	exif_data_load_data(ed, copy, (unsigned int)(sizeof(exif_header) + n));
	ExifByteOrder bo = exif_data_get_byte_order(ed);

	str_of(entry_in(ed, EXIF_IFD_0, EXIF_TAG_MAKE), out->make, sizeof(out->make));
	str_of(entry_in(ed, EXIF_IFD_0, EXIF_TAG_MODEL), out->model, sizeof(out->model));
	str_of(entry_exif(ed, EXIF_TAG_LENS_MODEL), out->lens_model, sizeof(out->lens_model));
	str_of(entry_in(ed, EXIF_IFD_0, EXIF_TAG_SOFTWARE), out->software, sizeof(out->software));
	str_of(entry_in(ed, EXIF_IFD_0, EXIF_TAG_ARTIST), out->artist, sizeof(out->artist));
	str_of(entry_in(ed, EXIF_IFD_0, EXIF_TAG_COPYRIGHT), out->copyright,
	       sizeof(out->copyright));
	read_date(ed, out);
	read_exposure(ed, bo, out);
	read_iso(ed, bo, out);
	read_optics(ed, bo, out);

	double o;
	if (!num_at(entry_in(ed, EXIF_IFD_0, EXIF_TAG_ORIENTATION), bo, 0, &o) && o >= 1 &&
	    o <= 8 && o == floor(o))
		out->orientation = (int)o;

	read_gps(ed, bo, out);

done:
	if (ed)
		exif_data_unref(ed);
	free(copy);
}

static void set_str(json_t *o, const char *key, const char *v)
{
	if (v[0])
		json_object_set_new(o, key, json_string(v));
}

/* v with at most `places` decimals and no trailing zeros: "24", "5.9", "2.8", "0.95".
 * The gallery shows these strings as they are ("f/2.8", "24 mm"). */
static void decimal_text(double v, int places, char *out, size_t cap)
{
	int n = snprintf(out, cap, "%.*f", places, v);
	if (n <= 0 || (size_t)n >= cap || !strchr(out, '.'))
		return;
	while (n > 0 && out[n - 1] == '0')
		out[--n] = '\0';
	if (n > 0 && out[n - 1] == '.')
		out[--n] = '\0';
}

json_t *enl_exif_json(const struct enl_exif *x)
{
	json_t *o = json_object();
	if (!o || !x)
		return o;
	char text[32];
	/* The gallery's Photo model: cameraMake, cameraModel, and aperture, shutterSpeed and
	 * focalLength as the strings it shows; the numbers for sorting are the twins fNumber,
	 * exposureSeconds and focalLengthMm (docs/photo-item.md). */
	set_str(o, "cameraMake", x->make);
	set_str(o, "cameraModel", x->model);
	set_str(o, "lensModel", x->lens_model);
	set_str(o, "dateTaken", x->date_taken);
	if (x->has_iso)
		json_object_set_new(o, "iso", json_integer(x->iso));
	if (x->has_focal_length) {
		decimal_text(x->focal_length, 2, text, sizeof(text));
		set_str(o, "focalLength", text);
		json_object_set_new(o, "focalLengthMm", json_real(x->focal_length));
	}
	if (x->has_f_number) {
		/* As exiftool prints FNumber: one decimal, two below f/1. */
		decimal_text(x->f_number, x->f_number < 1 ? 2 : 1, text, sizeof(text));
		set_str(o, "aperture", text);
		json_object_set_new(o, "fNumber", json_real(x->f_number));
	}
	if (x->has_exposure) {
		set_str(o, "shutterSpeed", x->exposure_time);
		json_object_set_new(o, "exposureSeconds", json_real(x->exposure_seconds));
	}
	if (x->orientation)
		json_object_set_new(o, "orientation", json_integer(x->orientation));
	set_str(o, "software", x->software);
	set_str(o, "artist", x->artist);
	set_str(o, "copyright", x->copyright);
	return o;
}

json_t *enl_exif_gps_json(const struct enl_exif *x)
{
	if (!x || !x->has_gps)
		return NULL;
	json_t *o = json_object();
	if (!o)
		return NULL;
	json_object_set_new(o, "latitude", json_real(x->latitude));
	json_object_set_new(o, "longitude", json_real(x->longitude));
	if (x->has_altitude)
		json_object_set_new(o, "altitude", json_real(x->altitude));
	return o;
}

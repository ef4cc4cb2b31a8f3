/* The mezzanine: the oriented original at ENL_MEZZANINE_SIDE, cut from /process's one
 * decode, that /render misses decode instead of the original (docs/keys.md). */
#include "vips_internal.h"

int enl_mezzanine_make(VipsImage *mem, int w, int h, const char *artist, const char *copyright,
                       struct enl_output *out, struct enl_errmsg *e)
{
	VipsImage *t = NULL, *m = NULL;
	int mw, mh, rc;

	/* Alpha would need a format that keeps it; such originals render from themselves. */
	if (!enl_mezzanine_size(w, h, &mw, &mh) || vips_image_get_bands(mem) != 3)
		return 0;
	/* Exactly the rule's size, whatever the decode's shrink-on-load left. */
	if (vips_thumbnail_image(mem, &t, mw, "height", mh, "size", VIPS_SIZE_FORCE, "no_rotate",
	                         TRUE, NULL) ||
	    !(m = vips_image_copy_memory(t))) {
		enl_vips_log("mezzanine resize");
		g_clear_object(&t);
		return enl_fail(e, ENL_EINTERNAL, "cannot make the mezzanine");
	}
	g_object_unref(t);
	rc = enl_encode_mezzanine(m, artist, copyright, out, e);
	g_object_unref(m);
	if (rc)
		enl_buf_free(&out->bytes);
	return rc;
}

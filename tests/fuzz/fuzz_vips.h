/* Set-up shared by the fuzz targets that run libvips: start the pipeline as the server
 * does (loader allow-list, no cache) and keep libvips' and our warnings about
 * each malformed input off stderr, where they would cost more than the decode. */
#ifndef ENLARGER_FUZZ_VIPS_H
#define ENLARGER_FUZZ_VIPS_H

#include <vips/vips.h>

#include "enlarger/log.h"
#include "enlarger/pipeline.h"
#include "fuzz.h"

static void fuzz_vips_quiet(const gchar *domain, GLogLevelFlags level, const gchar *msg,
                            gpointer ud)
{
	(void)domain;
	(void)level;
	(void)msg;
	(void)ud;
}

static inline void fuzz_vips_init(const char *argv0)
{
	enl_log_set_level(ENL_LOG_ERROR);
	FUZZ_CHECK(enl_pipeline_init(argv0) == 0);
	g_log_set_handler("VIPS", G_LOG_LEVEL_WARNING | G_LOG_LEVEL_MESSAGE | G_LOG_LEVEL_INFO,
	                  fuzz_vips_quiet, NULL);
	g_log_set_handler("GLib-GObject", G_LOG_LEVEL_WARNING, fuzz_vips_quiet, NULL);
}

#endif

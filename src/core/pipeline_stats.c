/* libvips' own memory accounting, for the metrics (include/enlarger/pipeline.h). Kept
 * apart from pipeline.c so the metrics need no part of the pixel pipeline. */
#include "enlarger/pipeline.h"

#include <vips/vips.h>

size_t enl_pipeline_memory_bytes(void)
{
	return vips_tracked_get_mem();
}

size_t enl_pipeline_memory_peak_bytes(void)
{
	return vips_tracked_get_mem_highwater();
}

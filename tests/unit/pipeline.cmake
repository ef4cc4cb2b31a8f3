# Processing core, pixel side (src/core/pipeline.c, decode.c, format.c, outmeta.c,
# placeholder.c, render.c, result_json.c). Fixtures are made at test time with libvips and
# exiftool; the oracles are vipsheader, exiftool and the npm blurhash encoder.
enl_unit_test(test_pipeline ${CMAKE_SOURCE_DIR}/tests/unit/test_pipeline.c LIBS enl_core
              LABELS core)
enl_unit_test(test_pipeline_limits ${CMAKE_SOURCE_DIR}/tests/unit/test_pipeline_limits.c
              LIBS enl_core z LABELS core)
enl_unit_test(test_pipeline_blurhash ${CMAKE_SOURCE_DIR}/tests/unit/test_pipeline_blurhash.c
              LIBS enl_core LABELS core)
target_include_directories(test_pipeline PRIVATE ${CMAKE_SOURCE_DIR}/src/core)
target_include_directories(test_pipeline_limits PRIVATE ${CMAKE_SOURCE_DIR}/src/core)
target_include_directories(test_pipeline_blurhash PRIVATE ${CMAKE_SOURCE_DIR}/src/core)
# Extra, skipped (77) without ../shared/testdata: real camera files and the 24 MP timing.
enl_unit_test(test_pipeline_shared ${CMAKE_SOURCE_DIR}/tests/unit/test_pipeline_shared.c
              LIBS enl_core LABELS core)
# The job gate's memory estimate against libvips' own tracked-memory peak.
enl_unit_test(test_pipeline_cost ${CMAKE_SOURCE_DIR}/tests/unit/test_pipeline_cost.c
              LIBS enl_core LABELS core)
# Output sizes (src/core/size.c) against vips_thumbnail and real renders, the mezzanine's.
enl_unit_test(test_pipeline_sizes ${CMAKE_SOURCE_DIR}/tests/unit/test_pipeline_sizes.c
              LIBS enl_core LABELS core)
# A render from the mezzanine as sharp as the original's (src/core/decode_plan.c).
enl_unit_test(test_mezzanine_sharpness ${CMAKE_SOURCE_DIR}/tests/unit/test_mezzanine_sharpness.c
              LIBS enl_core LABELS core)
# The mezzanine render's 3-tap blur (src/core/blur3.c), against the arithmetic.
enl_unit_test(test_blur3 ${CMAKE_SOURCE_DIR}/tests/unit/test_blur3.c LIBS enl_core LABELS core)
target_include_directories(test_blur3 PRIVATE ${CMAKE_SOURCE_DIR}/src/core)
# The pool of mappings decoded pixels live in (src/core/pixel_pool.c).
enl_unit_test(test_pixel_pool ${CMAKE_SOURCE_DIR}/tests/unit/test_pixel_pool.c LIBS enl_core
              LABELS core)
target_include_directories(test_pixel_pool PRIVATE ${CMAKE_SOURCE_DIR}/src/core)
# The Lanczos3 reduce in C (src/core/resize.c), against libvips' vips_resize.
enl_unit_test(test_resize ${CMAKE_SOURCE_DIR}/tests/unit/test_resize.c LIBS enl_core LABELS core)
target_include_directories(test_resize PRIVATE ${CMAKE_SOURCE_DIR}/src/core)

# Processing core, pixel side (src/core/pipeline.c, decode.c, format.c, outmeta.c,
# placeholder.c, render.c, result_json.c). Fixtures are made at test time with libvips and
# exiftool; the oracles are vipsheader, exiftool and the npm blurhash encoder.
enl_unit_test(pipeline_test ${CMAKE_SOURCE_DIR}/tests/unit/pipeline_test.c LIBS enl_core
              LABELS core)
enl_unit_test(pipeline_limits_test ${CMAKE_SOURCE_DIR}/tests/unit/pipeline_limits_test.c
              LIBS enl_core z LABELS core)
enl_unit_test(pipeline_blurhash_test ${CMAKE_SOURCE_DIR}/tests/unit/pipeline_blurhash_test.c
              LIBS enl_core LABELS core)
target_include_directories(pipeline_test PRIVATE ${CMAKE_SOURCE_DIR}/src/core)
target_include_directories(pipeline_limits_test PRIVATE ${CMAKE_SOURCE_DIR}/src/core)
target_include_directories(pipeline_blurhash_test PRIVATE ${CMAKE_SOURCE_DIR}/src/core)
# Extra, skipped (77) without ../shared/testdata: real camera files and the 24 MP timing.
enl_unit_test(pipeline_shared_test ${CMAKE_SOURCE_DIR}/tests/unit/pipeline_shared_test.c
              LIBS enl_core LABELS core)
# The job gate's memory estimate against libvips' own tracked-memory peak.
enl_unit_test(pipeline_cost_test ${CMAKE_SOURCE_DIR}/tests/unit/pipeline_cost_test.c
              LIBS enl_core LABELS core)

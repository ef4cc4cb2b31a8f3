# src/core/jpeg_decode.c: libjpeg-turbo called directly against libvips' JPEG loader (the
# oracle) on scaled decodes, ICC and orientation, truncated and corrupt files, CMYK and grey.
enl_unit_test(jpeg_decode_test ${CMAKE_SOURCE_DIR}/tests/unit/jpeg_decode_test.c LIBS enl_core
              LABELS core)
target_include_directories(jpeg_decode_test PRIVATE ${CMAKE_SOURCE_DIR}/src/core)

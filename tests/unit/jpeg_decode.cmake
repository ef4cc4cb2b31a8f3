# src/core/jpeg_decode.c: libjpeg-turbo called directly against libvips' JPEG loader (the
# oracle) on scaled decodes, ICC and orientation, truncated and corrupt files, CMYK and grey.
enl_unit_test(test_jpeg_decode ${CMAKE_SOURCE_DIR}/tests/unit/test_jpeg_decode.c LIBS enl_core
              LABELS core)
target_include_directories(test_jpeg_decode PRIVATE ${CMAKE_SOURCE_DIR}/src/core)

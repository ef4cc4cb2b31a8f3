# The direct libwebp encoder (src/core/webp_encode.c): libvips' WebP loader and saver are the
# oracles for dimensions, bands, metadata chunks, pixels and the bitstream.
enl_unit_test(test_webp_encode ${CMAKE_SOURCE_DIR}/tests/unit/test_webp_encode.c LIBS enl_core
              LABELS core)
target_include_directories(test_webp_encode PRIVATE ${CMAKE_SOURCE_DIR}/src/core)

# The direct libwebp encoder (src/core/webp_encode.c): libvips' WebP loader and saver are the
# oracles for dimensions, bands, metadata chunks, pixels and the bitstream.
enl_unit_test(webp_encode_test ${CMAKE_SOURCE_DIR}/tests/unit/webp_encode_test.c LIBS enl_core
              LABELS core)
target_include_directories(webp_encode_test PRIVATE ${CMAKE_SOURCE_DIR}/src/core)

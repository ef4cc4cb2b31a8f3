# src/core/orc_guard.c: libvips' ORC compiles and frees under enlarger's lock (liborc 0.4.33
# frees code memory without its own), checked by symbol lookup, a call count and concurrent
# renders read back by libvips' loaders.
enl_unit_test(test_orc_guard ${CMAKE_SOURCE_DIR}/tests/unit/test_orc_guard.c LIBS enl_core
              LABELS core)
target_include_directories(test_orc_guard PRIVATE ${CMAKE_SOURCE_DIR}/src/core)

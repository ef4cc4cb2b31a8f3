# src/core/orc_guard.c: libvips' ORC compiles and frees under enlarger's lock (liborc 0.4.33
# frees code memory without its own), checked by symbol lookup, a call count and concurrent
# renders read back by libvips' loaders.
enl_unit_test(orc_guard_test ${CMAKE_SOURCE_DIR}/tests/unit/orc_guard_test.c LIBS enl_core
              LABELS core)
target_include_directories(orc_guard_test PRIVATE ${CMAKE_SOURCE_DIR}/src/core)

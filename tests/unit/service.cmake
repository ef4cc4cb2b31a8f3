# Service layer (issue 3): configuration, event parsing, keys, render parameters and
# single-flight. Pure code, no sockets, no images.
enl_unit_test(test_config ${CMAKE_CURRENT_SOURCE_DIR}/unit/test_config.c LIBS enl_util)
enl_unit_test(test_event ${CMAKE_CURRENT_SOURCE_DIR}/unit/test_event.c LIBS enl_service)
enl_unit_test(test_keys ${CMAKE_CURRENT_SOURCE_DIR}/unit/test_keys.c LIBS enl_service)
enl_unit_test(test_render_params ${CMAKE_CURRENT_SOURCE_DIR}/unit/test_render_params.c
              LIBS enl_service)
enl_unit_test(test_render_sign ${CMAKE_CURRENT_SOURCE_DIR}/unit/test_render_sign.c
              LIBS enl_service)
enl_unit_test(test_flight ${CMAKE_CURRENT_SOURCE_DIR}/unit/test_flight.c LIBS enl_service)
# enl_render_canonical keeps the bytes: each request rendered as asked and canonical.
enl_unit_test(test_render_canonical ${CMAKE_CURRENT_SOURCE_DIR}/unit/test_render_canonical.c
              LIBS enlarger_lib PkgConfig::VIPS LABELS core)
# Sweeps of old derivatives and render variants, and the bounded background cleanup worker
# (issue 12), over a real local store and SQLite table; private headers of src/service.
enl_unit_test(test_cleanup ${CMAKE_CURRENT_LIST_DIR}/test_cleanup.c LIBS enlarger_lib)
target_include_directories(test_cleanup PRIVATE ${CMAKE_SOURCE_DIR}/src/service)
# Render misses compute one per core, however many jobs the gate admits (app->render_cpu).
enl_unit_test(test_render_cpu ${CMAKE_CURRENT_SOURCE_DIR}/unit/test_render_cpu.c
              LIBS enlarger_lib PkgConfig::VIPS LABELS core)

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

# HTTP server machinery, job gate and metrics (issue 3). The server tests link only the
# server's own files (not the routes or the service layer), so they build while those
# layers change, and drive the server over real sockets on 127.0.0.1 with libcurl.
add_library(enl_http_core_for_tests STATIC
  ${CMAKE_SOURCE_DIR}/src/http/server.c
  ${CMAKE_SOURCE_DIR}/src/http/request.c
  ${CMAKE_SOURCE_DIR}/src/http/dispatch.c
  ${CMAKE_SOURCE_DIR}/src/http/access_log.c
  ${CMAKE_SOURCE_DIR}/src/http/watchdog.c
  ${CMAKE_SOURCE_DIR}/src/http/listen.c
  ${CMAKE_SOURCE_DIR}/src/http/response.c
  ${CMAKE_SOURCE_DIR}/src/http/status.c)
target_include_directories(enl_http_core_for_tests PUBLIC ${CMAKE_SOURCE_DIR}/include)
target_link_libraries(enl_http_core_for_tests PUBLIC enl_util PkgConfig::MHD PkgConfig::JANSSON)

enl_unit_test(test_http_status ${CMAKE_CURRENT_LIST_DIR}/test_http_status.c
  LIBS enl_http_core_for_tests)
enl_unit_test(test_http_server ${CMAKE_CURRENT_LIST_DIR}/test_http_server.c
  LIBS enl_http_core_for_tests PkgConfig::CURL)
enl_unit_test(test_jobgate ${CMAKE_CURRENT_LIST_DIR}/test_jobgate.c LIBS enl_util)
enl_unit_test(test_metrics ${CMAKE_CURRENT_LIST_DIR}/test_metrics.c LIBS enl_util)
enl_script_test(test_metrics_oracle unit ${CMAKE_CURRENT_LIST_DIR}/metrics_oracle.py
  $<TARGET_FILE:test_metrics>)

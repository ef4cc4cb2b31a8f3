# HTTP server machinery, job gate and metrics (issue 3). The server tests link only the
# server's library (enl_http_server: src/http/ without the routes or the service layer),
# so they build while those layers change, and drive the server over real sockets on
# 127.0.0.1 with libcurl, and in-process through enl_http_dispatch.
enl_unit_test(test_http_status ${CMAKE_CURRENT_LIST_DIR}/test_http_status.c
  LIBS enl_http_server)
target_include_directories(test_http_status PRIVATE ${CMAKE_SOURCE_DIR}/src/http)
enl_unit_test(test_http_server ${CMAKE_CURRENT_LIST_DIR}/test_http_server.c
  LIBS enl_http_server PkgConfig::CURL)
enl_unit_test(test_jobgate ${CMAKE_CURRENT_LIST_DIR}/test_jobgate.c LIBS enl_util)
enl_unit_test(test_metrics ${CMAKE_CURRENT_LIST_DIR}/test_metrics.c LIBS enl_util)
enl_script_test(test_metrics_oracle unit ${CMAKE_CURRENT_LIST_DIR}/metrics_oracle.py
  $<TARGET_FILE:test_metrics>)

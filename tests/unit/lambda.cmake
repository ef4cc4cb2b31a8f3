# The Lambda door's pieces in-process (issue 14): base64 (util), and the HTTP server's
# rules for a request that arrives whole (enl_http_answer), linked with the server's
# library only. The door itself runs under a fake runtime API in tests/lambda/.
enl_unit_test(test_base64 ${CMAKE_CURRENT_LIST_DIR}/test_base64.c LIBS enl_util)
enl_unit_test(test_http_whole ${CMAKE_CURRENT_LIST_DIR}/test_http_whole.c LIBS enl_http_server)

# The whole server under concurrent requests (issue 15): the real routes over a local store
# and SQLite, 8 libcurl clients; without and with image work. scripts/test-extra-tsan.sh runs
# these and the other tests labelled concurrency (tests/CMakeLists.txt) under ThreadSanitizer.
enl_unit_test(test_server_concurrent ${CMAKE_CURRENT_LIST_DIR}/test_server_concurrent.c
              LIBS enlarger_lib PkgConfig::VIPS PkgConfig::CURL)
add_test(NAME test_server_concurrent_images COMMAND test_server_concurrent images
         WORKING_DIRECTORY ${CMAKE_CURRENT_BINARY_DIR})
set_tests_properties(test_server_concurrent_images PROPERTIES LABELS "unit"
                     ENVIRONMENT "${ENL_TEST_ENV}" TIMEOUT 600)

# The shared helpers of src/util/ (text, buffers, clock, files): pure code, no sockets.
enl_unit_test(test_util ${CMAKE_CURRENT_LIST_DIR}/test_util.c LIBS enl_util)

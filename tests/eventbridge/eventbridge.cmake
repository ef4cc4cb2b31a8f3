# tests/eventbridge/apidest.py, an EventBridge API destination in a box (the bulk-upload tests
# drive the service with it): its retry, rate, timeout and dead-letter behaviour on a fake
# clock, plus its HTTP transport and CLI on loopback.
enl_script_test(eventbridge_apidest "unit" ${CMAKE_CURRENT_LIST_DIR}/test_apidest.py)
# Issue 13 point 4, the bulk upload: photos dropped at 10 events/s through apidest.py on a
# service pinned to one core with the stack's settings, on both backends; then the same with
# the service SIGKILLed half-way. 100 photos here (300 by hand, docs/benchmarks.md). Label
# slow: minutes of timed traffic, left out of the ASan+UBSan pass (scripts/test.sh).
enl_script_test(bulk_upload_local "integration;slow" ${CMAKE_CURRENT_LIST_DIR}/bulk_upload.py
                --backend local --photos 100)
enl_script_test(bulk_upload_aws "aws;slow" ${CMAKE_CURRENT_LIST_DIR}/bulk_upload.py
                --backend aws --photos 100)
set_tests_properties(bulk_upload_local bulk_upload_aws PROPERTIES TIMEOUT 1200)

# tests/eventbridge/apidest.py, an EventBridge API destination in a box (the bulk-upload tests
# drive the service with it): its retry, rate, timeout and dead-letter behaviour on a fake
# clock, plus its HTTP transport and CLI on loopback.
enl_script_test(eventbridge_apidest "unit" ${CMAKE_CURRENT_LIST_DIR}/test_apidest.py)

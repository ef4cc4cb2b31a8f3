# AWS backends against local stand-ins (label aws): s3rver and dynalite, started on
# loopback ports by tests/aws/standins.py, which wraps each test and stops exactly the
# processes it started. Skips (77) when node or the npm stand-ins are missing.
set(ENL_STANDINS ${CMAKE_SOURCE_DIR}/tests/aws/standins.py)

# enl_aws_test(NAME src.c... [LIBS libs...] [ARGS standins args...])
function(enl_aws_test name)
  cmake_parse_arguments(T "" "" "LIBS;ARGS" ${ARGN})
  add_executable(${name} ${T_UNPARSED_ARGUMENTS})
  target_include_directories(${name} PRIVATE ${CMAKE_SOURCE_DIR}/tests/unit)
  target_link_libraries(${name} PRIVATE ${T_LIBS})
  add_test(NAME ${name}
           COMMAND ${ENL_PYTHON} ${ENL_STANDINS} ${T_ARGS} -- $<TARGET_FILE:${name}>
           WORKING_DIRECTORY ${CMAKE_CURRENT_BINARY_DIR})
  set_tests_properties(${name} PROPERTIES LABELS "aws" ENVIRONMENT "${ENL_TEST_ENV}"
                       SKIP_RETURN_CODE 77 TIMEOUT 300)
endfunction()

enl_aws_test(test_store_s3
  ${CMAKE_SOURCE_DIR}/tests/aws/test_store_s3.c ${CMAKE_SOURCE_DIR}/tests/unit/store_contract.c
  LIBS enl_store ARGS --bucket enl-test)

enl_aws_test(test_table_dynamodb
  ${CMAKE_SOURCE_DIR}/tests/aws/test_table_dynamodb.c ${CMAKE_SOURCE_DIR}/tests/unit/table_contract.c
  LIBS enl_table ARGS --table photos --table gallery-items.v2:id)

enl_aws_test(test_backend ${CMAKE_SOURCE_DIR}/tests/unit/test_backend.c
  LIBS enl_backend ARGS --bucket originals --table photos)

# The whole /process and /render integration suite with ENLARGER_BACKEND=aws (the stand-ins
# started and stopped by the test through standins.py); objects and items checked with
# botocore. The same script runs on the local backend as integration_service.
enl_script_test(aws_service "aws" ${CMAKE_SOURCE_DIR}/tests/integration/test_service.py
                --backend aws)
# The same /render I/O checks on S3, whose requests also go through a counting proxy
# (tests/aws/counting_proxy.py): the store-call counter checked against what the stand-in
# received.
enl_script_test(aws_render_io "aws" ${CMAKE_SOURCE_DIR}/tests/integration/test_render_io.py
                --backend aws)
# The faults (S3 stopped mid-burst, DynamoDB down, S3 that never answers).
enl_script_test(aws_faults "aws" ${CMAKE_CURRENT_LIST_DIR}/test_aws_faults.py)
# The same hostile /render requests on S3 + DynamoDB (tests/integration/test_render_urls.py).
enl_script_test(aws_render_urls "aws" ${CMAKE_SOURCE_DIR}/tests/integration/test_render_urls.py
                --backend aws)
# The service SIGKILLed mid-burst and DynamoDB (dynalite) stopped mid-burst, on the stand-ins.
enl_script_test(aws_crash "aws" ${CMAKE_SOURCE_DIR}/tests/integration/test_crash.py --backend aws)
# The same lifecycle suite on the stand-ins: items decoded with boto3's TypeDeserializer.
enl_script_test(aws_lifecycle "aws" ${CMAKE_SOURCE_DIR}/tests/integration/test_lifecycle.py
                --backend aws)
# The mezzanine on S3 + DynamoDB (tests/integration/test_mezzanine.py).
enl_script_test(aws_mezzanine "aws" ${CMAKE_SOURCE_DIR}/tests/integration/test_mezzanine.py
                --backend aws)

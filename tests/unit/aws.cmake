# AWS layer: SigV4 signer, credentials chain, request helper (src/aws/).
enl_unit_test(sigv4_suite ${CMAKE_SOURCE_DIR}/tests/unit/sigv4_suite.c LIBS enl_aws LABELS aws-unit)

# SDK oracle: botocore signs the same requests (tests/unit/sigv4_oracle.py).
add_executable(aws_sign_tool ${CMAKE_SOURCE_DIR}/tests/unit/aws_sign_tool.c)
target_link_libraries(aws_sign_tool PRIVATE enl_aws)
enl_script_test(sigv4_oracle "unit;aws-unit" ${CMAKE_SOURCE_DIR}/tests/unit/sigv4_oracle.py
                $<TARGET_FILE:aws_sign_tool>)

# Request helper and credentials chain against tests/unit/aws_fake_server.py on loopback.
enl_unit_test(aws_request_test ${CMAKE_SOURCE_DIR}/tests/unit/aws_request_test.c LIBS enl_aws
              LABELS aws-unit)
enl_unit_test(aws_creds_test ${CMAKE_SOURCE_DIR}/tests/unit/aws_creds_test.c LIBS enl_aws
              LABELS aws-unit)
enl_unit_test(aws_endpoint_test ${CMAKE_SOURCE_DIR}/tests/unit/aws_endpoint_test.c LIBS enl_aws
              LABELS aws-unit)

# AWS layer: SigV4 signer, credentials chain, request helper (src/aws/).
enl_unit_test(test_sigv4 ${CMAKE_SOURCE_DIR}/tests/aws/test_sigv4.c LIBS enl_aws LABELS aws-unit)

# SDK oracle: botocore signs the same requests (tests/aws/sigv4_oracle.py).
add_executable(aws_sign_tool ${CMAKE_SOURCE_DIR}/tests/aws/aws_sign_tool.c)
target_link_libraries(aws_sign_tool PRIVATE enl_aws)
enl_script_test(sigv4_oracle "unit;aws-unit" ${CMAKE_SOURCE_DIR}/tests/aws/sigv4_oracle.py
                $<TARGET_FILE:aws_sign_tool>)

# Request helper and credentials chain against tests/aws/aws_fake_server.py on loopback.
enl_unit_test(test_aws_request ${CMAKE_SOURCE_DIR}/tests/aws/test_aws_request.c LIBS enl_aws
              LABELS aws-unit)
enl_unit_test(test_aws_creds ${CMAKE_SOURCE_DIR}/tests/aws/test_aws_creds.c LIBS enl_aws
              LABELS aws-unit)
enl_unit_test(test_aws_endpoint ${CMAKE_SOURCE_DIR}/tests/aws/test_aws_endpoint.c LIBS enl_aws
              LABELS aws-unit)

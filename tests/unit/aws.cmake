# AWS layer: SigV4 signer, credentials chain, request helper (src/aws/).
enl_unit_test(sigv4_suite ${CMAKE_SOURCE_DIR}/tests/unit/sigv4_suite.c LIBS enl_aws LABELS aws-unit)

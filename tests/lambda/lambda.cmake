# The Lambda door (issue 14): the real binary under a fake runtime API on loopback
# (tests/lambda/fake_runtime.py), on the embedded default and on the S3 / DynamoDB
# stand-ins.
enl_script_test(lambda_local "integration" ${CMAKE_CURRENT_LIST_DIR}/test_lambda.py)
enl_script_test(lambda_aws "aws" ${CMAKE_CURRENT_LIST_DIR}/test_lambda.py --backend aws)

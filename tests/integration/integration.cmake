# The HTTP service on the embedded default (issue 3): the real binary on a free port,
# driven over real HTTP (tests/integration/test_service.py, Python stdlib + python3-yaml).
enl_script_test(integration_service "integration" ${CMAKE_CURRENT_LIST_DIR}/test_service.py)

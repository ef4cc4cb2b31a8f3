# The HTTP service on the embedded default (issue 3): the real binary on a free port,
# driven over real HTTP (tests/integration/test_service.py, Python stdlib + python3-yaml +
# python3-jsonschema). tests/aws/aws.cmake runs the same script with --backend aws.
enl_script_test(integration_service "integration" ${CMAKE_CURRENT_LIST_DIR}/test_service.py)

# api/openapi.yaml linted by the pinned @redocly/cli (skips only without node).
enl_script_test(lint_openapi "unit" ${CMAKE_CURRENT_LIST_DIR}/lint_openapi.py)
# README.md's settings table is `enlarger config`'s output.
enl_script_test(readme_config "unit" ${CMAKE_CURRENT_LIST_DIR}/check_readme_config.py)
# EventBridge's 5 s: a 50 MP /process answers in time; a request the client hung up on
# still finishes, and its retry is in flight (429) or a duplicate.
enl_script_test(integration_deadline "integration" ${CMAKE_CURRENT_LIST_DIR}/test_deadline.py)
# /render's I/O (issue 11, points 5 and 6): store calls per hit and per miss, memory under
# stalled readers, the send deadline, the original's byte limit before the job gate.
enl_script_test(integration_render_io "integration"
                ${CMAKE_CURRENT_LIST_DIR}/test_render_io.py)
# /render in public (issue 11): canonical requests, the variant bound, versions,
# signatures and a caching proxy in front; tests/aws/aws.cmake runs it with --backend aws.
enl_script_test(integration_render_urls "integration"
                ${CMAKE_CURRENT_LIST_DIR}/test_render_urls.py)
# Crashes and outages mid-burst (issue 15 point 4): the service SIGKILLed during 50 /process
# events and restarted, the events redelivered by tests/eventbridge/apidest.py; the local
# store's disk full (a tmpfs; skipped unless root). tests/aws/aws.cmake runs the AWS half.
enl_script_test(integration_crash "integration" ${CMAKE_CURRENT_LIST_DIR}/test_crash.py)
# A photo's whole life and the gallery's contract (issue 12): the item against the gallery's
# Go model, deletes, replacements, reordered events. tests/aws/aws.cmake runs it on AWS too.
enl_script_test(integration_lifecycle "integration" ${CMAKE_CURRENT_LIST_DIR}/test_lifecycle.py)
# The mezzanine (issue 16): written by /process at its documented key, read by render misses
# that fit it, the same size as from the original, cleaned up with the old version's
# variants. tests/aws/aws.cmake runs it on the stand-ins too.
enl_script_test(integration_mezzanine "integration"
                ${CMAKE_CURRENT_LIST_DIR}/test_mezzanine.py)

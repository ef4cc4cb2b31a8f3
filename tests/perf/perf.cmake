# Issue 6 point 5: 8 concurrent renders of a 100 MP JPEG stay under
# ENLARGER_MEMORY_BUDGET_MB (peak RSS), and a small budget serialises them.
enl_script_test(integration_memory_budget "integration"
                ${CMAKE_CURRENT_LIST_DIR}/test_memory_budget.py)
set_tests_properties(integration_memory_budget PROPERTIES TIMEOUT 120)

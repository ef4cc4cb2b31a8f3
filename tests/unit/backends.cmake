# The two backend interfaces: a contract suite per interface (store_contract.c,
# table_contract.c), run here against the embedded implementations; the S3 and
# DynamoDB tests link the same suites with their own factory.
enl_unit_test(test_store_local
  ${CMAKE_CURRENT_LIST_DIR}/test_store_local.c ${CMAKE_CURRENT_LIST_DIR}/store_contract.c
  LIBS enl_store)
enl_unit_test(test_table_sqlite
  ${CMAKE_CURRENT_LIST_DIR}/test_table_sqlite.c ${CMAKE_CURRENT_LIST_DIR}/table_contract.c
  LIBS enl_table)

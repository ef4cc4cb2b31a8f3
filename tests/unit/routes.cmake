# The routes in-process (issue 3): enl_route_* over a fake request, a real local store and
# a real SQLite table in a temporary directory; no sockets (tests/unit/test_routes.c).
enl_unit_test(test_routes ${CMAKE_CURRENT_LIST_DIR}/test_routes.c LIBS enlarger_lib PkgConfig::VIPS)
target_include_directories(test_routes PRIVATE ${CMAKE_SOURCE_DIR}/src/service)

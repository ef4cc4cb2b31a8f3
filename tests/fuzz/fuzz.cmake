# Fuzz targets (label fuzz). Each is a libFuzzer target with -DENLARGER_FUZZ=ON (clang), and
# otherwise a plain executable that ctest runs once over its seed corpus in
# tests/fuzz/corpus/<name>/ (in the sanitizer build that is a crash check of every seed).
option(ENLARGER_FUZZ "Build tests/fuzz targets with libFuzzer (needs clang)" OFF)

# enl_fuzz_target(NAME LIBS libs...): tests/fuzz/fuzz_NAME.c over tests/fuzz/corpus/NAME.
function(enl_fuzz_target name)
  cmake_parse_arguments(F "" "" "LIBS" ${ARGN})
  set(target fuzz_${name})
  add_executable(${target} ${CMAKE_CURRENT_SOURCE_DIR}/fuzz/fuzz_${name}.c)
  target_link_libraries(${target} PRIVATE ${F_LIBS})
  set(corpus ${CMAKE_CURRENT_SOURCE_DIR}/fuzz/corpus/${name})
  if(ENLARGER_FUZZ)
    if(NOT CMAKE_C_COMPILER_ID MATCHES "Clang")
      message(FATAL_ERROR "ENLARGER_FUZZ needs clang (libFuzzer)")
    endif()
    target_compile_definitions(${target} PRIVATE ENL_LIBFUZZER)
    target_compile_options(${target} PRIVATE -fsanitize=fuzzer)
    target_link_options(${target} PRIVATE -fsanitize=fuzzer)
    # -runs=0: execute the corpus once, do not fuzz (that is for a person with time).
    add_test(NAME ${target} COMMAND ${target} -runs=0 ${corpus})
  else()
    add_test(NAME ${target} COMMAND ${target} ${corpus})
  endif()
  set_tests_properties(${target} PROPERTIES LABELS "fuzz" ENVIRONMENT "${ENL_TEST_ENV}"
                       TIMEOUT 300)
endfunction()

enl_fuzz_target(exif LIBS enl_core)

# Fuzz targets (label fuzz). Each is a libFuzzer target with -DENLARGER_FUZZ=ON (clang), and
# otherwise a plain executable (fuzz_main.c) that ctest runs once over its corpus in
# tests/fuzz/corpus/<name>/ and the reproducers in tests/fuzz/regress/<name>/ (in the
# sanitizer build that is a crash check of every input). Dictionaries: tests/fuzz/dict/.
# Campaigns: scripts/fuzz.sh [seconds-per-target] [target...] (docs/testing.md).
option(ENLARGER_FUZZ "Build tests/fuzz targets with libFuzzer (needs clang)" OFF)

if(ENLARGER_FUZZ)
  if(NOT CMAKE_C_COMPILER_ID MATCHES "Clang")
    message(FATAL_ERROR "ENLARGER_FUZZ needs clang (libFuzzer)")
  endif()
  # Coverage feedback from all our own code, not only from the target's file: every
  # layer enl_layer (CMakeLists.txt) made, so a new one cannot be left blind.
  get_property(layers GLOBAL PROPERTY ENL_LAYERS)
  foreach(lib ${layers})
    get_target_property(kind ${lib} TYPE)
    if(NOT kind STREQUAL "INTERFACE_LIBRARY")
      target_compile_options(${lib} PRIVATE -fsanitize=fuzzer-no-link)
    endif()
  endforeach()
endif()

# enl_fuzz_target(NAME [LIBS libs...] [INCLUDES dirs...]): tests/fuzz/fuzz_NAME.c over
# tests/fuzz/corpus/NAME. INCLUDES: private headers of the code under test.
function(enl_fuzz_target name)
  cmake_parse_arguments(F "" "" "LIBS;INCLUDES" ${ARGN})
  set(target fuzz_${name})
  set(dir ${CMAKE_CURRENT_SOURCE_DIR}/fuzz)
  if(ENLARGER_FUZZ)
    add_executable(${target} ${dir}/fuzz_${name}.c)
    target_compile_definitions(${target} PRIVATE ENL_LIBFUZZER)
    target_compile_options(${target} PRIVATE -fsanitize=fuzzer)
    target_link_options(${target} PRIVATE -fsanitize=fuzzer)
  else()
    add_executable(${target} ${dir}/fuzz_${name}.c ${dir}/fuzz_main.c)
  endif()
  target_include_directories(${target} PRIVATE ${dir} ${F_INCLUDES})
  target_link_libraries(${target} PRIVATE ${F_LIBS})
  # The seeds and what campaigns merged in, then the reproducers of fixed findings.
  set(corpus ${dir}/corpus/${name})
  if(EXISTS ${dir}/regress/${name})
    list(APPEND corpus ${dir}/regress/${name})
  endif()
  if(ENLARGER_FUZZ)
    # -runs=0: execute the corpus once, do not fuzz (scripts/fuzz.sh does that).
    add_test(NAME ${target} COMMAND ${target} -runs=0 ${corpus})
  else()
    add_test(NAME ${target} COMMAND ${target} ${corpus})
  endif()
  set_tests_properties(${target} PROPERTIES LABELS "fuzz" ENVIRONMENT "${ENL_TEST_ENV}"
                       TIMEOUT 300)
endfunction()

# Every parser of outside bytes (issue 15). Targets that reach code private to a layer
# name its folder in INCLUDES.
enl_fuzz_target(exif LIBS enl_core)
enl_fuzz_target(event LIBS enl_service)
enl_fuzz_target(render_params LIBS enl_service)
enl_fuzz_target(store_key LIBS enl_store INCLUDES ${CMAKE_SOURCE_DIR}/src/store)
enl_fuzz_target(pct_decode LIBS enl_http INCLUDES ${CMAKE_SOURCE_DIR}/src/http)
# The image input path: sniffing and the header probe, the direct JPEG decoder, a render.
enl_fuzz_target(image_probe LIBS enl_core INCLUDES ${CMAKE_SOURCE_DIR}/src/core)
enl_fuzz_target(jpeg_decode LIBS enl_core INCLUDES ${CMAKE_SOURCE_DIR}/src/core)
enl_fuzz_target(render LIBS enl_core INCLUDES ${CMAKE_SOURCE_DIR}/src/core)
enl_fuzz_target(outmeta LIBS enl_core INCLUDES ${CMAKE_SOURCE_DIR}/src/core)
# AWS: the signer's canonical request and URLs, credentials documents, S3 and DynamoDB
# answers.
enl_fuzz_target(sigv4 LIBS enl_aws INCLUDES ${CMAKE_SOURCE_DIR}/src/aws)
enl_fuzz_target(aws_creds LIBS enl_aws INCLUDES ${CMAKE_SOURCE_DIR}/src/aws)
enl_fuzz_target(s3_response LIBS enl_store INCLUDES ${CMAKE_SOURCE_DIR}/src/store)
enl_fuzz_target(ddb_response LIBS enl_table INCLUDES ${CMAKE_SOURCE_DIR}/src/table)
# HTTP: If-None-Match, the local store's sidecar, a whole request through the routes.
enl_fuzz_target(if_none_match LIBS enl_service INCLUDES ${CMAKE_SOURCE_DIR}/src/service)
enl_fuzz_target(sidecar LIBS enl_store INCLUDES ${CMAKE_SOURCE_DIR}/src/store)
enl_fuzz_target(http_request LIBS enlarger_lib
                INCLUDES ${CMAKE_SOURCE_DIR}/src/http ${CMAKE_SOURCE_DIR}/src/core
                         ${CMAKE_SOURCE_DIR}/tests/unit)
# The Lambda door: an invocation's event, a function URL request or an S3 event.
enl_fuzz_target(lambda LIBS enlarger_lib
                INCLUDES ${CMAKE_SOURCE_DIR}/src/http ${CMAKE_SOURCE_DIR}/src/core
                         ${CMAKE_SOURCE_DIR}/tests/unit)

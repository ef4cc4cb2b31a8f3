# EXIF (src/core/exif.c): exiftool is the oracle for values, hand-built blocks for the
# malformed cases, a deterministic mutation run for robustness (meant for the ASan build).
enl_unit_test(test_exif_malformed ${CMAKE_CURRENT_SOURCE_DIR}/unit/test_exif_malformed.c LIBS enl_core)
enl_unit_test(test_exif_mutate ${CMAKE_CURRENT_SOURCE_DIR}/unit/test_exif_mutate.c LIBS enl_core)

# Prints enl_exif_json / enl_exif_gps_json for an image, from libvips' "exif-data" blob.
add_executable(exif_dump ${CMAKE_CURRENT_SOURCE_DIR}/unit/exif_dump.c)
target_link_libraries(exif_dump PRIVATE enl_core PkgConfig::VIPS)

enl_script_test(exif_oracle "unit" ${CMAKE_CURRENT_SOURCE_DIR}/unit/exif_oracle.py
                $<TARGET_FILE:exif_dump> synthetic)
# The camera photos in $ENL_SHARED_TESTDATA/photos; skips (77) when the folder is missing.
enl_script_test(exif_oracle_shared "unit;shared" ${CMAKE_CURRENT_SOURCE_DIR}/unit/exif_oracle.py
                $<TARGET_FILE:exif_dump> shared)

# Third-party link targets, shared or static.
#
#   berth::grpc    gRPC (the unsecure flavour: berth speaks gRPC over unix sockets only, so TLS
#                  and OpenSSL's footprint are not needed) + protobuf
#   berth::sqlite  SQLite
#   berth::re2     RE2
#   berth::crypto  OpenSSL's libcrypto (static with BERTH_STATIC_DEPS: berth needs only SHA-256,
#                  and libcrypto.so costs an idle berthd ~1.5 MiB, mostly its relocations)
#   berth::archive libarchive (static with BERTH_STATIC_DEPS: with --gc-sections only the tar/pax
#                  code and the gzip, bzip2, xz and zstd filters berth calls are linked; the
#                  shared library maps libxml2, ICU (which brings a second, shared libstdc++
#                  and makes berthd export ~4,600 libstdc++ symbols), nettle, acl and lz4 into
#                  every berthd at start-up: ~2.5 MiB of idle RSS)
#
# With BERTH_STATIC_DEPS (default ON) every binary links these and abseil from Debian's static
# archives, with -static-libstdc++ and --gc-sections: an idle berthd then maps only the code it
# uses instead of whole shared libraries (idle RSS ~11 MiB instead of ~18 MiB).
option(BERTH_STATIC_DEPS "link gRPC, protobuf, abseil, SQLite and RE2 statically" ON)

set(_lib /usr/lib/${CMAKE_LIBRARY_ARCHITECTURE})
add_library(berth_grpc INTERFACE)
add_library(berth_sqlite INTERFACE)
add_library(berth_re2 INTERFACE)
add_library(berth::grpc ALIAS berth_grpc)
add_library(berth::sqlite ALIAS berth_sqlite)
add_library(berth::re2 ALIAS berth_re2)
add_library(berth_archive_dep INTERFACE)
add_library(berth_crypto INTERFACE)
add_library(berth::crypto ALIAS berth_crypto)
add_library(berth::archive ALIAS berth_archive_dep)

if(BERTH_STATIC_DEPS)
  # Point every abseil imported target at its static archive; abseil's own dependency graph
  # (INTERFACE_LINK_LIBRARIES between absl:: targets) keeps the link order right.
  file(STRINGS ${absl_DIR}/abslTargets.cmake _decl REGEX "^add_library\\(absl::[a-z0-9_]+ SHARED")
  set(_absl_targets)
  foreach(line IN LISTS _decl)
    string(REGEX MATCH "absl::[a-z0-9_]+" t "${line}")
    list(APPEND _absl_targets ${t})
  endforeach()
  foreach(t IN LISTS _absl_targets)
    get_target_property(type ${t} TYPE)
    if(type STREQUAL "SHARED_LIBRARY")
      get_target_property(loc ${t} IMPORTED_LOCATION_NONE)
      string(REGEX REPLACE "\\.so[.0-9]*$" ".a" archive "${loc}")
      if(EXISTS "${archive}")
        set_target_properties(${t} PROPERTIES IMPORTED_LOCATION_NONE "${archive}"
                                              IMPORTED_LOCATION "${archive}")
      endif()
    endif()
  endforeach()

  target_link_libraries(berth_grpc INTERFACE
    -Wl,--start-group
    ${_lib}/libgrpc++_unsecure.a ${_lib}/libgrpc_unsecure.a ${_lib}/libgpr.a ${_lib}/libupb.a
    ${_lib}/libaddress_sorting.a ${_lib}/libcares.a ${_lib}/libre2.a ${_lib}/libprotobuf.a
    ${_lib}/libz.a
    -Wl,--end-group
    absl::flat_hash_map absl::flat_hash_set absl::hash absl::random_random absl::status
    absl::statusor absl::cord absl::str_format absl::strings absl::synchronization absl::time
    absl::bad_optional_access absl::bad_variant_access absl::throw_delegate absl::cleanup
    absl::any_invocable absl::inlined_vector absl::span
    Threads::Threads dl m rt)
  target_link_libraries(berth_sqlite INTERFACE ${_lib}/libsqlite3.a dl m Threads::Threads)
  target_link_libraries(berth_re2 INTERFACE ${_lib}/libre2.a Threads::Threads)
  target_include_directories(berth_sqlite INTERFACE ${SQLite3_INCLUDE_DIRS})
  # Not OPENSSL_USE_STATIC_LIBS: gRPC's package config has already found libcrypto.so by then.
  target_link_libraries(berth_crypto INTERFACE ${_lib}/libcrypto.a ${CMAKE_DL_LIBS} Threads::Threads)
  target_include_directories(berth_crypto INTERFACE ${OPENSSL_INCLUDE_DIR})
  # Debian ships no libzstd.a unless libzstd-dev is installed: then the shared one (64 KiB idle).
  find_library(BERTH_ZSTD_LIB NAMES libzstd.a zstd libzstd.so.1 REQUIRED)
  target_link_libraries(berth_archive_dep INTERFACE
    ${_lib}/libarchive.a ${_lib}/liblzma.a ${_lib}/libbz2.a ${BERTH_ZSTD_LIB} ${_lib}/libz.a)
  target_include_directories(berth_archive_dep INTERFACE ${LibArchive_INCLUDE_DIRS})
  # Required, not an optimisation: archive_write_set_format.o refers to every writer (xar needs
  # libxml2, zip nettle); only --gc-sections drops those unreferenced sections.
  target_link_options(berth_archive_dep INTERFACE -Wl,--gc-sections)
  # Applies to every executable that links gRPC (all of ours do, through the API library).
  target_link_options(berth_grpc INTERFACE -static-libstdc++ -static-libgcc -Wl,--gc-sections)
else()
  target_link_libraries(berth_grpc INTERFACE gRPC::grpc++_unsecure protobuf::libprotobuf)
  target_link_libraries(berth_sqlite INTERFACE SQLite::SQLite3)
  target_link_libraries(berth_re2 INTERFACE re2)
  target_link_libraries(berth_archive_dep INTERFACE LibArchive::LibArchive)
  find_package(OpenSSL REQUIRED)
  target_link_libraries(berth_crypto INTERFACE OpenSSL::Crypto)
endif()

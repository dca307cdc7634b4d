# Helpers shared by the top-level CMakeLists.txt and tests/, bench/, examples/.
include_guard(GLOBAL)

# peeper_set_warnings(<target>)
#
# The project's warning set on a target that compiles sources (PRIVATE: never imposed on
# consumers). -Wthread-safety checks the Clang thread-safety annotations on lock-protected
# members; GCC has no equivalent and ignores the annotations.
function(peeper_set_warnings target)
  target_compile_options(
    ${target}
    PRIVATE -Wall
            -Wextra
            -Wpedantic
            $<$<CXX_COMPILER_ID:Clang,AppleClang>:-Wthread-safety>
            $<$<BOOL:${PEEPER_WERROR}>:-Werror>)
endfunction()

# peeper_add_layer(<layer> [DEPENDS <targets>...])
#
# Creates peeper_<layer> with the alias peeper::<layer> (export name peeper::<layer> too) from
# include/peeper/<layer>/**.hpp and src/<layer>/**.cpp. A layer without .cpp files yet is an
# INTERFACE library; once a .cpp appears, the glob re-runs at build time and the layer becomes
# a compiled library. DEPENDS are linked PUBLIC (INTERFACE for a header-only layer).
function(peeper_add_layer layer)
  cmake_parse_arguments(PARSE_ARGV 1 arg "" "" "DEPENDS")
  set(target peeper_${layer})
  file(GLOB_RECURSE headers CONFIGURE_DEPENDS "${PROJECT_SOURCE_DIR}/include/peeper/${layer}/*.hpp")
  file(GLOB_RECURSE sources CONFIGURE_DEPENDS "${PROJECT_SOURCE_DIR}/src/${layer}/*.cpp")

  if(sources)
    add_library(${target} ${sources})
    set(scope PUBLIC)
    # Private headers of a layer live beside its .cpp files: #include "runtime/foo.hpp".
    target_include_directories(${target} PRIVATE "${PROJECT_SOURCE_DIR}/src")
    peeper_set_warnings(${target})
  else()
    add_library(${target} INTERFACE)
    set(scope INTERFACE)
  endif()
  add_library(peeper::${layer} ALIAS ${target})
  set_target_properties(${target} PROPERTIES EXPORT_NAME ${layer})

  target_compile_features(${target} ${scope} cxx_std_20)
  target_include_directories(
    ${target} ${scope} $<BUILD_INTERFACE:${PROJECT_SOURCE_DIR}/include>
    $<INSTALL_INTERFACE:${CMAKE_INSTALL_INCLUDEDIR}>)
  if(headers)
    # The file set is what install() copies; the include directory above is what compiles.
    target_sources(
      ${target}
      ${scope}
      FILE_SET HEADERS
      BASE_DIRS "${PROJECT_SOURCE_DIR}/include"
      FILES ${headers})
  endif()
  if(arg_DEPENDS)
    target_link_libraries(${target} ${scope} ${arg_DEPENDS})
  endif()
  set_property(GLOBAL APPEND PROPERTY PEEPER_TARGETS ${target})
endfunction()

# Erlang's erl_interface library (libei) as the imported target peeper::ei.
#
# Debian's erlang-dev ships ei.h (linked into /usr/include) and a static libei.a under
# /usr/lib/erlang/lib/erl_interface-<version>/lib, with no CMake or pkg-config file. libei.a is
# the thread-safe build: it needs _REENTRANT at compile time (erl_errno is per-thread then; without
# it, __erl_errno fails to link), which Threads::Threads does not add on glibc.
# Used by the top-level CMakeLists.txt and by the installed peeperConfig.cmake.
include_guard(GLOBAL)

if(NOT TARGET peeper::ei)
  file(GLOB peeper_ei_hints "/usr/lib/erlang/lib/erl_interface-*"
       "/usr/local/lib/erlang/lib/erl_interface-*")
  find_path(
    PEEPER_EI_INCLUDE_DIR ei.h
    HINTS ${peeper_ei_hints}
    PATH_SUFFIXES include)
  find_library(
    PEEPER_EI_LIBRARY ei
    HINTS ${peeper_ei_hints}
    PATH_SUFFIXES lib)
  if(NOT PEEPER_EI_INCLUDE_DIR OR NOT PEEPER_EI_LIBRARY)
    message(
      FATAL_ERROR
        "Erlang's erl_interface (ei.h and libei.a) was not found; peeper::dist needs it. "
        "Install the Debian package erlang-dev (scripts/install-deps.sh does), or set "
        "PEEPER_EI_INCLUDE_DIR and PEEPER_EI_LIBRARY.")
  endif()
  set(THREADS_PREFER_PTHREAD_FLAG ON)
  find_package(Threads REQUIRED)
  add_library(peeper::ei STATIC IMPORTED)
  set_target_properties(
    peeper::ei
    PROPERTIES IMPORTED_LOCATION "${PEEPER_EI_LIBRARY}"
               INTERFACE_INCLUDE_DIRECTORIES "${PEEPER_EI_INCLUDE_DIR}"
               INTERFACE_COMPILE_DEFINITIONS _REENTRANT
               INTERFACE_LINK_LIBRARIES Threads::Threads)
endif()

# cmake -D fuzzer=<program> -D corpus=<seed dir> -D work=<scratch dir> -D seconds=<n> -P run_fuzzer.cmake
#
# Runs a libFuzzer program for `seconds` on a fresh copy of the seed corpus (the program adds
# what it finds to the copy, never to the repository). Fails if the fuzzer reports a finding,
# leaving the crashing input (crash-*, leak-*, timeout-*, oom-*) in `work`/.. .
foreach(var fuzzer corpus work seconds)
  if(NOT DEFINED ${var})
    message(FATAL_ERROR "run_fuzzer.cmake: -D ${var}=... is required")
  endif()
endforeach()

file(REMOVE_RECURSE "${work}")
file(MAKE_DIRECTORY "${work}")
file(GLOB seeds "${corpus}/*")
file(COPY ${seeds} DESTINATION "${work}")
get_filename_component(artifacts "${work}" DIRECTORY)

execute_process(
  COMMAND "${fuzzer}" "${work}" -max_total_time=${seconds} -timeout=5 -rss_limit_mb=2048
          -print_final_stats=1 "-artifact_prefix=${artifacts}/"
  RESULT_VARIABLE status)
if(NOT status EQUAL 0)
  message(FATAL_ERROR "${fuzzer} found a failing input (exit status ${status}); see above")
endif()

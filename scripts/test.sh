#!/usr/bin/env bash
# The test command of Peeper for C++ (CI runs exactly this, through .ci/run).
#
#   scripts/test.sh                 every step
#   scripts/test.sh gcc tsan        only the steps named
#
# Steps, in order:
#   format  clang-format --dry-run -Werror over include/ src/ tests/ bench/ examples/
#   gcc     configure, build everything (library, header check, tests, benchmarks, examples), ctest
#   clang   the same with Clang (-Wthread-safety)
#   asan    Clang with AddressSanitizer + UndefinedBehaviorSanitizer: build and run the tests
#   tsan    Clang with ThreadSanitizer: build and run the tests
#   tidy    clang-tidy (.clang-tidy) over src/**/*.cpp and the header-check sources, which
#           include each public header alone, using build/clang/compile_commands.json
#
# Every step runs even when an earlier one failed. Each step's output goes to
# build/logs/<step>.log; the tail of a failing step's log is printed. The last line is
# "N passed, N failed" over the steps, and the exit status is non-zero if any step failed.
# PEEPER_JOBS (default 2) sets the build parallelism.
set -uo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
root=$(pwd)
jobs=${PEEPER_JOBS:-2}
all_steps=(format gcc clang asan tsan tidy)

usage() {
  echo "usage: scripts/test.sh [step...]   steps: ${all_steps[*]} (default: all)" >&2
  exit 2
}

steps=()
for arg in "$@"; do
  case "$arg" in
    -h | --help) usage ;;
    format | gcc | clang | asan | tsan | tidy) steps+=("$arg") ;;
    *)
      echo "scripts/test.sh: unknown step '$arg'" >&2
      usage
      ;;
  esac
done
if ((${#steps[@]} == 0)); then
  steps=("${all_steps[@]}")
fi

if ! scripts/install-deps.sh; then
  echo "scripts/test.sh: installing the dependencies failed" >&2
  echo "0 passed, 1 failed"
  exit 1
fi

logs="$root/build/logs"
mkdir -p "$logs"

# What a step leaves for the summary beside pass/fail: the stage that failed, or the test count.
detail=""

# The sources that clang-format and clang-tidy look at, NUL-separated.
project_sources() {
  find "$@" -type f \( -name '*.hpp' -o -name '*.cpp' -o -name '*.h' \) -print0 2>/dev/null | sort -z
}

step_format() {
  local -a files=()
  mapfile -d '' files < <(project_sources include src tests bench examples)
  if ((${#files[@]} == 0)); then
    detail="no sources yet"
    return 0
  fi
  echo "clang-format $(clang-format --version)"
  echo "checking ${#files[@]} files"
  if ! clang-format --dry-run -Werror "${files[@]}"; then
    detail="run: clang-format -i on the files above"
    return 1
  fi
  detail="${#files[@]} files"
}

step_preset() {
  local preset=$1
  echo "== configure: cmake --preset $preset"
  if ! cmake --preset "$preset"; then
    detail="configure failed"
    return 1
  fi
  echo "== build: cmake --build --preset $preset -j $jobs"
  if ! cmake --build --preset "$preset" -j "$jobs"; then
    detail="build failed"
    return 1
  fi
  echo "== test: ctest --preset $preset"
  local status=0
  ctest --preset "$preset" || status=$?
  # ctest's own summary line, e.g. "100% tests passed, 0 tests failed out of 42".
  detail=$(grep -E '^[0-9]+% tests passed' "$logs/$preset.log" | tail -n 1)
  if grep -q '^No tests were found' "$logs/$preset.log"; then
    detail="no tests found"
  fi
  if ((status != 0)); then
    detail="tests failed${detail:+: $detail}"
    return 1
  fi
}

step_tidy() {
  echo "== configure: cmake --preset clang (compile database and header-check sources)"
  if ! cmake --preset clang; then
    detail="configure failed"
    return 1
  fi
  local -a files=()
  mapfile -d '' files < <(project_sources src -name '*.cpp')
  # The header-check sources of the current headers (stale ones are not in the compile
  # database): they give clang-tidy every public header, header-only layers included.
  local check_dir="$root/build/clang/tests/header_check"
  local header
  while IFS= read -r -d '' header; do
    files+=("$check_dir/${header#include/}.cpp")
  done < <(project_sources include -name '*.hpp')
  if ((${#files[@]} == 0)); then
    detail="no sources yet"
    return 0
  fi
  echo "clang-tidy over ${#files[@]} translation units"
  local status=0
  if command -v run-clang-tidy-14 >/dev/null; then
    # run-clang-tidy takes regular expressions; match each file exactly.
    local -a patterns=()
    local file
    for file in "${files[@]}"; do
      [[ $file = /* ]] || file="$root/$file"
      patterns+=("^$(printf '%s' "$file" | sed 's/[.[\*^$()+?{|]/\\&/g')\$")
    done
    run-clang-tidy-14 -p build/clang -quiet -j "$jobs" "${patterns[@]}" || status=$?
  else
    printf '%s\0' "${files[@]}" |
      xargs -0 -n 1 -P "$jobs" clang-tidy -p build/clang --quiet || status=$?
  fi
  detail="${#files[@]} translation units"
  if ((status != 0)); then
    detail="findings in $detail"
    return 1
  fi
}

declare -A result=() details=() seconds=()
passed=0
failed=0
for step in "${steps[@]}"; do
  log="$logs/$step.log"
  printf '%-7s ... ' "$step"
  start=$SECONDS
  detail=""
  status=0
  case "$step" in
    format) step_format >"$log" 2>&1 || status=$? ;;
    tidy) step_tidy >"$log" 2>&1 || status=$? ;;
    *) step_preset "$step" >"$log" 2>&1 || status=$? ;;
  esac
  seconds[$step]=$((SECONDS - start))
  details[$step]=$detail
  if ((status == 0)); then
    result[$step]=pass
    passed=$((passed + 1))
    echo "pass (${seconds[$step]}s)${detail:+  $detail}"
  else
    result[$step]=FAIL
    failed=$((failed + 1))
    echo "FAIL (${seconds[$step]}s)${detail:+  $detail}"
    echo "---- last 60 lines of build/logs/$step.log ----"
    tail -n 60 "$log"
    echo "---- end of build/logs/$step.log ----"
  fi
done

echo
echo "Summary"
printf '  %-7s  %-6s  %6s  %s\n' step result time detail
for step in "${steps[@]}"; do
  printf '  %-7s  %-6s  %5ss  %s\n' "$step" "${result[$step]}" "${seconds[$step]}" "${details[$step]}"
done
echo "logs: build/logs/<step>.log"
echo
echo "$passed passed, $failed failed"
((failed == 0))

#!/usr/bin/env bash
# Installs, from Debian 12's archive, everything needed to build, test and run Peeper for C++.
# Idempotent: when every package is already installed it does nothing (and needs no network).
set -euo pipefail

packages=(
  build-essential    # make, libc headers, the usual toolchain baseline
  g++                # GCC 12: the gcc and release presets
  clang              # Clang 14: the clang, asan and tsan presets
  libclang-rt-14-dev # Clang's sanitizer runtimes (ASan, UBSan, TSan); not pulled in by clang
  cmake              # 3.25: CMakePresets.json version 6
  ninja-build        # the presets' generator
  libgtest-dev       # GoogleTest: tests/*_test.cpp
  libgmock-dev       # GoogleMock: tests/*_test.cpp
  libbenchmark-dev   # Google Benchmark: bench/*_bench.cpp
  libspdlog-dev      # logging in peeper::runtime (also brings libfmt-dev)
  libfmt-dev         # formatting in peeper::runtime
  libcli11-dev       # command-line options of examples/ and bench/*_table.cpp
  clang-format       # scripts/test.sh format step
  clang-tidy         # scripts/test.sh tidy step (run-clang-tidy-14, python3 come with it)
  erlang-dev         # ei (libei.a, ei.h): the Erlang distribution protocol of peeper::dist
  erlang-base        # erl and epmd: real Erlang peers in the distribution tests
  elixir             # elixir: a real Elixir peer in the distribution tests
  git                # cloning; clang-format and CI work in a git checkout
  ca-certificates    # https for apt sources and git
)

missing=()
for package in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q 'install ok installed'; then
    missing+=("$package")
  fi
done
if ((${#missing[@]} == 0)); then
  echo "install-deps: all ${#packages[@]} packages already installed"
  exit 0
fi

sudo=()
if ((EUID != 0)); then
  sudo=(sudo)
fi
export DEBIAN_FRONTEND=noninteractive
echo "install-deps: installing ${missing[*]}"
"${sudo[@]}" apt-get update
"${sudo[@]}" env DEBIAN_FRONTEND=noninteractive \
  apt-get install -y --no-install-recommends "${packages[@]}"

#!/usr/bin/env bash
# Builds the showcase in the release preset and runs it; arguments go to the showcase.
#   scripts/showcase.sh [showcase options...]
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

scripts/install-deps.sh
cmake --preset release
cmake --build --preset release --target showcase -j "${PEEPER_JOBS:-$(nproc)}"
exec build/release/examples/showcase "$@"

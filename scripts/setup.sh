#!/usr/bin/env bash
# The README's first command: install everything, build tsbuild, then build the demo fixture
# image and run it (umoci unpacks it into a runtime bundle, runc runs its entrypoint/cmd).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
bash scripts/install-deps.sh
bash scripts/demo.sh

#!/usr/bin/env bash
# Runs the Skyway demo on embedded defaults. Installs what it needs.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
exec node --import tsx packages/cli/src/main.ts demo "$@"

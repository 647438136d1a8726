#!/usr/bin/env bash
# Runs the Skyway demo on embedded defaults. Installs what it needs.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
. scripts/node-env.sh # the Node.js LTS install-deps.sh made sure of
exec packages/cli/bin/skyway demo "$@"

#!/usr/bin/env bash
# Runs every test: type check, unit tests, store tests on a real PostgreSQL,
# and the end-to-end tests (root, network namespaces).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
. scripts/node-env.sh # the Node.js LTS install-deps.sh made sure of
eval "$(bash scripts/pg-test-server.sh start)"
trap 'bash scripts/pg-test-server.sh stop' EXIT
npm run build
npm run lint
npm test
npm run test:e2e

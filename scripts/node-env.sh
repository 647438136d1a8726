# Sourced by the scripts (and read by packages/cli/bin/skyway): puts the Node.js
# that install-deps.sh installed first on PATH, and points node-gyp at its
# headers so native modules (better-sqlite3) build for it. Where the machine's
# own Node.js is a maintained LTS (22 or newer), nothing is installed and this
# changes nothing.
SKYWAY_NODE_VERSION=24.22.3
SKYWAY_NODE_PREFIX=${SKYWAY_NODE_PREFIX:-$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)/.node}
if [ -x "$SKYWAY_NODE_PREFIX/bin/node" ]; then
  case ":$PATH:" in *":$SKYWAY_NODE_PREFIX/bin:"*) ;; *) export PATH="$SKYWAY_NODE_PREFIX/bin:$PATH" ;; esac
  export npm_config_nodedir="$SKYWAY_NODE_PREFIX"
fi

#!/usr/bin/env bash
# Installs the Debian packages and npm packages Skyway needs. Idempotent.
set -euo pipefail
cd "$(dirname "$0")/.."
need_apt=0
for bin in ip nft swanctl bird iperf3 nginx tcpdump pg_ctlcluster curl ping wrk h2load sshd chromium; do
  command -v "$bin" >/dev/null 2>&1 || [ -x "/usr/sbin/$bin" ] || need_apt=1
done
[ -x /usr/lib/ipsec/charon ] || need_apt=1
if [ "$need_apt" = 1 ]; then
  echo "==> installing Debian packages"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq iproute2 nftables strongswan-charon strongswan-swanctl \
    libcharon-extra-plugins libstrongswan-extra-plugins bird2 iperf3 nginx-light \
    postgresql tcpdump openssh-server openssh-client procps curl iputils-ping wrk nghttp2-client chromium >/dev/null
fi
# Node.js: a maintained LTS. Where the machine's is older than 22, the npm
# registry's own build (the node-linux-<arch> package: the binary and its
# headers) goes into .node/ (or $SKYWAY_NODE_PREFIX), which node-env.sh puts
# first on PATH; npm itself is the machine's.
. scripts/node-env.sh
if [ "$(node -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0)" -lt 22 ]; then
  case "$(uname -m)" in x86_64) arch=x64 ;; aarch64) arch=arm64 ;; *) arch=$(uname -m) ;; esac
  echo "==> installing Node.js $SKYWAY_NODE_VERSION (npm package node-linux-$arch) into $SKYWAY_NODE_PREFIX"
  tmp=$(mktemp -d /tmp/skyway-node-XXXXXX)
  (cd "$tmp" && npm pack --silent "node-linux-$arch@$SKYWAY_NODE_VERSION" >/dev/null)
  mkdir -p "$SKYWAY_NODE_PREFIX"
  tar xzf "$tmp"/node-linux-*.tgz -C "$SKYWAY_NODE_PREFIX" --strip-components=1
  rm -rf "$tmp"
  . scripts/node-env.sh
fi
# npm ci: the lock file is the install, and installing never rewrites it. The
# Node.js version is recorded, so a switch rebuilds the native modules for it.
if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  echo "==> installing npm packages"
  npm ci --no-audit --no-fund
  node --version >node_modules/.skyway-node-version
elif [ "$(cat node_modules/.skyway-node-version 2>/dev/null)" != "$(node --version)" ]; then
  echo "==> rebuilding native npm packages for Node.js $(node --version)"
  npm rebuild --no-audit --no-fund
  node --version >node_modules/.skyway-node-version
fi
# The CLI as JavaScript (bin/skyway runs it; a few seconds).
npm run --silent build:js

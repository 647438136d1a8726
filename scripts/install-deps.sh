#!/usr/bin/env bash
# Installs the Debian packages and npm packages Skyway needs. Idempotent.
set -euo pipefail
cd "$(dirname "$0")/.."
need_apt=0
for bin in ip nft swanctl bird iperf3 nginx tcpdump pg_ctlcluster curl ping wrk h2load sshd; do
  command -v "$bin" >/dev/null 2>&1 || [ -x "/usr/sbin/$bin" ] || need_apt=1
done
[ -x /usr/lib/ipsec/charon ] || need_apt=1
if [ "$need_apt" = 1 ]; then
  echo "==> installing Debian packages"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq iproute2 nftables strongswan-charon strongswan-swanctl \
    libcharon-extra-plugins libstrongswan-extra-plugins bird2 iperf3 nginx-light \
    postgresql tcpdump openssh-server openssh-client procps curl iputils-ping wrk nghttp2-client >/dev/null
fi
if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  echo "==> installing npm packages"
  # npm install, not npm ci: npm 11 miscounts optional platform packages in the lock file.
  npm install --no-audit --no-fund
fi

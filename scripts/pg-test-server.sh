#!/usr/bin/env bash
# Starts (or stops) a throwaway PostgreSQL for the store tests, owned by this
# script: its own data dir under /tmp/skyway-pg and its own port. Prints the
# export line for SKYWAY_TEST_POSTGRES_URL.
set -euo pipefail
dir=/tmp/skyway-pg
port=54329
bin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)
case "${1:-start}" in
  start)
    [ -n "$bin" ] || { echo "echo 'PostgreSQL not installed; skipping its store tests' >&2"; exit 0; }
    if [ -f "$dir/data/postmaster.pid" ]; then
      su postgres -c "$bin/pg_ctl -D $dir/data -m fast stop" >/dev/null 2>&1 || true
    fi
    rm -rf "$dir"; mkdir -p "$dir"; chown postgres "$dir"
    su postgres -c "$bin/initdb -D $dir/data -A trust -U skyway" >/dev/null
    su postgres -c "$bin/pg_ctl -D $dir/data -o '-p $port -k $dir -c listen_addresses=127.0.0.1' -l $dir/log -w start" >/dev/null
    echo "export SKYWAY_TEST_POSTGRES_URL=postgres://skyway@127.0.0.1:$port/postgres"
    ;;
  stop)
    [ -d "$dir/data" ] && su postgres -c "$bin/pg_ctl -D $dir/data -m fast stop" >/dev/null 2>&1 || true
    rm -rf "$dir"
    ;;
esac

#!/usr/bin/env bash
# A throwaway PostgreSQL cluster for the tests (Debian's postgresql): initdb and pg_ctl as an
# unprivileged user (postgres when run as root), a Unix socket in a temporary folder, no TCP,
# removed afterwards.
#   bash tests/pg.sh run COMMAND...   start a cluster, run COMMAND with LABSHARE_TEST_PG set to its
#                                     URL (postgresql:///labshare?host=...), stop and remove it
# Sourced (. tests/pg.sh), it defines pg_start (sets PG_URL, PG_DIR) and pg_stop.
set -u

pg_bin() { ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1; }

# as_pg COMMAND...: run as the cluster's user
as_pg() {
    if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

pg_start() {
    local bin
    bin=$(pg_bin)
    [ -n "$bin" ] && [ -x "$bin/initdb" ] || { echo "pg.sh: PostgreSQL is not installed (make deps)" >&2; return 1; }
    PG_DIR=$(mktemp -d /tmp/labshare-pg.XXXXXX)
    chmod 755 "$PG_DIR"
    [ "$(id -u)" = 0 ] && chown postgres: "$PG_DIR"
    as_pg "$bin/initdb" -D "$PG_DIR/data" -U labshare -A trust -E UTF8 --locale=C.UTF-8 \
        >"$PG_DIR/initdb.log" 2>&1 || { cat "$PG_DIR/initdb.log" >&2; return 1; }
    as_pg "$bin/pg_ctl" -D "$PG_DIR/data" -l "$PG_DIR/server.log" -w -t 30 \
        -o "-k $PG_DIR -c listen_addresses='' -c max_connections=200" start >/dev/null ||
        { cat "$PG_DIR/server.log" >&2; return 1; }
    as_pg "$bin/createdb" -h "$PG_DIR" -U labshare labshare || return 1
    PG_URL="postgresql:///labshare?host=$PG_DIR&user=labshare"
}

pg_stop() {
    [ -n "${PG_DIR:-}" ] || return 0
    as_pg "$(pg_bin)/pg_ctl" -D "$PG_DIR/data" -m fast -w stop >/dev/null 2>&1
    rm -rf "$PG_DIR"
    PG_DIR=
}

if [ "${BASH_SOURCE[0]}" = "$0" ]; then
    [ "${1:-}" = run ] && [ $# -ge 2 ] || { echo "usage: bash tests/pg.sh run COMMAND..." >&2; exit 2; }
    shift
    trap pg_stop EXIT
    pg_start || exit 1
    LABSHARE_TEST_PG=$PG_URL "$@"
fi

#!/bin/sh
# Runs the Rust crate's cargo tests for one backend (tests/rust/meson.build):
#   sqlite    the crate's unit tests, doc tests and sqlite::* integration tests
#   postgres  the postgres::* integration tests, on the server of the libpq
#             environment (PGHOST, ...; scripts/with-postgres)
# Exit status: cargo's, or 77 (Meson's SKIP) with the reason on stdout.
set -u
backend=$1

if [ -n "${RETORT_RUST_SKIP:-}" ]; then
  echo "SKIP: $RETORT_RUST_SKIP"
  exit 77
fi
if [ "$backend" = postgres ]; then
  if [ -n "${RETORT_TEST_PG_SKIP:-}" ]; then
    echo "SKIP: no PostgreSQL server: $RETORT_TEST_PG_SKIP"
    exit 77
  fi
  if [ -z "${PGHOST:-}" ]; then
    echo "SKIP: no PostgreSQL server: PGHOST is not set (run under scripts/with-postgres)"
    exit 77
  fi
fi

# The library of this build, not an installed one.
LD_LIBRARY_PATH="$RETORT_LIB_DIR${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
export LD_LIBRARY_PATH
cd "$RETORT_RUST_CRATE" || exit 1

case "$backend" in
  sqlite) exec "$CARGO" test --offline --locked -- --skip postgres:: ;;
  postgres) exec "$CARGO" test --offline --locked --test migrations postgres:: ;;
  *) echo "test_rust.sh: unknown backend '$backend'" >&2; exit 2 ;;
esac

#!/bin/sh
# Runs the Rust crate's cargo tests for one backend (tests/rust/meson.build):
#   sqlite    the crate's unit tests, header check (tests/header.rs), doc tests
#             (the README's code) and sqlite::* integration tests
#   postgres  the postgres::* integration tests, on the server of the libpq
#             environment (PGHOST, ...; scripts/with-postgres)
#   example   the README's route: build.rs finds the library through
#             pkg-config alone (a retort.pc like the installed one, pointing
#             at this build), and examples/migrate.rs runs twice on a SQLite
#             file, applying its migrations the first time only
# Exit status: cargo's, or 77 (Meson's SKIP) with the reason on stdout.
set -u
backend=$1

if [ -n "${RETORT_RUST_SKIP:-}" ]; then
  # Under CI (CI=true) the crate's tests must run, as the PostgreSQL ones must
  # (scripts/with-postgres): scripts/install-deps installs cargo there.
  if [ "${CI:-}" = true ]; then
    echo "not ok - the Rust tests must run in CI: $RETORT_RUST_SKIP"
    exit 1
  fi
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

example() {
  tmp=$(mktemp -d) || exit 1
  trap 'rm -rf "$tmp"' EXIT
  sed "s|^libdir=.*|libdir=$RETORT_LIB_DIR|" "$RETORT_PC_FILE" >"$tmp/retort.pc" || exit 1
  export CARGO_TARGET_DIR="$CARGO_TARGET_DIR-pkg-config"
  build=$(env -u RETORT_LIB_DIR PKG_CONFIG_PATH="$tmp" \
    "$CARGO" build --offline --locked --example migrate --message-format=short 2>&1) ||
    { echo "$build"; echo "not ok - cargo build through pkg-config"; exit 1; }
  # build.rs must have taken the directory from pkg-config, not a fallback.
  if ! grep -qsx "cargo:rustc-link-search=native=$RETORT_LIB_DIR" \
       "$CARGO_TARGET_DIR"/debug/build/retort-*/output; then
    echo "$build"
    echo "not ok - build.rs did not take the library directory from pkg-config"
    exit 1
  fi
  program="$CARGO_TARGET_DIR/debug/examples/migrate"
  first=$("$program" "sqlite:$tmp/app.db" 2>&1) || { echo "$first"; exit 1; }
  second=$("$program" "sqlite:$tmp/app.db" 2>&1) || { echo "$second"; exit 1; }
  printf 'first run:\n%s\nsecond run:\n%s\n' "$first" "$second"
  [ "$first" = "$(printf 'running 0002_admin on sqlite\ncurrent: 0002_admin')" ] ||
    { echo "not ok - unexpected first run"; exit 1; }
  [ "$second" = "current: 0002_admin" ] ||
    { echo "not ok - the second run was not a no-op"; exit 1; }
  exit 0
}

case "$backend" in
  example) example ;;
  sqlite) exec "$CARGO" test --offline --locked -- --skip postgres:: ;;
  postgres) exec "$CARGO" test --offline --locked --test migrations postgres:: ;;
  *) echo "test_rust.sh: unknown backend '$backend'" >&2; exit 2 ;;
esac

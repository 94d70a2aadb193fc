#!/bin/sh
# Builds and runs a tiny program (consumer.c) through every route by which a
# project consumes retort, each as README's "Install and use" describes it:
#   1. pkg-config against the installed shared library;
#   2. pkg-config --static against the installed static archive, and nm
#      proving the program received no internal rt_* symbol;
#   3. a Meson subproject (dependency('retort') found through
#      meson.override_dependency, the command, examples and tests off), both
#      as a shared and as a static library;
#   4. CMake's find_package(retort CONFIG) and the target retort::retort,
#      against the shared and the static installation.
# Installs into a temporary prefix; prints TAP.  Environment: SRCDIR (the
# project's top level).
set -u
src=${SRCDIR:?SRCDIR is the project root}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
n=0
failed=0
ok() { n=$((n + 1)); echo "ok $n - $1"; }
not_ok() {
  n=$((n + 1)); failed=$((failed + 1)); echo "not ok $n - $1"
  [ -f "$tmp/log" ] && sed 's/^/# /' "$tmp/log" | tail -n 30
}
# run NAME CMD...: one TAP line for a command, its output kept for failures.
run() {
  name=$1; shift
  if "$@" >"$tmp/log" 2>&1; then ok "$name"; else not_ok "$name"; fi
}
expect_output() {
  name=$1; shift
  if "$@" >"$tmp/log" 2>&1 && grep -q '^at 0001_users with retort ' "$tmp/log"; then
    ok "$name"
  else
    not_ok "$name"
  fi
}

off="-Dtests=false -Dbench=false -Dcommand=false -Dexamples=false -Dbuildtype=debugoptimized"
install_variant() { # KIND PREFIX
  meson setup "$tmp/build-$1" "$src" --prefix="$2" --libdir=lib -Ddefault_library="$1" $off &&
    ninja -C "$tmp/build-$1" && meson install -C "$tmp/build-$1" --quiet
}
echo "1..13"
run "install the shared library into a prefix" install_variant shared "$tmp/shared"
run "install the static library into a prefix" install_variant static "$tmp/static"

# 1. pkg-config, shared
export PKG_CONFIG_PATH="$tmp/shared/lib/pkgconfig"
# shellcheck disable=SC2046
run "pkg-config: compile and link" \
  cc -o "$tmp/pc-shared" "$src/tests/consumers/consumer.c" $(pkg-config --cflags --libs retort)
expect_output "pkg-config: the program runs" env LD_LIBRARY_PATH="$tmp/shared/lib" "$tmp/pc-shared"

# 2. pkg-config --static against an installation holding only the archive
export PKG_CONFIG_PATH="$tmp/static/lib/pkgconfig"
# shellcheck disable=SC2046
run "pkg-config --static: compile and link" \
  cc -o "$tmp/pc-static" "$src/tests/consumers/consumer.c" $(pkg-config --static --cflags --libs retort)
expect_output "pkg-config --static: the program runs without libretort.so" "$tmp/pc-static"
# The archive exports the public API and nothing else; the program links no rt_* global.
leaked=$( { nm -g --defined-only "$tmp/static/lib/libretort.a" | awk 'NF == 3 {print $3}' |
            grep -v '^retort_'; nm "$tmp/pc-static" | awk '$2 ~ /^[TDBR]$/ && $3 ~ /^rt_/'; } )
if [ -z "$leaked" ] && nm "$tmp/pc-static" | grep -q ' T retort_migrate_to_head$'; then
  ok "static: only retort_* symbols are global in the archive and the program"
else
  echo "$leaked" >"$tmp/log"; not_ok "static: only retort_* symbols are global in the archive and the program"
fi

# 3. Meson subproject, as a parent project would vendor it
mesonproj() { # DIR DEFAULT_LIBRARY
  mkdir -p "$1/subprojects"
  ln -s "$src" "$1/subprojects/retort"
  cp "$src/tests/consumers/consumer.c" "$1/"
  cat >"$1/meson.build" <<MESON
project('consumer', 'c')
retort_dep = dependency('retort', fallback : 'retort',
  default_options : ['tests=false', 'bench=false', 'command=false', 'examples=false',
                     'default_library=$2'])
executable('consumer', 'consumer.c', dependencies : retort_dep)
MESON
  # The vendored copy, not an installed retort that pkg-config would find.
  env -u PKG_CONFIG_PATH meson setup "$1/build" "$1" --force-fallback-for=retort &&
    ninja -C "$1/build"
}
run "meson subproject (shared): configure and build" mesonproj "$tmp/mshared" shared
expect_output "meson subproject (shared): the program runs" "$tmp/mshared/build/consumer"
run "meson subproject (static): configure and build" mesonproj "$tmp/mstatic" static
expect_output "meson subproject (static): the program runs" "$tmp/mstatic/build/consumer"

# 4. CMake find_package
cmakeproj() { # DIR PREFIX
  mkdir -p "$1"
  cp "$src/tests/consumers/consumer.c" "$1/"
  cat >"$1/CMakeLists.txt" <<CMAKE
cmake_minimum_required(VERSION 3.13)
project(consumer C)
find_package(retort 0.1 CONFIG REQUIRED)
add_executable(consumer consumer.c)
target_link_libraries(consumer PRIVATE retort::retort)
CMAKE
  cmake -S "$1" -B "$1/build" -DCMAKE_PREFIX_PATH="$2" && cmake --build "$1/build"
}
if cmakeproj "$tmp/cshared" "$tmp/shared" >"$tmp/log" 2>&1 &&
   LD_LIBRARY_PATH="$tmp/shared/lib" "$tmp/cshared/build/consumer" >>"$tmp/log" 2>&1 &&
   grep -q '^at 0001_users' "$tmp/log"; then
  ok "cmake find_package (shared): builds and runs"
else
  not_ok "cmake find_package (shared): builds and runs"
fi
if cmakeproj "$tmp/cstatic" "$tmp/static" >"$tmp/log" 2>&1 &&
   "$tmp/cstatic/build/consumer" >>"$tmp/log" 2>&1 && grep -q '^at 0001_users' "$tmp/log"; then
  ok "cmake find_package (static): builds and runs"
else
  not_ok "cmake find_package (static): builds and runs"
fi
[ "$failed" -eq 0 ]

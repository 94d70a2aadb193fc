#!/bin/sh
# Builds the Debian packages from a copy of the source tree
# (dpkg-buildpackage -b -us -uc, tests off), unpacks them into a scratch
# root, and uses them as an installed system would: the startup example
# and the consumer program compiled with the packaged headers, pkg-config
# file and library, the packaged command migrating a database, and the
# packaged Python binding.  Prints TAP.  Environment: SRCDIR.
set -u
src=${SRCDIR:?SRCDIR is the project root}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
n=0
failed=0
ok() { n=$((n + 1)); echo "ok $n - $1"; }
not_ok() {
  n=$((n + 1)); failed=$((failed + 1)); echo "not ok $n - $1"
  [ -f "$tmp/log" ] && sed 's/^/# /' "$tmp/log" | tail -n 40
}
run() {
  name=$1; shift
  if "$@" >"$tmp/log" 2>&1; then ok "$name"; else not_ok "$name"; fi
}
echo "1..9"
for tool in dpkg-buildpackage dh; do
  if ! command -v "$tool" >/dev/null 2>&1; then
    echo "Bail out! $tool is missing (scripts/install-deps test installs it)"
    exit 1
  fi
done

# dpkg-buildpackage writes next to the tree it builds: build a copy, without
# the developer's build directories.
mkdir "$tmp/pkg"
( cd "$src" && tar --exclude='./build*' --exclude=./.git --exclude='./debian/.debhelper' \
    -cf - . ) | ( cd "$tmp/pkg" && mkdir retort && cd retort && tar -xf - )
run "dpkg-buildpackage builds the packages" \
  sh -c "cd '$tmp/pkg/retort' && DEB_BUILD_OPTIONS=nocheck dpkg-buildpackage -b -us -uc"

root="$tmp/root"
mkdir "$root"
for p in libretort0 libretort-dev retort python3-retort; do
  deb=$(ls "$tmp/pkg/${p}_"*.deb 2>/dev/null | head -n 1)
  [ -n "$deb" ] && dpkg-deb -x "$deb" "$root"
done
if [ -n "$(ls "$tmp/pkg/"libretort0_*.deb "$tmp/pkg/"libretort-dev_*.deb "$tmp/pkg/"retort_*.deb \
             "$tmp/pkg/"python3-retort_*.deb 2>/dev/null | wc -l | grep -x 4)" ]; then
  ok "the four packages exist and unpack"
else
  ls "$tmp/pkg" >"$tmp/log"; not_ok "the four packages exist and unpack"
fi
if dpkg-deb -I "$tmp/pkg/"libretort0_*.deb symbols >"$tmp/log" 2>&1 &&
   grep -q ' retort_migrate_to_head@RETORT_0.1 ' "$tmp/log"; then
  ok "libretort0 carries a symbols file"
else
  not_ok "libretort0 carries a symbols file"
fi

libdir=$(dirname "$(ls "$root"/usr/lib/*/libretort.so.0 2>/dev/null | head -n 1)")
export PKG_CONFIG_SYSROOT_DIR="$root" PKG_CONFIG_PATH="$libdir/pkgconfig"
# shellcheck disable=SC2046
run "the startup example compiles against the packaged library" \
  cc -o "$tmp/startup-app" "$src/examples/startup/main.c" $(pkg-config --cflags --libs retort)
if (cd "$tmp" && LD_LIBRARY_PATH="$libdir" ./startup-app "sqlite:$tmp/app.db") >"$tmp/log" 2>&1 &&
   grep -q 'at 0004_users_plan_idx' "$tmp/log"; then
  ok "the startup example migrates its database with the packaged library"
else
  not_ok "the startup example migrates its database with the packaged library"
fi
# shellcheck disable=SC2046
# With both libretort.so and libretort.a installed, -lretort means the
# shared one: name the archive, and let pkg-config --static add the rest.
# shellcheck disable=SC2046
run "the packaged archive links with what pkg-config --static names" \
  cc -o "$tmp/consumer" "$src/tests/consumers/consumer.c" $(pkg-config --cflags retort) \
     "$libdir/libretort.a" $(pkg-config --static --libs retort | sed 's/ -lretort / /')
if "$tmp/consumer" >"$tmp/log" 2>&1 && grep -q '^at 0001_users' "$tmp/log"; then
  ok "the statically linked program runs"
else
  not_ok "the statically linked program runs"
fi
cmd="$root/usr/bin/retort"
if (cd "$tmp" && mkdir proj && cd proj && LD_LIBRARY_PATH="$libdir" "$cmd" init &&
    LD_LIBRARY_PATH="$libdir" "$cmd" revision -m "create t" &&
    f=$(ls migrations/*.sql | head -n 1) &&
    printf -- '-- retort:up\nCREATE TABLE t (id INTEGER);\n-- retort:down\nDROP TABLE t;\n' >"$f" &&
    LD_LIBRARY_PATH="$libdir" "$cmd" --url "sqlite:$tmp/cmd.db" upgrade) >"$tmp/log" 2>&1 &&
   [ "$(sqlite3 "$tmp/cmd.db" "SELECT count(*) FROM sqlite_master WHERE name = 't'")" = 1 ] &&
   [ -f "$root/usr/share/man/man1/retort.1.gz" ]; then
  ok "the packaged command migrates a database, and its man page is installed"
else
  not_ok "the packaged command migrates a database, and its man page is installed"
fi
if PYTHONPATH="$root/usr/lib/python3/dist-packages" RETORT_LIBRARY="$libdir/libretort.so.0" \
   python3 -c '
import os, retort
assert retort.__file__.endswith("/dist-packages/retort/__init__.py"), retort.__file__
assert os.path.isfile(os.path.join(os.path.dirname(retort.__file__), "py.typed"))
assert retort.__version__ == retort.version(), (retort.__version__, retort.version())
with retort.Retort("sqlite::memory:") as r:
    r.add_sql("a1", None, "create t", "CREATE TABLE t (id INTEGER)", "DROP TABLE t")
    r.migrate_to_head()
    assert r.current() == ["a1"], r.current()
' >"$tmp/log" 2>&1; then
  ok "the packaged Python package (retort/, typed, its version the library's) migrates a database"
else
  not_ok "the packaged Python package (retort/, typed, its version the library's) migrates a database"
fi
[ "$failed" -eq 0 ]

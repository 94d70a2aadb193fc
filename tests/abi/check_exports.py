"""The exported ABI matches what the headers promise (TAP output).

    check_exports.py --library LIB --include DIR --map MAP --soversion N --abi-doc DOC

Checks, one TAP line each:
  - the shared object exports exactly the RETORT_API functions declared in
    the public headers: nothing missing, nothing internal leaking out;
  - lib/retort.map lists exactly those functions, and every exported symbol
    carries, as its default version, the map node that lists it;
  - only functions are exported (no data symbols a binding would have to
    mirror) and every public function is named retort_*;
  - the public headers define no struct layout except the versioned
    retort_backend vtable, and declare no variadic function, FILE * or
    va_list (bindings cannot call those);
  - RETORT_BACKEND_ABI_VERSION equals the newest "members from version N
    on" block of the vtable;
  - the SONAME is libretort.so.N for the build's soversion, and doc/ABI.md
    names that SONAME and every version node of the map.
Needs binutils (nm, readelf).
"""

import argparse
import os
import re
import subprocess
import sys

ALLOWED_STRUCTS = {"retort_backend"}


def strip_c(text):
    text = re.sub(r"/\*.*?\*/", " ", text, flags=re.S)
    text = re.sub(r"//[^\n]*", " ", text)
    # Preprocessor lines, with continuations: the export macro's own
    # definition mentions RETORT_API without declaring anything.
    return re.sub(r"^[ \t]*#(?:[^\n]*\\\n)*[^\n]*", " ", text, flags=re.M)


def header_api(include_dir):
    """{function: header}, and the raw declarations, of every RETORT_API."""
    functions, decls, structs = {}, [], []
    for name in sorted(os.listdir(include_dir)):
        if not name.endswith(".h"):
            continue
        with open(os.path.join(include_dir, name), encoding="utf-8") as f:
            text = strip_c(f.read())
        for decl in re.findall(r"\bRETORT_API\b([^;{]*)", text):
            decls.append((name, " ".join(decl.split())))
            m = re.search(r"\b(\w+)\s*\(", decl)
            if m:
                functions[m.group(1)] = name
        for m in re.finditer(r"\b(struct|union)\s*(\w*)\s*\{", text):
            structs.append((name, m.group(1), m.group(2) or "(anonymous)"))
    return functions, decls, structs


def map_nodes(path):
    """[(node, [symbols])] of the version script, in order."""
    with open(path, encoding="utf-8") as f:
        text = re.sub(r"/\*.*?\*/", " ", f.read(), flags=re.S)
    text = re.sub(r"#[^\n]*", " ", text)
    nodes = []
    for m in re.finditer(r"([A-Za-z_][\w.]*)\s*\{(.*?)\}\s*([\w.]*)\s*;", text, flags=re.S):
        body = m.group(2)
        glob = re.split(r"\blocal\s*:", body)[0]
        glob = re.sub(r"\bglobal\s*:", " ", glob)
        symbols = [s.strip() for s in glob.split(";") if s.strip()]
        nodes.append((m.group(1), symbols))
    return nodes


def exported(library):
    """{symbol: (nm type, version, is_default)} of the defined dynamic symbols."""
    out = subprocess.run(["nm", "-D", "--defined-only", library], capture_output=True,
                         text=True, check=True).stdout
    symbols = {}
    for line in out.splitlines():
        parts = line.split()
        if len(parts) < 3:
            continue
        kind, name = parts[1], parts[2]
        if kind == "A":  # the version node names themselves
            continue
        version, default = None, False
        if "@@" in name:
            name, version = name.split("@@", 1)
            default = True
        elif "@" in name:
            name, version = name.split("@", 1)
        symbols[name] = (kind, version, default)
    return symbols


def soname(library):
    out = subprocess.run(["readelf", "-d", "--wide", library], capture_output=True,
                         text=True, check=True).stdout
    m = re.search(r"\(SONAME\)\s+Library soname: \[([^\]]+)\]", out)
    return m.group(1) if m else None


class Tap:
    def __init__(self):
        self.n = 0
        self.failed = 0

    def check(self, ok, description, details=()):
        self.n += 1
        print("%s %d - %s" % ("ok" if ok else "not ok", self.n, description))
        if not ok:
            self.failed += 1
            for line in details:
                print("# " + line)

    def done(self):
        print("1..%d" % self.n)
        return 1 if self.failed else 0


def listing(label, names):
    return ["%s: %s" % (label, ", ".join(sorted(names)))] if names else []


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--library", required=True)
    ap.add_argument("--include", required=True)
    ap.add_argument("--map", required=True)
    ap.add_argument("--soversion", required=True)
    ap.add_argument("--abi-doc", required=True)
    args = ap.parse_args()

    tap = Tap()
    functions, decls, structs = header_api(args.include)
    nodes = map_nodes(args.map)
    in_map = {}
    for node, symbols in nodes:
        for s in symbols:
            in_map.setdefault(s, node)
    symbols = exported(args.library)
    header = set(functions)
    lib = set(symbols)

    tap.check(len(header) > 0, "the public headers declare RETORT_API functions")
    tap.check(header <= lib, "every RETORT_API function is exported",
              listing("declared but not exported (not defined, or not in the map)",
                      header - lib))
    tap.check(lib <= header, "nothing but the RETORT_API functions is exported",
              listing("exported but not declared in include/retort", lib - header))
    tap.check(set(in_map) == header, "lib/retort.map lists exactly the public functions",
              listing("in the headers, missing from the map", header - set(in_map)) +
              listing("in the map, not declared in the headers", set(in_map) - header))
    dupes = [s for node, syms in nodes for s in syms if in_map.get(s) != node]
    tap.check(not dupes, "each symbol appears in one version node only",
              listing("listed in more than one node", dupes))
    wrong_version = ["%s@%s (map: %s)" % (s, v[1], in_map.get(s)) for s, v in symbols.items()
                     if s in in_map and (v[1] != in_map[s] or not v[2])]
    unversioned = [s for s, v in symbols.items() if not v[1]]
    tap.check(not wrong_version and not unversioned,
              "every exported symbol has its map node as default version",
              listing("wrong or non-default version", wrong_version) +
              listing("unversioned", unversioned))
    data = [s for s, v in symbols.items() if v[0] not in ("T", "t", "W", "i")]
    tap.check(not data, "only functions are exported, no data symbols",
              listing("data symbols", data))
    badly_named = [f for f in header if not f.startswith("retort_")]
    tap.check(not badly_named, "every public function is named retort_*",
              listing("not retort_*", badly_named))

    layouts = ["%s: %s %s" % s for s in structs if s[2] not in ALLOWED_STRUCTS]
    tap.check(not layouts, "no struct layout in the public headers but retort_backend",
              layouts)
    unbindable = ["%s: %s" % d for d in decls
                  if "..." in d[1] or re.search(r"\bFILE\b|\bva_list\b", d[1])]
    tap.check(not unbindable, "no variadic function, FILE * or va_list in the API",
              unbindable)

    # The vtable's version blocks and its version macro move together: a
    # driver's abi_version is what tells the core which members it has.
    with open(os.path.join(args.include, "backend.h"), encoding="utf-8") as f:
        backend_h = f.read()
    blocks = [int(n) for n in re.findall(r"members from version (\d+) on", backend_h)]
    macro = re.search(r"#define\s+RETORT_BACKEND_ABI_VERSION\s+(\d+)", backend_h)
    tap.check(bool(blocks) and macro is not None and max(blocks) == int(macro.group(1)),
              "RETORT_BACKEND_ABI_VERSION is the newest \"members from version N on\" block",
              ["blocks: %s, RETORT_BACKEND_ABI_VERSION: %s"
               % (blocks, macro.group(1) if macro else None)])

    expected = "libretort.so." + args.soversion
    actual = soname(args.library)
    tap.check(actual == expected, "the SONAME is " + expected, ["SONAME: %s" % actual])
    with open(args.abi_doc, encoding="utf-8") as f:
        doc = f.read()
    tap.check(expected in doc, "doc/ABI.md documents the SONAME " + expected,
              ["add the SONAME %s and why it changed to doc/ABI.md" % expected])
    undocumented = [node for node, _ in nodes if node not in doc]
    tap.check(not undocumented, "doc/ABI.md has a ledger entry for every version node",
              listing("version nodes missing from doc/ABI.md", undocumented))
    return tap.done()


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/env python3
"""The struct-growth gate of docs/abi.md.

Every public struct that begins with struct_size may only grow at its end:
  - each member of the first ABI (abi/v1/layout.txt, frozen from release
    0.1.0) keeps its name, offset and size;
  - each new member starts at or after the first ABI's sizeof (so an old
    caller's tail padding is never read as a new field);
  - no struct of the first ABI disappears.
The current layouts come from the DWARF of the built library (abidw).

    check_struct_growth.py LIBFPO_SO HEADERS_DIR LAYOUT      check
    check_struct_growth.py LIBFPO_SO HEADERS_DIR LAYOUT --write   freeze (once)

Exit 77 (skip) without abidw; FPO_ABI_REQUIRED=1 turns that into an error.
"""
import os
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET


def skip(why):
    print("SKIP:", why)
    sys.exit(99 if os.environ.get("FPO_ABI_REQUIRED") == "1" else 77)


def type_size(types, tid, depth=0):
    """Size in bits of the type with id tid, following typedefs/qualifiers."""
    el = types.get(tid)
    if el is None or depth > 50:
        return None
    if el.get("size-in-bits"):
        return int(el.get("size-in-bits"))
    if el.tag == "enum-decl":
        u = el.find("underlying-type")
        return type_size(types, u.get("type-id"), depth + 1) if u is not None else 32
    if el.get("type-id"):
        return type_size(types, el.get("type-id"), depth + 1)
    return None


def layouts(lib, hdrs):
    out = subprocess.run(["abidw", "--no-corpus-path", "--headers-dir", hdrs, lib],
                         check=True, capture_output=True, text=True).stdout
    root = ET.fromstring(out)
    layouts.arch = root.get("architecture", "")
    types = {el.get("id"): el for el in root.iter() if el.get("id")}
    structs = {}
    for cl in root.iter("class-decl"):
        name = cl.get("name", "")
        if not name.startswith("fpo_") or cl.get("is-declaration-only") == "yes":
            continue
        members = []
        for dm in cl.findall("data-member"):
            var = dm.find("var-decl")
            members.append((var.get("name"), int(dm.get("layout-offset-in-bits")),
                            type_size(types, var.get("type-id"))))
        if not members or members[0][0] != "struct_size":
            continue  # not a sized struct (opaque handles have no members)
        structs[name] = (int(cl.get("size-in-bits")), members)
    return structs


def write(path, structs):
    with open(path, "w") as f:
        f.write("# The first ABI's public struct layouts (release 0.1.0), frozen: never edit.\n"
                "# struct NAME SIZE_BITS, then MEMBER OFFSET_BITS SIZE_BITS. Written by\n"
                "# tests/check_struct_growth.py --write; read by the same script.\n"
                "arch %s\n" % layouts.arch)
        for name in sorted(structs):
            size, members = structs[name]
            f.write("struct %s %d\n" % (name, size))
            for m, off, sz in members:
                f.write("  %s %d %d\n" % (m, off, sz))


def read(path):
    structs, cur = {}, None
    for line in open(path):
        if line.startswith("#") or not line.strip():
            continue
        w = line.split()
        if w[0] == "arch":
            read.arch = w[1] if len(w) > 1 else ""
        elif w[0] == "struct":
            cur = w[1]
            structs[cur] = (int(w[2]), [])
        else:
            structs[cur][1].append((w[0], int(w[1]), int(w[2])))
    return structs


def main():
    if len(sys.argv) < 4:
        print(__doc__)
        return 2
    lib, hdrs, layout = sys.argv[1:4]
    if not shutil.which("abidw"):
        skip("abidw not found (install abigail-tools)")
    cur = layouts(lib, hdrs)
    if len(cur) < 10:
        print("ERROR: found only %d sized structs in %s; the parser is broken" % (len(cur), lib))
        return 99
    if "--write" in sys.argv[4:]:
        write(layout, cur)
        print("wrote %s: %d structs" % (layout, len(cur)))
        return 0
    read.arch = ""
    v1 = read(layout)
    if read.arch and read.arch != layouts.arch:
        skip("the frozen layouts are for %s, the library is %s" % (read.arch, layouts.arch))
    bad = []
    for name, (size, members) in sorted(v1.items()):
        if name not in cur:
            bad.append("%s: removed (it is part of the first ABI)" % name)
            continue
        csize, cmembers = cur[name]
        for i, m in enumerate(members):
            if i >= len(cmembers) or cmembers[i] != m:
                got = cmembers[i] if i < len(cmembers) else "nothing"
                bad.append("%s: first-ABI member %s at bit %d (%d bits) is now %s"
                           % (name, m[0], m[1], m[2], got))
                break
        for m in cmembers[len(members):]:
            if m[1] < size:
                bad.append("%s: new member %s at bit %d starts inside the first ABI's "
                           "sizeof (%d bits): an old caller's padding would be read as it"
                           % (name, m[0], m[1], size))
        if csize < size:
            bad.append("%s: shrank from %d to %d bits" % (name, size, csize))
    if bad:
        print("FAIL: public structs changed against the first ABI (docs/abi.md, 'Adding a field'):")
        for b in bad:
            print("  " + b)
        return 1
    grown = [n for n in sorted(v1) if cur[n][0] > v1[n][0]]
    print("struct growth OK: %d structs of the first ABI intact; grown since: %s"
          % (len(v1), ", ".join(grown) if grown else "none"))
    return 0


if __name__ == "__main__":
    sys.exit(main())

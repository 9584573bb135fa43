#!/usr/bin/env python3
"""Check that every relative Markdown link in the repository's documentation
resolves to an existing file inside the repository.

    python3 tools/check-links.py [REPO_ROOT]

Checks README.md, docs/*.md and python/README.md: inline links and images
`[text](target)`, `![alt](target)` and reference definitions `[id]: target`,
outside fenced code blocks and inline code spans. URLs with a scheme
(https:, mailto:, ...) and pure `#anchor` links are skipped; a `#fragment`
or title after a path is ignored. A link fails if its target does not exist
or lies outside the repository (such as `../shared/...` from the top level
or `/abs/path`). Exits 1 listing every failure, 0 otherwise."""
import glob
import os
import re
import sys

INLINE = re.compile(r"!?\[(?:[^\[\]]|\[[^\[\]]*\])*\]\(\s*(<[^>]*>|[^()\s]*(?:\([^()\s]*\)[^()\s]*)*)"
                    r"(?:\s+(?:\"[^\"]*\"|'[^']*'|\([^)]*\)))?\s*\)")
REFDEF = re.compile(r"^ {0,3}\[[^\]]+\]:\s*(<[^>]*>|\S+)")
SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*:")
FENCE = re.compile(r"^ {0,3}(```|~~~)")


def strip_code_spans(line):
    """Blank out `code` spans (any number of backticks) so their text is not parsed."""
    out, i = [], 0
    while i < len(line):
        if line[i] == "`":
            j = i
            while j < len(line) and line[j] == "`":
                j += 1
            ticks = line[i:j]
            end = line.find(ticks, j)
            if end < 0:
                out.append(line[i:j])
                i = j
                continue
            out.append(" " * (end + len(ticks) - i))
            i = end + len(ticks)
        else:
            out.append(line[i])
            i += 1
    return "".join(out)


def links(path):
    """(line number, target) of every link in the Markdown file at path."""
    fence = None
    with open(path, encoding="utf-8") as f:
        for n, line in enumerate(f, 1):
            m = FENCE.match(line)
            if m:
                if fence is None:
                    fence = m.group(1)
                elif m.group(1) == fence:
                    fence = None
                continue
            if fence is not None:
                continue
            text = strip_code_spans(line)
            for m in INLINE.finditer(text):
                yield n, m.group(1)
            m = REFDEF.match(text)
            if m:
                yield n, m.group(1)


def check(root):
    root = os.path.realpath(root)
    files = [os.path.join(root, "README.md"), os.path.join(root, "python", "README.md")]
    files += sorted(glob.glob(os.path.join(root, "docs", "*.md")))
    failures, count = [], 0
    for md in files:
        if not os.path.isfile(md):
            failures.append("%s: missing (expected to be checked)" % os.path.relpath(md, root))
            continue
        rel_md = os.path.relpath(md, root)
        for n, target in links(md):
            if target.startswith("<") and target.endswith(">"):
                target = target[1:-1]
            if not target or target.startswith("#") or SCHEME.match(target):
                continue
            count += 1
            path = target.split("#", 1)[0].split("?", 1)[0]
            if path.startswith("/"):
                failures.append("%s:%d: %s: absolute path (links must stay inside the repository)"
                                % (rel_md, n, target))
                continue
            resolved = os.path.realpath(os.path.join(os.path.dirname(md), path))
            if os.path.commonpath([root, resolved]) != root:
                failures.append("%s:%d: %s: points outside the repository" % (rel_md, n, target))
            elif not os.path.exists(resolved):
                failures.append("%s:%d: %s: no such file" % (rel_md, n, target))
    return count, len(files), failures


def main(argv):
    root = argv[1] if len(argv) > 1 else os.path.join(os.path.dirname(__file__), "..")
    count, nfiles, failures = check(root)
    for f in failures:
        print(f)
    print("%d relative links in %d files, %d broken" % (count, nfiles, len(failures)))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))

#!/usr/bin/env python3
"""Doxygen INPUT_FILTER for libfpo's public headers.

The headers document the API with plain C comments (/* ... */), which
Doxygen ignores. This filter rewrites them on the fly (the headers on disk
are never changed) so that Doxygen attaches each comment where a reader
would:

  - the first comment of a file (at offset 0) becomes the file's
    documentation: /** ... @file */;
  - a comment that ends on its own line and is followed, with no blank line
    in between, by a declaration (function, type, struct member, macro)
    becomes that declaration's documentation: /** ... */;
  - if that comment is followed by a run of two or more FPO_API
    declarations with no blank line, and the comment is visibly about all
    of them (it names each later function, e.g. "obs_accumulate ...
    obs_commit"; or the run is a get/set or save/load pair, e.g.
    fpo_policy_save_mem / fpo_policy_load_mem; or it is the headers'
    "A / B" idiom over exactly two, e.g. "Save to / load from"), the run
    is wrapped in an unnamed member group and DISTRIBUTE_GROUP_DOC = YES in
    the Doxyfile gives each function the comment. Otherwise (e.g. "A deep copy" over clone, then destroy) only
    the first declaration gets it;
  - a comment that follows code on the same line (struct members, enum
    values, #define) becomes a trailing comment: /**< ... */;
  - every other comment (separators, comments before #include, #ifndef,
    closing braces or a blank line) is left alone.

Line numbers are preserved: nothing is added but characters on existing
lines. Python 3 standard library only. Usage: doxy-filter.py FILE
"""
import re
import sys

COMMENT = re.compile(r"/\*.*?\*/", re.S)
# What may follow a comment without being the thing it documents.
NOT_A_DECL = re.compile(r'(#\s*(include|if|ifdef|ifndef|else|elif|endif|undef)\b|}|extern\s+"C")')


def statements(block):
    """Top-level `;`-terminated statements in block, or None if it holds
    anything else (a brace, a preprocessor line, a trailing fragment)."""
    out, cur = [], []
    for ch in block:
        if ch in "{}#":
            return None
        cur.append(ch)
        if ch == ";":
            out.append("".join(cur).strip())
            cur = []
    if "".join(cur).strip():
        return None
    return out


FUNC_NAME = re.compile(r"\b(fpo_[a-z0-9]+_[A-Za-z0-9_]+)\s*\(")


def covers_run(comment, stmts):
    """Is the comment visibly about every declaration of the run?"""
    names = [FUNC_NAME.search(s) for s in stmts]
    if not all(names):
        return False
    # fpo_policy_obs_commit -> obs_commit
    shorts = [n.group(1).split("_", 2)[2] for n in names]
    if all(re.search(r"\b%s\b" % re.escape(sh), comment) for sh in shorts[1:]):
        return True
    if len(stmts) != 2:
        return False
    # A getter/setter or save/load pair under one comment is one topic.
    verbs = {sh.split("_", 1)[0] for sh in shorts}
    objects = {sh.split("_", 1)[1] if "_" in sh else "" for sh in shorts}
    if len(objects) == 1 and verbs in ({"get", "set"}, {"save", "load"}):
        return True
    return re.search(r"\w / \w", comment) is not None


def following_block(text, pos):
    """Text from pos up to the first blank line or comment or preprocessor
    line, and where it ends."""
    lines_end = pos
    n = len(text)
    while lines_end < n:
        nl = text.find("\n", lines_end)
        line = text[lines_end : (nl if nl >= 0 else n)]
        s = line.strip()
        if not s or s.startswith("/*") or s.startswith("#") or s.startswith("}"):
            break
        lines_end = (nl + 1) if nl >= 0 else n
    return text[pos:lines_end], lines_end


def no_early_brief(comment):
    """With JAVADOC_AUTOBRIEF the brief ends at the first ". "; keep
    abbreviations from ending it ("e.g.\\ " is Doxygen's escape)."""
    return re.sub(r"\b(e\.g|i\.e|etc|vs)\. ", r"\1.\\ ", comment)


def filter_text(text):
    out = []
    last = 0
    # Insertions after a matched run (position -> string), applied as we go.
    pending_close = None  # (position, string)
    for m in COMMENT.finditer(text):
        start, end = m.span()
        body = m.group(0)
        if body.startswith("/**") or body.startswith("/*!"):
            continue  # already a Doxygen comment (none today)
        # Flush text before the comment, inserting a pending group close.
        chunk = text[last:start]
        if pending_close and last <= pending_close[0] <= start:
            k = pending_close[0] - last
            chunk = chunk[:k] + pending_close[1] + chunk[k:]
            pending_close = None
        out.append(chunk)
        last = end

        line_start = text.rfind("\n", 0, start) + 1
        before = text[line_start:start]
        if start == 0:
            out.append("/**" + no_early_brief(body[2:-2].rstrip()) + " @file */")
            continue
        if before.strip():
            # Trailing comment: documents the member / value / macro on its line.
            out.append("/**<" + no_early_brief(body[2:]))
            continue
        # A leading comment: what comes after it?
        nl = text.find("\n", end)
        rest_of_line = text[end : nl if nl >= 0 else len(text)]
        if rest_of_line.strip():
            out.append(body)  # code after the comment on the same line: leave it
            continue
        after = text[nl + 1 :] if nl >= 0 else ""
        first = after.split("\n", 1)[0]
        if not first.strip() or NOT_A_DECL.match(first.strip()) or first.strip().startswith("/*"):
            out.append(body)  # separator or section comment
            continue
        doc = "/**" + no_early_brief(body[2:])
        block, block_end = following_block(text, nl + 1)
        stmts = statements(block)
        if (stmts and len(stmts) >= 2 and all(s.startswith("FPO_API") for s in stmts)
                and covers_run(body, stmts)):
            doc = "/**@{*/" + doc
            # Close the group right after the last `;` of the run.
            close_at = block.rstrip().rfind(";") + 1 + (nl + 1)
            pending_close = (close_at, "/**@}*/")
        out.append(doc)
    chunk = text[last:]
    if pending_close and last <= pending_close[0] <= len(text):
        k = pending_close[0] - last
        chunk = chunk[:k] + pending_close[1] + chunk[k:]
    out.append(chunk)
    return "".join(out)


def main(argv):
    if len(argv) != 2:
        sys.stderr.write("usage: doxy-filter.py FILE\n")
        return 2
    with open(argv[1], encoding="utf-8") as f:
        text = f.read()
    sys.stdout.write(filter_text(text))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))

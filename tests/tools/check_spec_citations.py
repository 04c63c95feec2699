#!/usr/bin/env python3
"""Lint: every spec citation in the sources resolves to a section of a document in the repository.

Comments cite the specs as "inference §5.1", "seg spec §2.7", "style §4 items 1-4",
"anchors §6.3 item 2", "architecture.md §6.4", "weights-prng §3" and so on (docs/spec/README.md
lists the names). This script scans engine/, gst/, overlay/, tools/, tests/ and docs/ and fails,
naming file:line, when a cited section (or item/step) is not in the document the name maps to.

Resolution rules (the same as docs/spec/README.md states):
- A section "N.M" exists when the document has a heading numbered "N.M", or a top-level ordered
  list item "M." directly under the heading numbered "N" (numbered pitfalls, corrections, steps).
  In a document without numbered headings (docs/weights-prng.md), top-level list items "k." are
  sections "k".
- "§N item k" / "§N step k" (also "items 1-4", "items 1 and 2", "items 5/6") need list item k under
  section N. A range "§2.6-2.8" / "§2.6-§2.8" checks both ends.
- A bare "§N" continues the citation just before it when only separators stand between them
  ("inference §5.2, §8.6", "seg §2.1/§3.1", "§0 / §9.6"), also across a line break when the
  new line starts with the citation (after a comment leader); otherwise it belongs to the
  file's default spec (the FILE_DEFAULTS table, longest path prefix), or, for files mapped to
  CONTEXT, to the last named citation above it in the file. A bare citation with neither fails.
- Citations of outside standards ("ITU-R BT.601 §2.5", "ISO 14496-12 §8.2.2", "APPNOTE.TXT §4.3")
  and a "§" right after a quote (a string literal in a test) are ignored.

Usage: check_spec_citations.py [--root DIR]   (default: the repository holding this script)
Stdlib only. Exit status 0 when every citation resolves, 1 otherwise.
"""
import argparse
import os
import re
import sys

# citation name -> document (relative to the repository root)
SPEC_FILES = {
    "inference": "docs/spec/inference.md",
    "seg": "docs/spec/segmentation.md",
    "style": "docs/spec/style.md",
    "anchors": "docs/spec/anchors.md",
    "architecture": "docs/architecture.md",
    "weights-prng": "docs/weights-prng.md",
}

# spelling in the sources -> citation name (matched case-insensitively, with an optional ".md",
# an optional markdown link target and an optional " spec" before the "§")
NAMES = {
    "inference": "inference",
    "ufo-vit-inference": "inference",
    "seg": "seg",
    "segmentation": "seg",
    "ufo-vit-segmentation": "seg",
    "style": "style",
    "anchors": "anchors",
    "ecosystem-anchors": "anchors",
    "architecture": "architecture",
    "weights-prng": "weights-prng",
}

CONTEXT = "context"  # bare citations follow the last named citation above them
# default spec of bare citations by path prefix (the longest matching prefix wins)
FILE_DEFAULTS = {
    "engine/": "inference",
    "engine/tasks/instance.c": "seg",
    "engine/tasks/semantic.c": "seg",
    "engine/tasks/masks.c": "seg",
    "engine/model/prng.c": "weights-prng",
    "engine/model/prng.h": "weights-prng",
    "tools/reference/": "inference",
    "tools/reference/ufo_post.py": CONTEXT,
    "docs/spec/inference.md": "inference",
    "docs/spec/segmentation.md": "seg",
    "docs/spec/style.md": "style",
    "docs/spec/anchors.md": "anchors",
    "docs/architecture.md": "architecture",
    "docs/weights-prng.md": "weights-prng",
    "": CONTEXT,
}

SCAN_DIRS = ["engine", "gst", "overlay", "tools", "tests", "docs"]
SKIP_DIRS = {"tests/data", "engine/data", ".git"}
EXTENSIONS = (".c", ".h", ".cu", ".cuh", ".cc", ".cpp", ".hpp", ".py", ".sh", ".md", ".build",
              ".txt", ".in")

SEC = r"\d+(?:\.\d+)*"
ITEM_LIST = r"\d+(?:\s*(?:[-–/,]|and|or)\s*\d+)*"
CITATION = re.compile(
    r"§(?P<sec>" + SEC + r")"
    r"(?:[-–](?!§)(?P<end>" + SEC + r"))?"
    r"(?P<tail>\s+(?P<kind>items?|steps?)\s+(?P<items>" + ITEM_LIST + r"))?")
NAMED_BEFORE = re.compile(
    r"(?P<name>[A-Za-z][A-Za-z0-9-]*)(?:\.md)?(?:\]\([^)]*\))?`?(?:\s+spec)?`?\s*$", re.I)
EXTERNAL_BEFORE = re.compile(r"(?:ISO\s*[\d-]+|BT\.\d+|APPNOTE(?:\.TXT)?|RFC\s*\d+)\s*$", re.I)
COMMENT_LEAD = re.compile(r'^\s*(?:\*|#|//|/\*|"""|\'\'\'|-)?\s*$')
CHAIN_GAP = re.compile(r"^[\s,;/+()\-–]*(?:(?:and|or|to|see|also|with)[\s,/()\-–]*)*$")
HEADING = re.compile(r"^#{1,6}\s+(?P<num>" + SEC + r")\.?(?:\s|$)")
LIST_ITEM = re.compile(r"^(?P<num>\d+)\.\s")


class Doc:
    """Sections and list items of one markdown document."""

    def __init__(self, path):
        self.path = path
        self.sections = set()
        self.items = {}  # section -> set of top-level list item numbers
        self.missing = not os.path.isfile(path)
        if self.missing:
            return
        current = ""  # "" = before the first numbered heading
        numbered = False
        fenced = False
        with open(path, encoding="utf-8") as f:
            for line in f:
                if line.startswith("```"):
                    fenced = not fenced
                    continue
                if fenced:
                    continue
                m = HEADING.match(line)
                if m:
                    current = m.group("num")
                    numbered = True
                    self.sections.add(current)
                    continue
                if line.startswith("#"):
                    current = "" if not numbered else current
                    continue
                m = LIST_ITEM.match(line)
                if m:
                    self.items.setdefault(current, set()).add(int(m.group("num")))
        for sec, nums in self.items.items():
            for k in nums:
                self.sections.add(f"{sec}.{k}" if sec else str(k))

    def has(self, sec):
        return sec in self.sections

    def has_item(self, sec, k):
        return k in self.items.get(sec, set())


def expand_items(text):
    """'1-4' -> [1, 2, 3, 4]; '1 and 2' -> [1, 2]; '5/6' -> [5, 6]."""
    out = []
    for part in re.split(r"\s*(?:,|/|and|or)\s*", text.strip()):
        if not part:
            continue
        m = re.fullmatch(r"(\d+)\s*[-–]\s*(\d+)", part)
        if m:
            a, b = int(m.group(1)), int(m.group(2))
            out.extend(range(a, b + 1) if a <= b else [a, b])
        else:
            out.append(int(part))
    return out


def range_end(start, end):
    """'8.15' + '16' -> '8.16'; '2.6' + '2.8' -> '2.8'."""
    s, e = start.split("."), end.split(".")
    if len(e) >= len(s):
        return end
    return ".".join(s[: len(s) - len(e)] + e)


def file_default(rel):
    best = None
    for prefix, spec in FILE_DEFAULTS.items():
        if rel.startswith(prefix) and (best is None or len(prefix) > len(best[0])):
            best = (prefix, spec)
    return best[1]


def iter_files(root):
    for top in SCAN_DIRS:
        base = os.path.join(root, top)
        for dirpath, dirnames, filenames in os.walk(base):
            rel_dir = os.path.relpath(dirpath, root).replace(os.sep, "/")
            dirnames[:] = sorted(d for d in dirnames
                                 if f"{rel_dir}/{d}" not in SKIP_DIRS and not d.startswith("."))
            for name in sorted(filenames):
                if name == os.path.basename(__file__):
                    continue  # this file's own examples
                if name.endswith(EXTENSIONS) or name == "meson.build":
                    yield f"{rel_dir}/{name}"


def check(root, listing=None):
    docs = {name: Doc(os.path.join(root, path)) for name, path in SPEC_FILES.items()}
    errors, n_cit, n_files = [], 0, 0
    for rel in iter_files(root):
        try:
            with open(os.path.join(root, rel), encoding="utf-8") as f:
                lines = f.read().split("\n")
        except UnicodeDecodeError:
            continue
        default = file_default(rel)
        context = None  # last named citation's spec in this file
        cited_here = False
        carry_text, carry_spec = "", None  # the previous line's tail after its last citation
        for lineno, line in enumerate(lines, 1):
            prev_end, prev_spec = None, None
            for m in CITATION.finditer(line):
                start = m.start()
                before = line[:start]
                if before.endswith(('"', "'")):
                    continue  # a string literal, not a citation
                if prev_end is None and COMMENT_LEAD.match(before):
                    before = carry_text  # the citation continues the previous line
                    gap_ok = carry_spec is not None and CHAIN_GAP.match(carry_text)
                else:
                    gap_ok = prev_end is not None and CHAIN_GAP.match(line[prev_end:start])
                spec = None
                named = NAMED_BEFORE.search(before)
                if EXTERNAL_BEFORE.search(before):
                    spec = "external"
                elif named and named.group("name").lower() in NAMES:
                    spec = NAMES[named.group("name").lower()]
                    context = spec
                elif gap_ok:
                    spec = prev_spec if prev_end is not None else carry_spec
                elif default != CONTEXT:
                    spec = default
                elif context is not None:
                    spec = context
                prev_end, prev_spec = m.end(), spec
                where = f"{rel}:{lineno}"
                if spec is None:
                    errors.append(f"{where}: bare citation '{m.group(0)}' with no spec named "
                                  f"before it in the file (write e.g. 'inference {m.group(0)}')")
                    continue
                if spec == "external":
                    continue
                n_cit += 1
                cited_here = True
                if listing is not None:
                    listing.append(f"{where}: {spec} {m.group(0)}")
                doc = docs[spec]
                target = SPEC_FILES[spec]
                if doc.missing:
                    errors.append(f"{where}: '{m.group(0)}' cites {target}, which does not exist")
                    continue
                secs = [m.group("sec")]
                if m.group("end"):
                    secs.append(range_end(m.group("sec"), m.group("end")))
                for sec in secs:
                    if not doc.has(sec):
                        errors.append(f"{where}: {spec} §{sec} is not a section of {target}")
                if m.group("items"):
                    for k in expand_items(m.group("items")):
                        if not doc.has_item(m.group("sec"), k):
                            errors.append(f"{where}: {spec} §{m.group('sec')} has no "
                                          f"{m.group('kind').rstrip('s')} {k} in {target}")
            if prev_end is not None:
                carry_text, carry_spec = line[prev_end:], prev_spec
            else:
                carry_text, carry_spec = line, None
        n_files += cited_here
    return errors, n_cit, n_files


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--root", default=os.path.normpath(os.path.join(here, "..", "..")))
    ap.add_argument("--list", action="store_true", help="print every citation as resolved")
    args = ap.parse_args()
    listing = [] if args.list else None
    errors, n_cit, n_files = check(args.root, listing)
    for line in listing or []:
        print(line)
    if errors:
        for e in errors:
            print(e)
        print(f"FAIL: {len(errors)} unresolved spec citation(s); see docs/spec/README.md")
        return 1
    print(f"OK: {n_cit} spec citations in {n_files} files resolve")
    return 0


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/env python3
"""Compare the duplicate groups reported by spindle and its peers.

Usage:
  compare_groups.py [--cwd DIR] [--json-out FILE] [--examples N] NAME=FORMAT:FILE ...

The first NAME=FORMAT:FILE is the reference (normally spindle); every other one is compared with
it. FORMAT is one of:
  spindle-json  spindle group --format json (paths: non-UTF-8 bytes as lone surrogates \\udcXX)
  fdupes        paths, one per line, a blank line after each group (fdupes, jdupes, spindle
                --format fdupes, fclones --format fdupes)
  duff          duff's default: a "N files in cluster K (...)" header before each group
  rdfind        rdfind's results.txt
  rmlint        rmlint -o json:FILE
  manifest      make_corpus.py's CORPUS.json: the groups planted by the generator

Tools report paths, hard links and empty files differently, so each report is normalised to the
one thing they must agree on: sets of inodes. Every path is lstat()ed (so a symlink is its own
inode and shows up if a tool followed it); then, per group, paths to an inode already listed are
dropped (hard links), empty files are dropped, and groups left with fewer than two inodes are
dropped. Relative paths are resolved against --cwd.

Line-based formats cannot represent a newline inside a name. When a line is not an existing
path, it is joined with the following lines until it is; that recovers the name in practice.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import re
import stat
import sys
from collections import defaultdict

Inode = tuple[int, int]


# --- parsers: each returns raw groups as lists of path bytes -------------------------------

def join_split_names(lines: list[bytes]) -> list[bytes]:
    """Undo the splitting of names that contain a newline (see the module docstring)."""
    out, i = [], 0
    while i < len(lines):
        candidate, j = lines[i], i
        while not os.path.lexists(candidate) and j + 1 < len(lines):
            j += 1
            candidate += b"\n" + lines[j]
            if os.path.lexists(candidate):
                break
        if os.path.lexists(candidate):
            out.append(candidate)
            i = j + 1
        else:
            out.append(lines[i])  # kept, and counted as unresolvable later
            i += 1
    return out


def parse_fdupes(data: bytes) -> list[list[bytes]]:
    groups, current = [], []
    for line in data.split(b"\n"):
        if line:
            current.append(line)
        elif current:
            groups.append(current)
            current = []
    if current:
        groups.append(current)
    return [join_split_names(g) for g in groups]


DUFF_HEADER = re.compile(rb"^\d+ files in cluster \d+ \(")


def parse_duff(data: bytes) -> list[list[bytes]]:
    groups: list[list[bytes]] = []
    for line in data.split(b"\n"):
        if DUFF_HEADER.match(line):
            groups.append([])
        elif line and groups:
            groups[-1].append(line)
    return [join_split_names(g) for g in groups]


def parse_rdfind(data: bytes) -> list[list[bytes]]:
    # "duptype id depth size device inode priority name"; members of one group share |id|.
    by_id: dict[int, list[bytes]] = defaultdict(list)
    last = None
    for line in data.split(b"\n"):
        if line.startswith(b"#") or not line:
            continue
        if line.startswith(b"DUPTYPE_"):
            fields = line.split(b" ", 7)
            last = abs(int(fields[1]))
            by_id[last].append(fields[7])
        elif last is not None:
            by_id[last][-1] += b"\n" + line  # a newline inside the name
    return list(by_id.values())


def load_json_bytes(data: bytes):
    # rmlint writes names as raw bytes inside JSON strings; surrogateescape keeps them, and
    # os.fsencode() turns them back into the original bytes.
    return json.loads(data.decode("utf-8", "surrogateescape"))


def parse_rmlint(data: bytes) -> list[list[bytes]]:
    groups: dict[tuple, list[bytes]] = defaultdict(list)
    for entry in load_json_bytes(data):
        if isinstance(entry, dict) and entry.get("type") == "duplicate_file":
            groups[(entry.get("size"), entry.get("checksum"))].append(os.fsencode(entry["path"]))
    return list(groups.values())


def paths_of(group) -> list[bytes]:
    """A spindle JSON group, whatever its exact shape: a list of paths, or an object holding one
    under a key like "files"/"paths", whose items are paths or objects with a "path"."""
    if isinstance(group, dict):
        for key in ("files", "paths", "members"):
            if isinstance(group.get(key), list):
                group = group[key]
                break
        else:
            return []
    out = []
    for item in group:
        if isinstance(item, str):
            out.append(os.fsencode(item))
        elif isinstance(item, dict) and isinstance(item.get("path"), str):
            out.append(os.fsencode(item["path"]))
    return out


def parse_spindle_json(data: bytes) -> list[list[bytes]]:
    doc = load_json_bytes(data)
    groups = doc.get("groups", []) if isinstance(doc, dict) else doc
    return [paths_of(g) for g in groups]


def parse_manifest(data: bytes, manifest_path: str) -> list[list[bytes]]:
    doc = json.loads(data)
    if not doc.get("groups_exact", False):
        raise ValueError("this manifest has no exact groups (tiny files collide by chance)")
    root = os.fsencode(os.path.abspath(manifest_path[:-len(".json")]))
    return [[root + b"/" + os.fsencode(p) for p in g] for g in doc["groups"]]


PARSERS = {
    "fdupes": parse_fdupes,
    "duff": parse_duff,
    "rdfind": parse_rdfind,
    "rmlint": parse_rmlint,
    "spindle-json": parse_spindle_json,
}


# --- normalisation ---------------------------------------------------------------------------

class Report:
    def __init__(self, name: str, raw: list[list[bytes]]):
        self.name = name
        self.raw_groups = len(raw)
        self.raw_paths = sum(len(g) for g in raw)
        self.unresolved: list[bytes] = []
        self.hardlink_paths = 0
        self.empty_paths = 0
        self.symlink_paths = 0
        self.single_groups = 0
        self.path_of: dict[Inode, bytes] = {}
        self.lstat_of: dict[Inode, os.stat_result] = {}
        self.groups: set[frozenset[Inode]] = set()
        for paths in raw:
            inodes: set[Inode] = set()
            for p in paths:
                try:
                    st = os.lstat(p)
                except OSError:
                    self.unresolved.append(p)
                    continue
                key = (st.st_dev, st.st_ino)
                if stat.S_ISLNK(st.st_mode):
                    self.symlink_paths += 1
                elif st.st_size == 0:
                    self.empty_paths += 1
                    continue
                if key in inodes:
                    self.hardlink_paths += 1
                    continue
                inodes.add(key)
                self.path_of.setdefault(key, p)
                self.lstat_of[key] = st
            if len(inodes) >= 2:
                self.groups.add(frozenset(inodes))
            elif paths:
                self.single_groups += 1

    def notes(self) -> list[str]:
        """What normalisation removed: differences in reporting style, not in results."""
        out = []
        if self.hardlink_paths:
            out.append(f"listed {self.hardlink_paths} extra hard-link path(s) (normalised away)")
        if self.empty_paths:
            out.append(f"listed {self.empty_paths} empty file(s) (dropped)")
        if self.single_groups:
            out.append(f"{self.single_groups} group(s) of one inode (dropped)")
        if self.symlink_paths:
            out.append(f"listed {self.symlink_paths} symbolic link(s): follows symlinks")
        if self.unresolved:
            out.append(f"{len(self.unresolved)} path(s) that do not exist "
                       f"(mangled names?), e.g. {show(self.unresolved[0])}")
        return out


# --- comparison ------------------------------------------------------------------------------

def show(path: bytes) -> str:
    """A path as printable text: undecodable bytes as \\xNN, newlines as \\n."""
    text = path.decode("utf-8", "backslashreplace")
    return text.replace("\n", "\\n")


def content_digest(path: bytes) -> bytes | None:
    h = hashlib.blake2b(digest_size=16)
    try:
        with open(path, "rb") as f:
            while chunk := f.read(1 << 20):
                h.update(chunk)
    except OSError:
        return None
    return h.digest()


DEEP = 32  # directory levels below --cwd that count as unusually deep (rdfind stops at 50)


def features(path: bytes, st: os.stat_result | None, root: bytes) -> set[str]:
    found = set()
    rel = path[len(root) + 1:] if path.startswith(root + b"/") else path.lstrip(b"/")
    if rel.count(b"/") > DEEP:
        found.add(f"a path more than {DEEP} directories deep")
    try:
        path.decode("utf-8")
    except UnicodeDecodeError:
        found.add("non-UTF-8 name")
    if b"\n" in path:
        found.add("newline in name")
    if any(part.startswith(b".") and part not in (b".", b"..") for part in path.split(b"/")):
        found.add("hidden path")
    if st is not None:
        if stat.S_ISLNK(st.st_mode):
            found.add("symbolic link")
        elif st.st_nlink > 1:
            found.add("hard-linked inode")
    return found


def explain(group: frozenset[Inode], other: dict[Inode, frozenset[Inode]], reports: list[Report],
            root: bytes) -> tuple[str, str]:
    """Describe one group reported by one side only, and guess why the sides disagree."""

    def path_st(inode):
        for r in reports:
            if inode in r.path_of:
                return r.path_of[inode], r.lstat_of.get(inode)
        return b"?", None

    def identical(inodes) -> bool:
        return len({content_digest(path_st(i)[0]) for i in inodes}) == 1

    def involving(inodes) -> str:
        found: set[str] = set()
        for inode in inodes:
            found |= features(*path_st(inode), root)
        if found - {"hard-linked inode"}:
            found.discard("hard-linked inode")  # common in the corpus; name the rarer cause
        return ("; involves " + ", ".join(sorted(found))) if found else "; nothing unusual in the names"

    counterparts = {other[i] for i in group if i in other}
    covered = frozenset().union(*counterparts) if counterparts else frozenset()
    if not counterparts:
        shape = "not reported at all by the other side"
    elif len(counterparts) > 1:
        shape = f"split into {len(counterparts)} groups by the other side"
    elif covered > group:
        shape = f"the other side's group has {len(covered - group)} more member(s)"
    else:
        shape = f"{len(group - covered)} member(s) not grouped by the other side"

    if not identical(group):
        return shape, "contents differ: a false positive on this side"
    if covered > group:
        if not identical(covered):
            return shape, "the other side merged different contents"
        return shape, "this side left out identical files" + involving(covered - group)
    if not counterparts:
        return shape, "the other side missed identical files" + involving(group)
    return shape, "the other side did not group identical files" + involving(group - covered or group)


# Causes found on the corpora so far, named when their symptom shows up.
KNOWN_CAUSES = {
    ("rdfind", "directories deep"): "rdfind does not descend more than 50 directory levels "
                                    "(it prints 'recursion limit exceeded' and skips the rest)",
}


def compare(ref: Report, peer: Report, examples: int, root: bytes) -> dict:
    only_ref = ref.groups - peer.groups
    only_peer = peer.groups - ref.groups
    result = {
        "groups": len(peer.groups),
        "paths": peer.raw_paths,
        "agree": not only_ref and not only_peer,
        "only_reference": len(only_ref),
        "only_peer": len(only_peer),
        "notes": peer.notes(),
        "reasons": {},
        "examples": [],
    }
    ref_of = {i: g for g in ref.groups for i in g}
    peer_of = {i: g for g in peer.groups for i in g}
    reasons: dict[str, int] = defaultdict(int)
    for groups, owner, other in ((only_peer, peer, ref_of), (only_ref, ref, peer_of)):
        for n, group in enumerate(sorted(groups, key=lambda g: sorted(g))):
            shape, reason = explain(group, other, [owner, ref, peer], root)
            # Name the sides: explain() speaks of "this side" (the owner) and "the other side".
            other_name = ref.name if owner is peer else peer.name
            shape, reason = (t.replace("the other side", other_name).replace("this side", owner.name)
                             for t in (shape, reason))
            reasons[f"only in {owner.name}: {reason}"] += 1
            if n < examples:
                paths = sorted(show(owner.path_of[i]) for i in group)
                result["examples"].append({"only_in": owner.name, "shape": shape, "reason": reason, "paths": paths})
    result["reasons"] = dict(reasons)
    result["known_causes"] = sorted({cause for (tool, symptom), cause in KNOWN_CAUSES.items()
                                     if peer.name.startswith(tool) and any(symptom in r for r in reasons)})
    return result


def load(spec: str) -> tuple[str, list[list[bytes]]]:
    name, _, rest = spec.partition("=")
    fmt, _, path = rest.partition(":")
    if not path:
        raise SystemExit(f"compare_groups: expected NAME=FORMAT:FILE, got {spec!r}")
    with open(path, "rb") as f:
        data = f.read()
    if fmt == "manifest":
        return name, parse_manifest(data, path)
    if fmt not in PARSERS:
        raise SystemExit(f"compare_groups: unknown format {fmt!r} (known: {', '.join(PARSERS)}, manifest)")
    return name, PARSERS[fmt](data)


def main(argv: list[str]) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("reports", nargs="+", metavar="NAME=FORMAT:FILE")
    p.add_argument("--cwd", default=".", help="directory the tools ran in (for relative paths)")
    p.add_argument("--json-out", help="also write the comparison as JSON here")
    p.add_argument("--examples", type=int, default=3, help="differing groups shown per tool and side")
    args = p.parse_args(argv)

    loaded = []
    for spec in args.reports:
        try:
            loaded.append(load(spec))
        except (OSError, ValueError) as e:
            print(f"compare_groups: {spec}: cannot read: {e}", file=sys.stderr)
            loaded.append((spec.partition("=")[0], None))
    root = os.fsencode(os.path.abspath(args.cwd))
    json_out = os.path.abspath(args.json_out) if args.json_out else None
    os.chdir(args.cwd)
    if loaded[0][1] is None:
        print(f"compare_groups: no reference ({loaded[0][0]}); nothing to compare", file=sys.stderr)
        return 2
    ref = Report(loaded[0][0], loaded[0][1])
    summary = {"reference": ref.name, "reference_groups": len(ref.groups),
               "reference_notes": ref.notes(), "tools": {}}
    print(f"reference {ref.name}: {len(ref.groups)} groups, {sum(len(g) for g in ref.groups)} inodes")
    for note in ref.notes():
        print(f"  note: {note}")
    differ = 0
    for name, raw in loaded[1:]:
        if raw is None:
            summary["tools"][name] = {"agree": None, "error": "no readable output"}
            print(f"{name}: no readable output")
            differ += 1
            continue
        r = compare(ref, Report(name, raw), args.examples, root)
        summary["tools"][name] = r
        verdict = "agree" if r["agree"] else "DIFFER"
        print(f"{name}: {verdict} ({r['groups']} groups; only in {name}: {r['only_peer']}, "
              f"only in {ref.name}: {r['only_reference']})")
        for note in r["notes"]:
            print(f"  note: {note}")
        for reason, count in sorted(r["reasons"].items()):
            print(f"  {count} group(s) {reason}")
        for cause in r["known_causes"]:
            print(f"  known cause: {cause}")
        for ex in r["examples"]:
            print(f"  e.g. only in {ex['only_in']} ({ex['shape']}; {ex['reason']}):")
            for path in ex["paths"][:6]:
                print(f"      {path}")
            if len(ex["paths"]) > 6:
                print(f"      ... {len(ex['paths']) - 6} more")
        differ += not r["agree"]
    if json_out:
        with open(json_out, "w", encoding="utf-8") as f:
            json.dump(summary, f, indent=1)
    return 1 if differ else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

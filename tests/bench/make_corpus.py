#!/usr/bin/env python3
"""Deterministic corpus generator for the spindle benchmark.

The same --seed and knobs always produce the same tree, byte for byte, so numbers measured on
two machines (or before and after a change) are comparable. Everything is chosen from one
random.Random(seed); file contents come from a pool of random bytes generated once, so a few GB
are written at disk speed instead of at Python's random-number speed.

The tree is built to exercise every stage of a duplicate finder, not just to be big:
  * about a third of the non-empty files are duplicated, in groups of 2-10 copies;
  * same-size-different-content sets (pass the size stage, fail the prefix stage);
  * same-size sets sharing the first block(s) and differing later (pass prefix, fail suffix/full);
  * same-size sets sharing first and last blocks, differing in the middle, either in a whole
    random middle or in one single byte (only a full read can tell them apart);
  * hard links (one inode, several paths: must be reported once, and read once);
  * symbolic links (not to be followed with the comparable settings);
  * empty files (ignored by every tool in the comparable settings);
  * a balanced tree, one very deep chain, one very wide directory, many small directories;
  * hidden files and directories, and names that are not UTF-8 or contain spaces or a newline.

Next to OUT it writes OUT.json, a manifest: the arguments, counts, bytes, and (for the presets
where it is exact) the expected duplicate groups, one path per inode. The manifest is written
last, so its presence means the corpus is complete.

Paths are bytes throughout: names need not be valid UTF-8.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import math
import os
import random
import struct
import sys
import time

CHUNK = 1 << 20  # write granularity, and the unit in which pool slices are taken
POOL_SIZE = 16 << 20  # random bytes generated once; file contents are tagged slices of it

PRESETS = {
    # Like a real-world source/document tree: ~60k small files, ~0.4 GB, a few MB-sized files.
    "small": dict(
        files=60000, small_min=100, small_max=64 << 10, small_skew=2.0, medium_frac=0.0005, medium_min=1 << 20,
        medium_max=8 << 20, large_count=0, large_min=100 << 20, large_max=160 << 20,
        fanout=6, depth=4, deep=48, wide_files=3000, many_dirs=1000, empty=300, hardlinks=300,
        symlinks=50, same_size_sets=400, prefix_sets=300, presuf_sets=200, odd_names=60,
        newline_names=2, dup_frac=1 / 3),
    # The synthetic corpus: ~100k files, a few GB, a few large (100 MB+) files.
    "synthetic": dict(
        files=100000, small_min=100, small_max=64 << 10, small_skew=1.0, medium_frac=0.006, medium_min=1 << 20,
        medium_max=8 << 20, large_count=4, large_min=100 << 20, large_max=300 << 20,
        fanout=7, depth=4, deep=64, wide_files=5000, many_dirs=2000, empty=500, hardlinks=500,
        symlinks=80, same_size_sets=600, prefix_sets=500, presuf_sets=300, odd_names=100,
        newline_names=2, dup_frac=1 / 3),
    # One million empty-or-tiny files, for memory per file; sizes 1-4096 B (uniform), 5% empty.
    # Tiny files collide by chance (there are only 256 one-byte contents), so the expected
    # groups are not exact here and are not written to the manifest.
    "million": dict(
        files=1000000, small_min=1, small_max=4096, small_skew=1.0, medium_frac=0.0, medium_min=1 << 20,
        medium_max=1 << 20, large_count=0, large_min=100 << 20, large_max=100 << 20,
        fanout=10, depth=3, deep=16, wide_files=20000, many_dirs=0, empty=50000, hardlinks=1000,
        symlinks=0, same_size_sets=0, prefix_sets=0, presuf_sets=0, odd_names=100,
        newline_names=0, dup_frac=1 / 3, uniform_sizes=True),
}


class Content:
    """Deterministic bytes for a content id: 1 MiB chunks, each a slice of the shared random pool
    preceded by a 16-byte tag hashed from (content id, chunk index). The tag makes every
    content id's bytes different from the first byte on (even for 1-byte files, up to chance),
    and every chunk of one file different from the others."""

    def __init__(self, pool: bytes):
        self.pool = pool

    def chunk(self, cid: int, index: int, length: int) -> bytes:
        tag = hashlib.blake2b(struct.pack("<QQ", cid, index), digest_size=16).digest()
        if length <= len(tag):
            return tag[:length]
        # Offset derived from the tag too: same (cid, index) -> same bytes, on every machine.
        offset = int.from_bytes(tag[:8], "little") % (len(self.pool) - CHUNK)
        return tag + self.pool[offset:offset + length - len(tag)]

    def read(self, cid: int, start: int, length: int) -> bytes:
        """Bytes [start, start+length) of content cid."""
        out = []
        while length > 0:
            index, within = divmod(start, CHUNK)
            take = min(length, CHUNK - within)
            out.append(self.chunk(cid, index, within + take)[within:])
            start += take
            length -= take
        return b"".join(out)


def spec_pieces(spec: tuple) -> list[tuple[int, int, int]]:
    """A file's content as (cid, start, length) pieces. Specs:
    ('rand', cid, size)                      -- content cid
    ('splice', size, [(cid, length), ...])   -- consecutive pieces of different contents, each
                                                taken at the same offset it has in the file
    ('flip', cid, size, pos, xor)            -- content cid with one byte changed (handled by
                                                the writer)"""
    kind = spec[0]
    if kind == "rand":
        return [(spec[1], 0, spec[2])]
    if kind == "splice":
        pieces, pos = [], 0
        for cid, length in spec[2]:
            pieces.append((cid, pos, length))
            pos += length
        return pieces
    raise ValueError(kind)


def write_file(path: bytes, spec: tuple, content: Content) -> int:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
    try:
        if spec[0] == "empty":
            return 0
        if spec[0] == "flip":
            _, cid, size, pos, xor = spec
            pieces = [(cid, 0, size)]
        else:
            pieces = spec_pieces(spec)
        written = 0
        for cid, start, length in pieces:
            while length > 0:
                take = min(length, CHUNK)
                data = content.read(cid, start, take)
                if spec[0] == "flip" and start <= pos < start + take:
                    buf = bytearray(data)
                    buf[pos - start] ^= xor
                    data = bytes(buf)
                view = memoryview(data)
                while view:
                    view = view[os.write(fd, view):]
                start += take
                length -= take
                written += take
        return written
    finally:
        os.close(fd)


class Corpus:
    def __init__(self, args: argparse.Namespace):
        self.args = args
        self.rng = random.Random(args.seed)
        self.next_cid = 1
        self.files: list[tuple[bytes, tuple]] = []  # (relative path, content spec)
        self.groups: list[list[int]] = []  # indexes into self.files that must be duplicates

    def cid(self) -> int:
        self.next_cid += 1
        return self.next_cid

    # --- sizes -----------------------------------------------------------------------------

    def log_uniform(self, lo: int, hi: int, skew: float = 1.0) -> int:
        # skew > 1 leans towards lo, as real trees do (median 500 B at skew 2 for 100 B-64 KiB).
        u = self.rng.random() ** skew
        return int(math.exp(math.log(lo) + u * (math.log(hi) - math.log(lo))))

    def size(self) -> int:
        a = self.args
        if a.uniform_sizes:
            return self.rng.randint(a.small_min, a.small_max)
        if self.rng.random() < a.medium_frac:
            return self.log_uniform(a.medium_min, a.medium_max)
        return self.log_uniform(a.small_min, a.small_max, a.small_skew)

    # --- contents --------------------------------------------------------------------------

    def add(self, spec: tuple) -> int:
        self.files.append((b"", spec))
        return len(self.files) - 1

    def build_contents(self) -> None:
        a, rng = self.args, self.rng
        for _ in range(a.empty):
            self.add(("empty",))

        # Sets that look alike to the early stages. Sizes are at least three shared blocks so a
        # shared first *and* last block still leaves a middle that differs.
        for _ in range(a.same_size_sets):
            size = max(self.size(), 16)
            for _ in range(rng.randint(2, 6)):
                self.add(("rand", self.cid(), size))
        for _ in range(a.prefix_sets):
            block = rng.choice((4096, 16384, 65536))
            size = max(self.size(), 2 * block + 1)
            shared = self.cid()
            for _ in range(rng.randint(2, 5)):
                # Shared for at least one block, differing somewhere after it.
                common = rng.randint(block, size - 1)
                self.add(("splice", size, [(shared, common), (self.cid(), size - common)]))
        for _ in range(a.presuf_sets):
            block = rng.choice((4096, 16384, 65536))
            size = max(self.size(), 3 * block + 1)
            shared = self.cid()
            members = rng.randint(2, 5)
            if rng.random() < 0.5:
                for _ in range(members):
                    middle = size - 2 * block
                    self.add(("splice", size, [(shared, block), (self.cid(), middle), (shared, block)]))
            else:
                # The nastiest case: one byte differs, somewhere strictly inside the middle.
                pos = rng.randint(block, size - block - 1)
                for k in range(members):
                    self.add(("flip", shared, size, pos, k + 1))

        # Large files: a duplicate pair, a same-size file differing only in the middle, and
        # the rest unique, so one full read of 100 MB+ files is unavoidable.
        if a.large_count:
            sizes = [rng.randint(a.large_min, a.large_max) for _ in range(a.large_count)]
            big = self.cid()
            first = self.add(("rand", big, sizes[0]))
            if a.large_count >= 2:
                self.groups.append([first, self.add(("rand", big, sizes[0]))])
            if a.large_count >= 3:
                self.add(("flip", big, sizes[0], sizes[0] // 2, 0x5A))
            for size in sizes[3:]:
                self.add(("rand", self.cid(), size))

        # The rest: a dup_frac share in duplicate groups of 2-10, the others unique.
        remaining = max(a.files - len(self.files) - a.hardlinks - a.symlinks, 0)
        dup_target = round(remaining * a.dup_frac)
        in_groups = 0
        while in_groups < dup_target:
            n = min(rng.randint(2, 10), dup_target - in_groups)
            if n < 2:
                break
            cid, size = self.cid(), self.size()
            self.groups.append([self.add(("rand", cid, size)) for _ in range(n)])
            in_groups += n
        for _ in range(remaining - in_groups):
            self.add(("rand", self.cid(), self.size()))

    # --- directories and names -------------------------------------------------------------

    def build_dirs(self) -> tuple[list[bytes], list[bytes]]:
        """All directories (parents first), and the ones files are placed in by default."""
        a = self.args
        tree = [b"tree"]
        level = [b"tree"]
        for depth in range(a.depth):
            nxt = []
            for parent in level:
                for i in range(a.fanout):
                    # One hidden and one non-UTF-8 directory per level, to be walked like any other.
                    if i == 0 and depth == 1:
                        name = b".hidden%d" % len(nxt)
                    elif i == 1 and depth == 2:
                        name = b"dir_\xff%d" % len(nxt)
                    else:
                        name = b"d%d" % i
                    nxt.append(parent + b"/" + name)
            tree += nxt
            level = nxt
        self.deep_dirs = []
        path = b"deep"
        for i in range(a.deep):
            path += b"/l%02d" % i
            self.deep_dirs.append(path)
        many = [b"many/s%05d" % i for i in range(a.many_dirs)]
        all_dirs = tree + ([b"deep"] + self.deep_dirs if a.deep else []) + (
            [b"many"] + many if many else []) + ([b"wide"] if a.wide_files else [])
        return all_dirs, tree + self.deep_dirs + many

    def name(self, index: int) -> bytes:
        return b"f%07d.bin" % index

    def odd_name(self, index: int) -> bytes:
        kind = self.rng.randrange(6)
        return [
            b"caf\xe9_latin1_%d" % index,          # Latin-1, not UTF-8
            b"\xff\xfe_raw_%d" % index,            # bytes that are never UTF-8
            "ü_utf8_%d".encode() % index,          # valid UTF-8, non-ASCII
            b"with space %d .txt" % index,
            b"-leading-dash_%d" % index,
            b".hidden_%d" % index,
        ][kind]

    def place(self) -> list[bytes]:
        a, rng = self.args, self.rng
        all_dirs, placeable = self.build_dirs()
        order = list(range(len(self.files)))
        rng.shuffle(order)  # group members land in different directories
        odd = set(rng.sample(order, min(a.odd_names, len(order))))
        newline = set(rng.sample(order, min(a.newline_names, len(order))))
        wide = set(order[:a.wide_files])
        for index in order:
            if index in wide:
                directory = b"wide"
            else:
                directory = rng.choice(placeable)
            if index in newline:
                name = b"new\nline_%d" % index
            elif index in odd:
                name = self.odd_name(index)
            else:
                name = self.name(index)
            self.files[index] = (directory + b"/" + name, self.files[index][1])
        return all_dirs

    # --- writing ---------------------------------------------------------------------------

    def write(self, out: bytes) -> dict:
        a, rng = self.args, self.rng
        start = time.monotonic()
        content = Content(rng.randbytes(POOL_SIZE))
        self.build_contents()
        all_dirs = self.place()
        os.makedirs(out, exist_ok=True)
        if os.listdir(out):
            sys.exit(f"make_corpus: {os.fsdecode(out)} is not empty; refusing to write into it")
        for d in all_dirs:
            os.makedirs(out + b"/" + d, exist_ok=True)
        total_bytes = 0
        for rel, spec in self.files:
            total_bytes += write_file(out + b"/" + rel, spec, content)

        # Hard links: to unique files (one inode, must not be reported) and to group members
        # (the inode is a duplicate, but must be listed once).
        non_empty = [i for i, (_, spec) in enumerate(self.files) if spec[0] != "empty"]
        hardlinks = []
        for k in range(a.hardlinks if non_empty else 0):
            target = rng.choice(non_empty)
            link = rng.choice(all_dirs) + b"/hardlink_%d" % k
            os.link(out + b"/" + self.files[target][0], out + b"/" + link)
            hardlinks.append((link, target))
        # Symbolic links, relative to the corpus root, and one to a directory: with the
        # comparable settings nobody follows them, so they add no groups.
        symlinks = 0
        for k in range(a.symlinks if non_empty else 0):
            target = self.files[rng.choice(non_empty)][0]
            link = rng.choice(all_dirs) + b"/symlink_%d" % k
            depth = link.count(b"/")
            os.symlink(b"../" * depth + target, out + b"/" + link)
            symlinks += 1
        if a.symlinks and a.depth:
            os.symlink(b"tree", out + b"/symlink_to_tree")

        manifest = {
            "args": {k: v for k, v in vars(a).items() if k not in ("out",)},
            "files": len(self.files),
            "hardlinks": len(hardlinks),
            "symlinks": symlinks + (1 if a.symlinks and a.depth else 0),
            "directories": len(all_dirs) + 1,
            "bytes": total_bytes,
            "seconds": round(time.monotonic() - start, 1),
            "groups_exact": not a.uniform_sizes,
        }
        if manifest["groups_exact"]:
            # Paths as str with surrogateescape: json.dumps turns undecodable bytes into
            # "\udcXX", and os.fsencode() on the loaded string restores them.
            manifest["groups"] = [[os.fsdecode(self.files[i][0]) for i in g] for g in self.groups]
        manifest["expected_groups"] = len(self.groups)
        with open(out + b".json", "w", encoding="utf-8") as f:
            json.dump(manifest, f, indent=1)
            f.write("\n")
        return manifest


def parse_args(argv: list[str]) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("--preset", choices=sorted(PRESETS), default="small",
                   help="starting values for every knob below; explicit knobs override them")
    p.add_argument("--out", required=True, help="directory to create (must be empty or missing)")
    p.add_argument("--seed", type=int, default=1)
    knobs = [
        ("files", int, "total directory entries to create (regular files, hard and symbolic links)"),
        ("small-min", int, "smallest non-empty file, bytes"),
        ("small-max", int, "largest 'small' file, bytes (sizes are log-uniform in between)"),
        ("small-skew", float, "small sizes are log-uniform with u**skew: 1 = plain log-uniform, more = smaller"),
        ("medium-frac", float, "share of files drawn from the medium (MB-sized) range"),
        ("medium-min", int, "smallest medium file, bytes"),
        ("medium-max", int, "largest medium file, bytes"),
        ("large-count", int, "number of large files (a duplicate pair, a near-twin, the rest unique)"),
        ("large-min", int, "smallest large file, bytes"),
        ("large-max", int, "largest large file, bytes"),
        ("dup-frac", float, "share of the ordinary files that are in duplicate groups of 2-10"),
        ("fanout", int, "subdirectories per directory in the balanced tree"),
        ("depth", int, "levels of the balanced tree"),
        ("deep", int, "length of the one deep directory chain"),
        ("wide-files", int, "files in the one wide directory"),
        ("many-dirs", int, "number of sibling directories under many/"),
        ("empty", int, "empty files"),
        ("hardlinks", int, "extra hard links to existing files"),
        ("symlinks", int, "symbolic links to existing files"),
        ("same-size-sets", int, "sets of 2-6 files of one size, different content"),
        ("prefix-sets", int, "sets of 2-5 same-size files sharing at least the first block"),
        ("presuf-sets", int, "sets of 2-5 same-size files sharing first and last block"),
        ("odd-names", int, "files with non-UTF-8, non-ASCII, spaced, dash or dot names"),
        ("newline-names", int, "files with a newline in their name"),
    ]
    for name, typ, text in knobs:
        p.add_argument("--" + name, type=typ, default=None, help=text)
    p.add_argument("--uniform-sizes", action="store_true", default=None,
                   help="sizes uniform in [small-min, small-max] instead of log-uniform")
    args = p.parse_args(argv)
    for key, value in PRESETS[args.preset].items():
        if getattr(args, key, None) is None:
            setattr(args, key, value)
    if args.uniform_sizes is None:
        args.uniform_sizes = False
    return args


def main(argv: list[str]) -> int:
    args = parse_args(argv)
    manifest = Corpus(args).write(os.fsencode(args.out))
    print(f"make_corpus: {args.out}: {manifest['files']} files, {manifest['hardlinks']} hard links, "
          f"{manifest['symlinks']} symlinks, {manifest['directories']} directories, "
          f"{manifest['bytes'] / 1e9:.2f} GB, {manifest['expected_groups']} planted groups, "
          f"{manifest['seconds']} s", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

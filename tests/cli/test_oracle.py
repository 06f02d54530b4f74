"""Oracle test: on a random tree full of near-duplicates, `spindle group --format json` must find
exactly the groups that a brute-force byte-by-byte comparison finds.

The tree is built from a fixed seed (~3000 files): families of files of one size holding exact
copies and variants of a base content that differ in one byte (first, last, around the 4 KiB
block boundaries, at a random offset), share a prefix or a suffix, or are all zeros; hard links
inside and across directories; empty files; a few symlinks (not followed).
"""

import os
import random
import sys
import types
import unittest

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from spindle_cli import (  # noqa: E402
    Tree, brute_force_groups, describe, group_json, group_paths, inode_of, path_groups)

SEED = 20261122
BLOCK = 4096

SIZES = [1, 2, 3, 17, 100, 511, 4095, 4096, 4097, 8191, 8192, 8193, 12287, 12288, 12289,
         16384, 65535, 65536, 65537, 200003]


def variant(rng, base, kind):
    """A content of len(base) that differs from base in the way `kind` names."""
    size = len(base)
    data = bytearray(base)
    if kind == "flip_first":
        data[0] ^= 1
    elif kind == "flip_last":
        data[-1] ^= 0x80
    elif kind == "flip_random":
        data[rng.randrange(size)] ^= 1 << rng.randrange(8)
    elif kind == "flip_block_edge":
        # The bytes on either side of a block boundary, and the first byte of the last block.
        edges = [o for o in (BLOCK - 1, BLOCK, size - BLOCK, size - BLOCK - 1) if 0 <= o < size]
        data[rng.choice(edges) if edges else size - 1] ^= 0xFF
    elif kind == "new_suffix":
        cut = rng.randrange(size)
        data[cut:] = rng.randbytes(size - cut)
    elif kind == "new_prefix":
        cut = rng.randrange(1, size + 1)
        data[:cut] = rng.randbytes(cut)
    elif kind == "zeros_with_one":
        data = bytearray(size)
        data[rng.randrange(size)] = 1
    if bytes(data) == base:  # a flip can't undo itself, but a random suffix could repeat one
        data[-1] ^= 1
    return bytes(data)


KINDS = ["flip_first", "flip_last", "flip_random", "flip_block_edge", "new_suffix", "new_prefix",
         "zeros_with_one"]


def build_tree(testcase, target_files=3000):
    rng = random.Random(SEED)
    tree = Tree(testcase)
    dirs = [b""]
    for i in range(40):
        parent = rng.choice(dirs)
        dirs.append(os.path.join(parent, b"d%d" % i) if parent else b"d%d" % i)
    regular = []
    count = 0
    family = 0
    while count < target_files:
        size = rng.choice(SIZES) if rng.random() < 0.7 else rng.randrange(1, 30000)
        base = bytes(size) if rng.random() < 0.1 else rng.randbytes(size)
        contents = [base] + [variant(rng, base, rng.choice(KINDS)) for _ in range(rng.randrange(0, 6))]
        for c_index, content in enumerate(contents):
            for copy in range(rng.choice([1, 1, 1, 2, 2, 3, 5])):
                rel = os.path.join(rng.choice(dirs), b"f%d_%d_%d" % (family, c_index, copy))
                tree.write(rel, content)
                regular.append(rel)
                count += 1
        family += 1
    for i in range(120):
        existing = rng.choice(regular)
        tree.link(existing, os.path.join(rng.choice(dirs), b"hl%d" % i))
        count += 1
    for i in range(10):
        tree.write(os.path.join(rng.choice(dirs), b"empty%d" % i), b"")
        tree.symlink(os.path.join(tree.root, rng.choice(regular)),
                     os.path.join(rng.choice(dirs), b"sym%d" % i))
    return tree, count


class Oracle(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        # One tree for the whole class, removed by a class cleanup.
        cls.tree, cls.files = build_tree(types.SimpleNamespace(addCleanup=cls.addClassCleanup))
        cls.expected_inodes = brute_force_groups([cls.tree.root])
        cls.expected_paths = brute_force_groups([cls.tree.root], hard_links=True)

    def test_tree_is_what_the_oracle_needs(self):
        # Guards the generator: enough files, many groups, and hard-link-only groups that the
        # default mode must not report.
        self.assertGreaterEqual(self.files, 3000)
        self.assertGreater(len(self.expected_inodes), 300)
        self.assertGreater(len(self.expected_paths), len(self.expected_inodes))

    def check_default_mode(self, *flags):
        proc, doc = group_json(self, [self.tree.root], *flags)
        got = set()
        for group in doc["groups"]:
            inodes = [inode_of(os.fsencode(p)) for p in group_paths(group)]
            self.assertEqual(len(set(inodes)), len(inodes),
                             "two names of one inode in a group: %r" % group_paths(group))
            got.add(frozenset(inodes))
        missing = self.expected_inodes - got
        extra = got - self.expected_inodes
        self.assertEqual((len(missing), len(extra)), (0, 0),
                         "missing %d groups, e.g. %r; %d wrong groups, e.g. %r\n%s"
                         % (len(missing), list(missing)[:2], len(extra), list(extra)[:2], describe(proc)[:2000]))
        for group in doc["groups"]:
            self.assertEqual(group["size"], os.path.getsize(os.fsencode(group["files"][0]["path"])))

    def test_default_threads(self):
        self.check_default_mode()

    def test_one_thread(self):
        self.check_default_mode("--threads", "1")

    def test_hard_links_mode(self):
        proc, doc = group_json(self, [self.tree.root], "--hard-links")
        got = path_groups(doc)
        self.assertEqual((len(self.expected_paths - got), len(got - self.expected_paths)), (0, 0),
                         "missing %r, wrong %r" % (list(self.expected_paths - got)[:2],
                                                   list(got - self.expected_paths)[:2]))


if __name__ == "__main__":
    unittest.main()

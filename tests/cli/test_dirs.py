"""spindle group --dirs and --dirs-ignore-names on real trees: equal directories reported at the
top only, in every format (names with newlines and bytes that are not UTF-8 included); their files
folded out of the file groups; directories made incomplete by a filter, a symlink, a hard link or
a file below --min-size never reported; empty directories only with --include-empty; actions
reading a report with directory groups act on the file groups only; and a brute-force oracle on
random trees.
"""

import csv
import io
import os
import random
import shutil
import sys
import unittest

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from spindle_cli import (  # noqa: E402
    Tree, check_report_invariants, describe, group_json, path_groups, random_bytes, run)

ODD = b"new\nline \xff\xfe"  # a newline and bytes that are not UTF-8


def dir_groups(doc):
    """The directory groups of a JSON report as a set of frozensets of bytes paths."""
    return {frozenset(os.fsencode(d) for d in g["dirs"]) for g in doc["dir_groups"]}


def make_copy(tree, src, dst):
    shutil.copytree(tree.path(src), tree.path(dst), symlinks=True)


class Dirs(unittest.TestCase):
    def base_tree(self):
        """photos/ with a nested album and odd names, backup/ an exact copy of it, misc/ holding
        one more copy of one photo and a file of its own."""
        tree = Tree(self)
        tree.write("photos/a.jpg", random_bytes(1, 3000))
        tree.write(b"photos/" + ODD, random_bytes(2, 2000))
        tree.write("photos/album/b.jpg", random_bytes(3, 1000))
        tree.write(b"photos/album/" + ODD + b"/c", random_bytes(4, 500))
        make_copy(tree, "photos", "backup")
        tree.write("misc/a copy.jpg", random_bytes(1, 3000))
        tree.write("misc/own", random_bytes(5, 100))
        return tree

    def test_equal_directories_reported_at_the_top_and_folded(self):
        tree = self.base_tree()
        proc, doc = group_json(self, ["."], "--dirs", cwd=tree.root)
        check_report_invariants(self, doc, describe(proc))
        self.assertEqual(dir_groups(doc), {frozenset({b"./backup", b"./photos"})})
        group = doc["dir_groups"][0]
        self.assertEqual(group["size"], 3000 + 2000 + 1000 + 500)
        self.assertEqual(len(group["hash"]), 32)
        # Nothing under the reported directories is left, but the copy in misc/ still is, with
        # one copy from inside them as its witness.
        self.assertEqual(path_groups(doc), {frozenset({b"./backup/a.jpg", b"./misc/a copy.jpg"})})

    def test_without_dirs_nothing_changes(self):
        tree = self.base_tree()
        proc, doc = group_json(self, ["."], cwd=tree.root)
        self.assertNotIn("dir_groups", doc)
        self.assertEqual(len(doc["groups"]), 4)

    def test_a_copy_of_a_directory_inside_a_reported_one(self):
        """photos/album copied elsewhere too: photos/ and backup/ are reported, and
        elsewhere/album with one album from inside them as its witness; no file is left."""
        tree = self.base_tree()
        make_copy(tree, "photos/album", "elsewhere/album")
        tree.write("elsewhere/own", random_bytes(6, 10))
        proc, doc = group_json(self, ["."], "--dirs", cwd=tree.root)
        self.assertEqual(dir_groups(doc), {frozenset({b"./backup", b"./photos"}),
                                           frozenset({b"./backup/album", b"./elsewhere/album"})})
        self.assertEqual(path_groups(doc), {frozenset({b"./backup/a.jpg", b"./misc/a copy.jpg"})})

    def test_text_format(self):
        tree = self.base_tree()
        proc = run(["group", "--dirs", "photos", "backup"], cwd=tree.root)
        self.assertEqual(proc.returncode, 0, describe(proc))
        lines = proc.stdout.split(b"\n")
        self.assertTrue(lines[0].startswith(b"# 2 directories of "), lines[0])
        self.assertIn(b" (6500 bytes), ", lines[0])
        self.assertTrue(lines[0].endswith(b" wasted"), lines[0])
        self.assertEqual(lines[1:4], [b"backup/", b"photos/", b""])
        self.assertEqual(proc.stdout.count(b"# "), 1, proc.stdout)  # no file group left

    def test_fdupes_and_csv_formats(self):
        tree = self.base_tree()
        proc = run(["group", "--dirs", "-f", "fdupes", "."], cwd=tree.root)
        self.assertEqual(proc.returncode, 0, describe(proc))
        self.assertEqual(proc.stdout, b"./backup/\n./photos/\n\n./backup/a.jpg\n./misc/a copy.jpg\n\n")
        proc = run(["group", "--dirs", "-f", "csv", "."], cwd=tree.root)
        self.assertEqual(proc.returncode, 0, describe(proc))
        rows = list(csv.reader(io.StringIO(proc.stdout.decode())))
        self.assertEqual(rows[0], ["size", "hash", "count", "path"])
        self.assertEqual([r[3] for r in rows[1:]], ["./backup/", "./photos/", "./backup/a.jpg", "./misc/a copy.jpg"])
        self.assertEqual(rows[1][:3], ["6500", rows[2][1], "2"])

    def test_zero_terminated_names(self):
        tree = self.base_tree()
        shutil.move(tree.path("backup"), tree.path(b"back" + ODD))
        proc = run(["group", "--dirs", "-z", "-f", "fdupes", "."], cwd=tree.root)
        self.assertEqual(proc.returncode, 0, describe(proc))
        self.assertEqual(proc.stdout.split(b"\0")[:3], [b"./back" + ODD + b"/", b"./photos/", b""])

    def test_names_count_unless_ignored(self):
        tree = self.base_tree()
        os.rename(tree.path("backup/a.jpg"), tree.path("backup/renamed.jpg"))
        proc, doc = group_json(self, ["."], "--dirs", cwd=tree.root)
        # Only the albums, which are untouched, are still equal.
        self.assertEqual(dir_groups(doc), {frozenset({b"./backup/album", b"./photos/album"})})
        proc, doc = group_json(self, ["."], "--dirs-ignore-names", cwd=tree.root)
        self.assertEqual(dir_groups(doc), {frozenset({b"./backup", b"./photos"})})
        # Layout does not count either: the album's files moved up one level.
        for name in os.listdir(tree.path("backup/album")):
            os.rename(os.path.join(tree.path("backup/album"), name), os.path.join(tree.path("backup"), b"x" + name))
        os.rmdir(tree.path("backup/album"))
        proc, doc = group_json(self, ["."], "--dirs-ignore-names", cwd=tree.root)
        self.assertEqual(dir_groups(doc), {frozenset({b"./backup", b"./photos"})})

    def test_incomplete_directories_are_never_reported(self):
        cases = {
            "excluded file": (["--exclude", "*.tmp"], lambda t: [t.write(d + "/x.tmp", b"12345") for d in ("photos", "backup")]),
            "below --min-size": (["--min-size", "200"], lambda t: [t.write(d + "/small", b"1") for d in ("photos", "backup")]),
            "hidden file": (["--no-hidden"], lambda t: [t.write(d + "/.hidden", b"hh") for d in ("photos", "backup")]),
            "symlinks to other targets": ([], lambda t: [t.symlink(d + ".jpg", d + "/link") for d in ("photos", "backup")]),
            "fifo": ([], lambda t: [t.mkfifo(d + "/fifo") for d in ("photos", "backup")]),
        }
        for name, (flags, spoil) in cases.items():
            with self.subTest(name):
                tree = self.base_tree()
                spoil(tree)
                proc, doc = group_json(self, ["."], "--dirs", *flags, cwd=tree.root)
                # The top directories hold something not compared: only the albums are reported.
                self.assertEqual(dir_groups(doc), {frozenset({b"./backup/album", b"./photos/album"})},
                                 describe(proc))

    def test_symlinks_compare_by_target(self):
        tree = self.base_tree()
        for d in ("photos", "backup"):
            tree.symlink("a.jpg", d + "/link")
            tree.symlink("/nowhere", d + "/album/dangling")
        proc, doc = group_json(self, ["."], "--dirs", cwd=tree.root)
        self.assertEqual(dir_groups(doc), {frozenset({b"./backup", b"./photos"})})

    def test_unreadable_file_makes_its_directory_incomplete(self):
        tree = self.base_tree()
        os.chmod(tree.path("backup/album/b.jpg"), 0)
        user = None
        if os.geteuid() == 0:  # root reads anything: run as nobody, who can enter the tree
            os.chmod(tree.root, 0o755)
            user = (65534, 65534)
        proc, doc = group_json(self, ["."], "--dirs", expect_exit=1, cwd=tree.root, user=user)
        self.assertIn(b"backup/album/b.jpg", proc.stderr)
        # Not backup/album, nor backup/ above it; what is below, complete, still is.
        self.assertEqual(dir_groups(doc), {frozenset({b"./backup/album/" + ODD, b"./photos/album/" + ODD})},
                         describe(proc))

    def test_empty_directories(self):
        tree = Tree(self)
        tree.mkdir("a/empty")
        tree.mkdir("b/empty")
        tree.write("a/f", b"content")
        tree.write("b/f", b"content")
        tree.mkdir("lonely/e1")
        tree.mkdir("lonely/e2")
        proc, doc = group_json(self, ["."], "--dirs", cwd=tree.root)
        self.assertEqual(dir_groups(doc), {frozenset({b"./a", b"./b"})})
        proc, doc = group_json(self, ["."], "--dirs", "--include-empty", cwd=tree.root)
        self.assertEqual(dir_groups(doc), {frozenset({b"./a", b"./b"}), frozenset({b"./lonely/e1", b"./lonely/e2"})})
        # An empty subdirectory on one side only: not equal.
        os.rmdir(tree.path("b/empty"))
        proc, doc = group_json(self, ["."], "--dirs", cwd=tree.root)
        self.assertEqual(dir_groups(doc), set())

    def test_empty_files_are_known_content(self):
        tree = self.base_tree()
        tree.write("photos/__init__.py", b"")
        tree.write("backup/__init__.py", b"")
        proc, doc = group_json(self, ["."], "--dirs", cwd=tree.root)
        self.assertEqual(dir_groups(doc), {frozenset({b"./backup", b"./photos"})})

    def test_hard_links(self):
        tree = self.base_tree()
        shutil.rmtree(tree.path("backup"))
        for dirpath, dirnames, filenames in os.walk(tree.path("photos")):
            rel = os.path.relpath(dirpath, tree.path("photos"))
            os.makedirs(os.path.join(tree.path("linked"), rel), exist_ok=True)
            for name in filenames:
                os.link(os.path.join(dirpath, name), os.path.join(tree.path("linked"), rel, name))
        # Without -H one path per inode: linked/ is no copy (removing it frees nothing).
        proc, doc = group_json(self, ["."], "--dirs", cwd=tree.root)
        self.assertEqual(dir_groups(doc), set())
        proc, doc = group_json(self, ["."], "--dirs", "--hard-links", cwd=tree.root)
        self.assertEqual(dir_groups(doc), {frozenset({b"./linked", b"./photos"})})

    def test_actions_read_reports_with_dir_groups(self):
        for fmt in ("json", "text"):
            with self.subTest(fmt):
                tree = self.base_tree()
                report = os.path.join(os.path.dirname(tree.root), os.path.basename(tree.root) + b".report")
                self.addCleanup(lambda path=report: os.path.exists(path) and os.unlink(path))  # this loop's report
                proc = run(["group", "--dirs", "-f", fmt, "-o", report, "misc", "photos", "backup"], cwd=tree.root)
                self.assertEqual(proc.returncode, 0, describe(proc))
                proc = run(["remove", report], cwd=tree.root)
                self.assertEqual(proc.returncode, 0, describe(proc))
                # The one file group, misc/a copy.jpg and its witness backup/a.jpg: one of them is
                # removed. The directories are left to the user: every other file is still there.
                self.assertEqual(os.path.exists(tree.path("misc/a copy.jpg")) + os.path.exists(tree.path("backup/a.jpg")),
                                 1)
                if fmt == "json":  # the first PATH's copy is kept (a text report does not record PATHs)
                    self.assertTrue(os.path.exists(tree.path("misc/a copy.jpg")))
                self.assertTrue(os.path.exists(tree.path("photos/a.jpg")))
                for rel in ("photos/album/b.jpg", b"photos/" + ODD, b"backup/" + ODD, "backup/album/b.jpg",
                            b"backup/album/" + ODD + b"/c"):
                    self.assertTrue(os.path.exists(tree.path(rel)), rel)
                self.assertIn(b"1 file removed", proc.stderr)

    def test_oracle_on_random_trees(self):
        """Random trees made of copies of a few subtrees, with renames and edits: the reported
        directory groups are exactly the topmost groups of directories whose trees are equal (by
        a walk in Python), and no file group holds a file under a reported directory."""
        for seed in range(6):
            with self.subTest(seed=seed):
                rng = random.Random(seed)
                tree = Tree(self)
                blobs = [random_bytes(100 + i, rng.randint(1, 300)) for i in range(6)]
                for i in range(3):
                    for j in range(rng.randint(1, 3)):
                        tree.write("src%d/d%d/f%d" % (i, j, rng.randint(0, 2)), rng.choice(blobs))
                    tree.write("src%d/top" % i, rng.choice(blobs))
                for k in range(5):
                    make_copy(tree, "src%d" % rng.randint(0, 2), "t%d/copy" % k)
                    if rng.random() < 0.4:
                        tree.write("t%d/copy/extra" % k, rng.choice(blobs))
                proc, doc = group_json(self, ["."], "--dirs", cwd=tree.root)
                self.assertEqual(dir_groups(doc), oracle_dir_groups(tree.root), describe(proc))
                reported = [os.fsencode(d) + b"/" for g in doc["dir_groups"] for d in g["dirs"]]
                for g in doc["groups"]:
                    inside = [p for p in g["files"] if any(os.fsencode(p["path"]).startswith(r) for r in reported)]
                    self.assertLessEqual(len(inside), 1, g)


def tree_signature(path):
    """A directory's content with names, recursively, or None when it holds nothing."""
    entries = []
    for name in sorted(os.listdir(path)):
        full = os.path.join(path, name)
        if os.path.isdir(full):
            entries.append((name, "d", tree_signature(full)))
        else:
            with open(full, "rb") as f:
                entries.append((name, "f", f.read()))
    return tuple(entries)


def oracle_dir_groups(root):
    """Groups of equal non-empty directories (by tree_signature); reported: those with no
    directory above them in a group; a group with one reported directory adds the first other
    one as its witness."""
    dirs = []
    for dirpath, dirnames, filenames in os.walk(root):
        if dirpath != root:
            dirs.append(dirpath)
    by_sig = {}
    for d in dirs:
        by_sig.setdefault(tree_signature(d), []).append(d)
    groups = [sorted(g) for sig, g in by_sig.items() if len(g) >= 2 and sig]
    in_group = {d for g in groups for d in g}

    def top(d):
        return not any(a in in_group for a in ancestors(d, root))

    result = set()
    for g in groups:
        kept = [d for d in g if top(d)]
        if len(kept) == 1:
            others = [d for d in g if d not in kept and not d.startswith(kept[0] + b"/")]
            kept += others[:1]
        if len(kept) >= 2:
            result.add(frozenset(b"." + d[len(root):] for d in kept))
    return result


def ancestors(d, root):
    found = []
    while True:
        d = os.path.dirname(d)
        if len(d) <= len(root):
            return found
        found.append(d)


if __name__ == "__main__":
    unittest.main()

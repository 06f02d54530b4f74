"""`spindle group` on PATHs a careful user or an attacker would give (issue 8, walk side).

Overlapping PATHs spelled differently, spellings kept as written, a symlink named on the command
line, an empty PATH, kernel interface files, trees deeper than PATH_MAX and a low open-file
limit. Run by ctest as `python3 tests/cli/test_walk_trust.py -v` with SPINDLE set to the binary.
"""

import os
import resource
import shutil
import subprocess
import sys
import unittest

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from spindle_cli import (  # noqa: E402
    TIMEOUT, Tree, describe, group_json, path_groups, random_bytes, run, spindle_binary)


def groups(*sets):
    return {frozenset(s) for s in sets}


class OverlappingPaths(unittest.TestCase):
    """A file reachable from several PATHs is listed under the first PATH whose walk reaches it,
    in every run and at every thread count. One walk thread runs tasks in the order spawned, so
    the old walk printed the second spelling every time with -t main:1 and either with 16."""

    def setUp(self):
        self.tree = Tree(self)
        self.top = random_bytes(1, 5000)
        self.inner = random_bytes(2, 6000)
        self.logs = random_bytes(3, 7000)
        for rel, data in (("d/a/x1", self.top), ("d/a/x2", self.top),
                          ("d/a/b/y1", self.inner), ("d/a/b/c/y2", self.inner),
                          ("d/a/b/one.log", self.logs), ("d/a/b/two.log", self.logs)):
            self.tree.write(rel, data)
        self.absolute_b = self.tree.path("d/a/b")  # the same directory, spelled from /

    def runs(self, *args):
        """The groups of 12 runs (threads 1 and 16 in turn), asserted identical reports."""
        outputs = set()
        for i in range(12):
            threads = "main:1" if i % 2 == 0 else "main:16"
            proc = run(["group", "--format", "fdupes", "-t", threads] + list(args), cwd=self.tree.root)
            self.assertEqual(proc.returncode, 0, describe(proc))
            outputs.add(proc.stdout)
        self.assertEqual(len(outputs), 1, "different reports: %r" % outputs)
        out = outputs.pop()
        return {frozenset(block.split(b"\n")) for block in out.split(b"\n\n") if block.strip(b"\n")}

    def test_nested_path_is_listed_under_the_first_path(self):
        self.assertEqual(self.runs("d/a", self.absolute_b), groups([b"d/a/x1", b"d/a/x2"], [b"d/a/b/y1", b"d/a/b/c/y2"],
                                                  [b"d/a/b/one.log", b"d/a/b/two.log"]))

    def test_earlier_nested_path_keeps_its_files(self):
        b = self.absolute_b
        self.assertEqual(self.runs(b, "d/a"), groups([b"d/a/x1", b"d/a/x2"], [b + b"/y1", b + b"/c/y2"],
                                                  [b + b"/one.log", b + b"/two.log"]))

    def test_exclude_matches_in_every_run(self):
        self.assertEqual(self.runs("--exclude", "d/a/b/*.log", "d/a", self.absolute_b), groups([b"d/a/x1", b"d/a/x2"], [b"d/a/b/y1", b"d/a/b/c/y2"]))

    def test_what_the_first_path_excludes_is_walked_from_a_later_path_that_names_it(self):
        b = self.absolute_b
        self.assertEqual(self.runs("--exclude", "d/a/b", "d/a", b), groups([b"d/a/x1", b"d/a/x2"], [b + b"/y1", b + b"/c/y2"],
                                                  [b + b"/one.log", b + b"/two.log"]))

    def test_file_path_inside_a_directory_path(self):
        self.assertEqual(self.runs("d/a", self.tree.path("d/a/x2")),
                         groups([b"d/a/x1", b"d/a/x2"], [b"d/a/b/y1", b"d/a/b/c/y2"],
                                [b"d/a/b/one.log", b"d/a/b/two.log"]))


class Spelling(unittest.TestCase):
    """Paths are printed as the user wrote the PATH (only runs of '/' become one), and
    --exclude matches that spelling."""

    def test_dot_slash_is_kept_and_exclude_matches_it(self):
        tree = Tree(self)
        data = random_bytes(10, 3000)
        tree.write("t/a", data)
        tree.write("t/b", data)
        tree.write("t/sub/c", data)
        proc, doc = group_json(self, ["./t"], "--exclude", "./t/sub", cwd=tree.root)
        self.assertEqual(path_groups(doc), groups([b"./t/a", b"./t/b"]), describe(proc))

    def test_a_name_starting_with_a_dash_stays_behind_dot_slash(self):
        tree = Tree(self)
        data = random_bytes(11, 3000)
        tree.write("d/-x", data)
        tree.write("d/y", data)
        proc = run(["group", "--format", "fdupes", "./d"], cwd=tree.root)
        self.assertEqual(proc.returncode, 0, describe(proc))
        self.assertEqual(proc.stdout, b"./d/-x\n./d/y\n\n", describe(proc))

    def test_doubled_and_trailing_slashes(self):
        tree = Tree(self)
        data = random_bytes(12, 3000)
        tree.write("t/a", data)
        tree.write("t/s/b", data)
        for spelling, prefix in ((b"t/", b"t/"), (b"t//", b"t/"), (b".//t", b"./t/")):
            proc, doc = group_json(self, [spelling], cwd=tree.root)
            self.assertEqual(path_groups(doc), groups([prefix + b"a", prefix + b"s/b"]), describe(proc))


class CommandLineSymlink(unittest.TestCase):
    """A path reached through a symlink is never a copy of its target, with or without -H."""

    def test_symlink_path_is_not_a_copy_of_its_target(self):
        tree = Tree(self)
        real = tree.write("dir/real", random_bytes(20, 5000))
        link = tree.symlink("dir/real", "link")
        for flags in ([], ["-H"], ["-L"], ["-H", "-L"]):
            for paths in ([link, real], [real, link], [link, tree.path("dir")], [tree.path("dir"), link]):
                proc, doc = group_json(self, paths, *flags)
                self.assertEqual(doc["groups"], [], describe(proc))
        # It still names a file whose copies are reported (by one name).
        copy = tree.write("copy", random_bytes(20, 5000))
        proc, doc = group_json(self, [link, real, copy], "-H")
        self.assertEqual(path_groups(doc), groups([real, copy]), describe(proc))


class EmptyPath(unittest.TestCase):
    def test_empty_path_is_a_usage_error_before_any_work(self):
        tree = Tree(self)
        tree.write("a", b"a" * 100)
        tree.write("b", b"a" * 100)
        for paths in ([b""], [tree.root, b""]):
            proc = run(["group"] + paths)
            self.assertEqual(proc.returncode, 2, describe(proc))
            self.assertEqual(proc.stdout, b"", describe(proc))
            self.assertTrue(proc.stderr.startswith(b"spindle: '': empty path"), describe(proc))


class KernelInterfaceFiles(unittest.TestCase):
    """sysfs sizes every attribute 4 KiB and returns less; proc files claim size 0. Named
    directly, they are skipped with a message, never errors, never in groups."""

    def test_sysfs_directory(self):
        if not os.path.isdir("/sys/kernel/mm"):
            self.skipTest("no /sys/kernel/mm here")
        proc, doc = group_json(self, ["/sys/kernel/mm"], "--include-empty")
        self.assertEqual(doc["groups"], [], describe(proc))
        self.assertIn(b"skipped: size not reliable", proc.stderr, describe(proc))
        self.assertNotIn(b"shrank", proc.stderr, describe(proc))

    def test_proc_files(self):
        proc, doc = group_json(self, ["/proc/self/status", "/proc/self/stat"], "--include-empty", "-v")
        self.assertEqual(doc["groups"], [], describe(proc))
        self.assertIn(b"/proc/self/status: skipped: size not reliable", proc.stderr, describe(proc))


class DeeperThanPathMax(unittest.TestCase):
    def test_duplicates_at_the_bottom_of_a_deep_tree(self):
        tree = Tree(self)
        data = random_bytes(30, 5000)
        top = tree.write("top", data)
        name = b"n" * 200
        # rmtree works below PATH_MAX through descriptors; Tree's own clean-up does not.
        self.addCleanup(shutil.rmtree, tree.path(name), ignore_errors=True)
        fd = os.open(tree.root, os.O_RDONLY | os.O_DIRECTORY)
        deep = tree.root
        try:
            for _ in range(40):
                os.mkdir(name, dir_fd=fd)
                child = os.open(name, os.O_RDONLY | os.O_DIRECTORY, dir_fd=fd)
                os.close(fd)
                fd = child
                deep += b"/" + name
            for leaf in (b"dup1", b"dup2"):
                out = os.open(leaf, os.O_WRONLY | os.O_CREAT, 0o644, dir_fd=fd)
                os.write(out, data)
                os.close(out)
        finally:
            os.close(fd)
        self.assertGreater(len(deep), 4096)
        expected = groups([top, deep + b"/dup1", deep + b"/dup2"])
        proc, doc = group_json(self, [tree.root])
        self.assertEqual(path_groups(doc), expected, describe(proc))
        # The text report prints each path whole, on one line.
        proc = run(["group", tree.root])
        self.assertEqual(proc.returncode, 0, describe(proc))
        lines = set(proc.stdout.split(b"\n"))
        self.assertTrue({top, deep + b"/dup1", deep + b"/dup2"} <= lines, describe(proc))
        # Named as PATHs (the deep directory, and a deep file) too.
        proc, doc = group_json(self, [top, deep])
        self.assertEqual(path_groups(doc), expected, describe(proc))
        proc, doc = group_json(self, [deep + b"/dup2", top])
        self.assertEqual(path_groups(doc), groups([top, deep + b"/dup2"]), describe(proc))


class LowDescriptorLimit(unittest.TestCase):
    def test_many_walk_threads_at_ulimit_16(self):
        tree = Tree(self)
        # Directories big enough that many walk threads hold one open at once.
        for d in range(200):
            tree.write("d%03d/sub/g" % d, random_bytes(d % 20, 2000 + d % 20))
            for f in range(30):
                tree.write("d%03d/f%02d" % (d, f), bytes([f]) * (100 + f))
        # Many walk threads, one reader per device (the reading side has its own budget).
        args = [spindle_binary(), "group", "-t", "1,1", "-t", "main:32", tree.root]

        def tight():
            resource.setrlimit(resource.RLIMIT_NOFILE, (16, 16))

        free = subprocess.run(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=TIMEOUT,
                              check=False)
        self.assertEqual(free.returncode, 0, describe(free))
        self.assertGreater(free.stdout.count(b"\n#"), 20, describe(free))
        for _ in range(3):
            limited = subprocess.run(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=TIMEOUT,
                                     check=False, preexec_fn=tight)
            self.assertEqual(limited.returncode, 0, describe(limited))
            self.assertNotIn(b"Too many open files", limited.stderr, describe(limited))
            self.assertEqual(limited.stdout, free.stdout, describe(limited))


if __name__ == "__main__":
    unittest.main()

"""`spindle group` end to end: each case builds a tree and asserts the exact groups and exit code.

Run by ctest as `python3 tests/cli/test_group_cases.py -v` with SPINDLE set to the binary.
"""

import csv
import io
import os
import shutil
import socket
import stat
import subprocess
import sys
import unittest

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from spindle_cli import (  # noqa: E402
    NOBODY_GID, NOBODY_UID, TIMEOUT, Tree, all_paths, describe, group_json, inode_groups, inode_of,
    group_paths, is_root, parse_json_bytes, parse_json_report, path_groups, random_bytes, run, xxh128sum_of)

KIB = 1024
MIB = 1024 * 1024


def groups(*sets):
    """Expected groups, written as lists of bytes paths."""
    return {frozenset(s) for s in sets}


def flip(data, offset):
    """`data` with the byte at `offset` changed."""
    out = bytearray(data)
    out[offset] ^= 0x5A
    return bytes(out)


class SizesAndContent(unittest.TestCase):
    """Which files are duplicates: sizes around the 4 KiB block, and near-duplicates that each
    stage (size, first block, last block, whole content) must tell apart."""

    def test_duplicates_of_several_sizes(self):
        tree = Tree(self)
        expected = set()
        for size in (1, 4095, 4096, 4097, 8192, 8193, MIB + 3):
            data = random_bytes(size, size)
            a = tree.write("s%d/a" % size, data)
            b = tree.write("s%d/deeper/b" % size, data)
            expected.add(frozenset([a, b]))
            # Same size, different content: must not join the group.
            tree.write("s%d/other" % size, flip(data, size // 2))
        proc, doc = group_json(self, [tree.root])
        self.assertEqual(path_groups(doc), expected, describe(proc))
        for group in doc["groups"]:
            first = os.fsencode(group["files"][0]["path"])
            self.assertEqual(group["size"], os.path.getsize(first))

    def test_hash_is_xxh128_of_the_content(self):
        tree = Tree(self)
        for size in (1, 4096, 4097, 70000):
            data = random_bytes(1000 + size, size)
            tree.write("h%d/a" % size, data)
            tree.write("h%d/b" % size, data)
        proc, doc = group_json(self, [tree.root])
        self.assertEqual(len(doc["groups"]), 4, describe(proc))
        for group in doc["groups"]:
            for path in group_paths(group):
                self.assertEqual(group["hash"], xxh128sum_of(self, os.fsencode(path)), path)

    def test_same_size_different_content_is_no_group(self):
        tree = Tree(self)
        for i in range(6):
            tree.write("f%d" % i, random_bytes(i, 10000))
        # Equal except the very first byte, or the very last.
        base = random_bytes(99, 10000)
        tree.write("first", flip(base, 0))
        tree.write("last", flip(base, 9999))
        tree.write("base", base)
        proc, doc = group_json(self, [tree.root])
        self.assertEqual(doc["groups"], [], describe(proc))

    def test_same_first_block_different_last_block(self):
        tree = Tree(self)
        expected = set()
        for size in (4097, 8193, 12288, 100000):
            data = random_bytes(size, size)
            a = tree.write("%d/a" % size, data)
            c = tree.write("%d/c" % size, data)
            tree.write("%d/b_last_byte" % size, flip(data, size - 1))
            tree.write("%d/b_last_block_start" % size, flip(data, size - 4096))
            expected.add(frozenset([a, c]))
        proc, doc = group_json(self, [tree.root])
        self.assertEqual(path_groups(doc), expected, describe(proc))

    def test_same_first_and_last_block_differing_in_the_middle(self):
        tree = Tree(self)
        expected = set()
        for size in (12289, 100000, MIB + 3):
            data = random_bytes(size, size)
            a = tree.write("%d/a" % size, data)
            c = tree.write("%d/c" % size, data)
            # Just past the first block, the middle, and just before the last block.
            for offset in (4096, size // 2, size - 4097):
                tree.write("%d/b%d" % (size, offset), flip(data, offset))
            expected.add(frozenset([a, c]))
        proc, doc = group_json(self, [tree.root])
        self.assertEqual(path_groups(doc), expected, describe(proc))

    def test_several_groups_of_one_size(self):
        tree = Tree(self)
        one = random_bytes(1, 5000)
        two = flip(one, 4999)
        three = flip(one, 0)
        expected = groups([tree.write("1a", one), tree.write("1b", one), tree.write("1c", one)],
                          [tree.write("2a", two), tree.write("2b", two)],
                          [tree.write("3a", three), tree.write("3b", three)])
        proc, doc = group_json(self, [tree.root])
        self.assertEqual(path_groups(doc), expected, describe(proc))
        self.assertEqual(len({g["hash"] for g in doc["groups"]}), 3, describe(proc))


class HardLinks(unittest.TestCase):
    def build(self):
        tree = Tree(self)
        data = random_bytes(7, 6000)
        self.a = tree.write("a", data)
        self.a_link = tree.link("a", "sub/a_link")
        self.b = tree.write("b", data)
        # Two names of one inode and nothing else with that content.
        self.x = tree.write("x", random_bytes(8, 6000))
        self.x_link = tree.link("x", "x_link")
        return tree

    def test_default_lists_one_path_per_inode(self):
        tree = self.build()
        proc, doc = group_json(self, [tree.root])
        self.assertEqual(len(doc["groups"]), 1, describe(proc))
        files = [os.fsencode(p) for p in group_paths(doc["groups"][0])]
        self.assertEqual(len(files), 2, describe(proc))
        self.assertIn(self.b, files)
        self.assertTrue(self.a in files or self.a_link in files, describe(proc))
        self.assertEqual(inode_groups(doc), {frozenset([inode_of(self.a), inode_of(self.b)])})

    def test_hard_links_flag_lists_every_path(self):
        tree = self.build()
        for flag in ("-H", "--hard-links"):
            proc, doc = group_json(self, [tree.root], flag)
            self.assertEqual(path_groups(doc),
                             groups([self.a, self.a_link, self.b], [self.x, self.x_link]), describe(proc))


class EmptyFiles(unittest.TestCase):
    def test_empty_files_excluded_unless_asked(self):
        tree = Tree(self)
        empties = [tree.write("e1", b""), tree.write("sub/e2", b""), tree.write("e3", b"")]
        pair = [tree.write("d1", b"x" * 100), tree.write("d2", b"x" * 100)]
        proc, doc = group_json(self, [tree.root])
        self.assertEqual(path_groups(doc), groups(pair), describe(proc))
        proc, doc = group_json(self, [tree.root], "--include-empty")
        self.assertEqual(path_groups(doc), groups(pair, empties), describe(proc))
        empty_group = [g for g in doc["groups"] if g["size"] == 0]
        self.assertEqual(len(empty_group), 1, describe(proc))


class Symlinks(unittest.TestCase):
    def build(self):
        tree = Tree(self)
        data = random_bytes(3, 9000)
        self.a = tree.write("a", data)
        self.b = tree.write("b", data)
        self.c = tree.write("sub/c", data)
        self.la = tree.symlink("a", "la")
        self.ld = tree.symlink("sub", "ld")
        self.ld_c = os.path.join(self.ld, b"c")
        return tree

    def test_not_followed_by_default(self):
        tree = self.build()
        proc, doc = group_json(self, [tree.root])
        self.assertEqual(path_groups(doc), groups([self.a, self.b, self.c]), describe(proc))

    def test_followed_with_follow_links(self):
        # "Follow symbolic links to files and directories". A followed link reaches an inode that
        # the walk may also reach directly: it is then an alias, not a copy, and the real path is
        # the one listed (group.cpp drops aliases: listing `la` beside `a` invites deleting the
        # only copy). Listing the real path also keeps the output the same from run to run.
        tree = self.build()
        for flags in (["-L"], ["--follow-links"], ["-L", "-H"]):
            proc, doc = group_json(self, [tree.root], *flags)
            self.assertEqual(path_groups(doc), groups([self.a, self.b, self.c]), describe(proc))

    def test_followed_links_to_outside_the_tree_are_listed(self):
        # A link whose target the walk does not otherwise reach is listed by its own path.
        tree = Tree(self)
        outside = Tree(self)
        data = random_bytes(30, 3000)
        outside.write("x", data)
        outside.write("dir/z", data)
        y = tree.write("y", data)
        lx = tree.symlink(outside.path("x"), "lx")
        lz = os.path.join(tree.symlink(outside.path("dir"), "ldir"), b"z")
        proc, doc = group_json(self, [tree.root])
        self.assertEqual(path_groups(doc), set(), describe(proc))
        proc, doc = group_json(self, [tree.root], "-L")
        self.assertEqual(path_groups(doc), groups([y, lx, lz]), describe(proc))

    def test_followed_directory_links_are_deterministic(self):
        # Many directories each reachable directly and through a symlink: with a parallel walk,
        # whichever path reaches a directory first must not decide what is listed.
        tree = Tree(self)
        expected = set()
        for i in range(60):
            data = b"content %d" % i
            expected.add(frozenset([tree.write("d%d/f" % i, data), tree.write("g%d" % i, data)]))
            tree.symlink("d%d" % i, "l%d" % i)
            tree.symlink(tree.path("d%d" % i), "d%d/up%d" % ((i + 1) % 60, i))
        outputs = set()
        for threads in ("1", "8", "1", "8", "2", "8"):
            proc, doc = group_json(self, [tree.root], "-L", "--threads", threads)
            self.assertEqual(path_groups(doc), expected, describe(proc))
            outputs.add(run(["group", "-L", "--threads", threads, tree.root]).stdout)
        self.assertEqual(len(outputs), 1, "text report differs between runs")

    def test_symlinked_command_line_path_is_followed(self):
        tree = self.build()
        proc, doc = group_json(self, [self.ld, self.a])
        self.assertEqual(path_groups(doc), groups([self.ld_c, self.a]), describe(proc))

    def test_loop_without_follow_is_harmless(self):
        tree = self.build()
        tree.symlink("..", "sub/loop")
        proc, doc = group_json(self, [tree.root])
        self.assertEqual(path_groups(doc), groups([self.a, self.b, self.c]), describe(proc))

    def test_loop_with_follow_links_is_an_error(self):
        tree = Tree(self)
        data = random_bytes(4, 5000)
        a = tree.write("a", data)
        b = tree.write("sub/b", data)
        tree.symlink("..", "sub/loop")
        proc, doc = group_json(self, [tree.root], "-L", "-H", expect_exit=1)
        # Every file once: nothing is listed again through the loop.
        self.assertEqual(path_groups(doc), groups([a, b]), describe(proc))
        self.assertIn(b"sub/loop", proc.stderr, describe(proc))


class SpecialFiles(unittest.TestCase):
    """FIFOs, sockets and device nodes are never opened (opening a FIFO would block forever)."""

    def check_not_listed(self, tree, special, extra_flags=()):
        pair = [tree.write("a", b"same"), tree.write("b", b"same")]
        empties = [tree.write("e1", b""), tree.write("e2", b"")]
        # --include-empty: a special file has size 0 and must still not join the empty group.
        for flags in ([], ["--include-empty"], ["-L", "--include-empty"]):
            proc, doc = group_json(self, [tree.root], *(list(flags) + list(extra_flags)))
            expected = groups(pair, empties) if "--include-empty" in flags else groups(pair)
            self.assertEqual(path_groups(doc), expected, describe(proc))
            self.assertNotIn(special, all_paths(doc))

    def test_fifo_does_not_hang(self):
        tree = Tree(self)
        fifo = tree.mkfifo("fifo")
        tree.symlink("fifo", "link_to_fifo")
        self.check_not_listed(tree, fifo)

    def test_fifo_given_on_the_command_line(self):
        tree = Tree(self)
        fifo = tree.mkfifo("fifo")
        a = tree.write("a", b"same")
        b = tree.write("b", b"same")
        proc = run(["group", "--format", "json", "--include-empty", fifo, a, b])
        doc = parse_json_report(self, proc)
        self.assertIn(proc.returncode, (0, 1), describe(proc))
        self.assertEqual(path_groups(doc), groups([a, b]), describe(proc))

    def test_unix_socket(self):
        tree = Tree(self)
        sock_path = tree.path("sock")
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.addCleanup(sock.close)
        sock.bind(sock_path)
        self.assertTrue(stat.S_ISSOCK(os.lstat(sock_path).st_mode))
        self.check_not_listed(tree, sock_path)

    def test_device_node(self):
        if not is_root():
            self.skipTest("creating a device node needs root")
        tree = Tree(self)
        node = tree.path("zero")
        try:
            os.mknod(node, stat.S_IFCHR | 0o644, os.makedev(1, 5))  # like /dev/zero: endless if read
        except OSError as e:
            self.skipTest("mknod refused: %s" % e)
        self.check_not_listed(tree, node)


class Names(unittest.TestCase):
    def test_non_utf8_names(self):
        tree = Tree(self)
        data = random_bytes(5, 3000)
        names = [b"caf\xe9", b"\xff\xfe.bin", b"caf\xc3\xa9", b"d\x80ir/in\xc0side", b"ok",
                 b"\xe6\x97\xa5\xe6\x9c\xac", b"trunc\xe6\x97", b"\xed\xa0\x80surrogate",
                 # U+DCFF encoded as UTF-8: not valid UTF-8, and must not be confused with the escape.
                 b"\xed\xb3\xbflooks_escaped", b"overlong\xc0\xaf"]
        paths = [tree.write(name, data) for name in names]
        proc, doc = group_json(self, [tree.root])
        self.assertEqual(path_groups(doc), groups(paths), describe(proc))
        for path in paths:
            self.assertTrue(os.path.exists(path))

    def test_json_special_characters(self):
        tree = Tree(self)
        data = random_bytes(6, 100)
        names = [b'quote"d', b"back\\slash", b"tab\there", b"ctl\x01\x1f", b"del\x7f", b"slash\\u0041"]
        paths = [tree.write(name, data) for name in names]
        proc, doc = group_json(self, [tree.root])
        self.assertEqual(path_groups(doc), groups(paths), describe(proc))

    def test_spaces_and_newlines(self):
        tree = Tree(self)
        data = random_bytes(7, 5000)
        names = [b"with space", b" leading", b"trailing ", b"new\nline", b"\nstarts", b"ends\n",
                 b"dir with\nnewline/file name", b"cr\rhere"]
        paths = [tree.write(name, data) for name in names]
        proc, doc = group_json(self, [tree.root])
        self.assertEqual(path_groups(doc), groups(paths), describe(proc))


class Unreadable(unittest.TestCase):
    """A file or directory that cannot be read: reported on stderr by path, exit 1, and the
    report covers everything else. chmod 000 does not stop root, so as root spindle is run as
    the user nobody (through setpriv) when that works."""

    def runner(self, tree):
        if not is_root():
            return None
        if shutil.which("setpriv") is None:
            self.skipTest("running as root without setpriv: chmod 000 cannot make a file unreadable")
        tree.open_to_everyone()
        probe = run(["--version"], user=(NOBODY_UID, NOBODY_GID))
        if probe.returncode != 0:
            self.skipTest("running as root and the user nobody cannot run %s: %r"
                          % (probe.args[-2], probe.stderr))
        return (NOBODY_UID, NOBODY_GID)

    def assert_unreadable_as(self, user, path):
        command = ["setpriv", "--reuid=%d" % user[0], "--regid=%d" % user[1], "--clear-groups", "--",
                   "cat", path] if user else ["cat", path]
        proc = subprocess.run(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                              timeout=TIMEOUT, check=False)
        if proc.returncode == 0:
            self.skipTest("chmod 000 did not make %r unreadable for the test user" % path)

    def test_unreadable_file(self):
        tree = Tree(self)
        data = random_bytes(8, 5000)
        a = tree.write("a", data)
        b = tree.write("b", data)
        locked = tree.write("locked", data)
        user = self.runner(tree)
        os.chmod(locked, 0)
        self.assert_unreadable_as(user, locked)
        proc, doc = group_json(self, [tree.root], expect_exit=1, user=user)
        self.assertEqual(path_groups(doc), groups([a, b]), describe(proc))
        self.assertIn(locked, proc.stderr, describe(proc))

    def test_unreadable_directory(self):
        tree = Tree(self)
        data = random_bytes(9, 5000)
        a = tree.write("a", data)
        b = tree.write("b", data)
        tree.write("closed/c", data)
        user = self.runner(tree)
        closed = tree.path("closed")
        os.chmod(closed, 0)
        self.assert_unreadable_as(user, os.path.join(closed, b"c"))
        proc, doc = group_json(self, [tree.root], expect_exit=1, user=user)
        self.assertEqual(path_groups(doc), groups([a, b]), describe(proc))
        self.assertIn(closed, proc.stderr, describe(proc))


class Filters(unittest.TestCase):
    def test_min_and_max_size_with_suffixes(self):
        tree = Tree(self)
        pairs = {}
        for size in (2047, 2048, 4096, 4097, 1535, 1536, 1537, MIB - 1, MIB):
            data = random_bytes(size, size)
            pairs[size] = [tree.write("%d/a" % size, data), tree.write("%d/b" % size, data)]

        def expect(*sizes):
            return {frozenset(pairs[s]) for s in sizes}

        proc, doc = group_json(self, [tree.root], "--min-size", "2K", "--max-size", "4K")
        self.assertEqual(path_groups(doc), expect(2048, 4096), describe(proc))
        proc, doc = group_json(self, [tree.root], "--min-size", "1M")
        self.assertEqual(path_groups(doc), expect(MIB), describe(proc))
        proc, doc = group_json(self, [tree.root], "--max-size", "1.5K")
        self.assertEqual(path_groups(doc), expect(1535, 1536), describe(proc))
        proc, doc = group_json(self, [tree.root], "--min-size", "1536", "--max-size", "2047")
        self.assertEqual(path_groups(doc), expect(1536, 1537, 2047), describe(proc))
        proc, doc = group_json(self, [tree.root], "--min-size", "2M")
        self.assertEqual(path_groups(doc), set(), describe(proc))

    def test_name_globs(self):
        tree = Tree(self)
        data = random_bytes(10, 700)
        txt = [tree.write("a.txt", data), tree.write("sub/b.txt", data)]
        tree.write("c.bin", data)  # same content, but --name leaves it out
        md = [tree.write("x.md", b"markdown"), tree.write("y.md", b"markdown")]
        # A directory whose name matches does not select the files in it.
        tree.write("dir.txt/p", b"pq" * 50)
        tree.write("dir.txt/q", b"pq" * 50)
        proc, doc = group_json(self, [tree.root], "--name", "*.txt")
        self.assertEqual(path_groups(doc), groups(txt), describe(proc))
        proc, doc = group_json(self, [tree.root], "--name", "*.txt", "--name", "*.md")
        self.assertEqual(path_groups(doc), groups(txt, md), describe(proc))
        proc, doc = group_json(self, [tree.root], "--name", "?.md")
        self.assertEqual(path_groups(doc), groups(md), describe(proc))

    def test_exclude_base_names(self):
        tree = Tree(self)
        data = random_bytes(11, 700)
        keep = [tree.write("a", data), tree.write("sub/b", data)]
        tree.write("skip_me", data)
        tree.write("skipdir/c", data)
        tree.write("sub/skipdir/d", data)
        tree.write("sub/e.tmp", data)
        proc, doc = group_json(self, [tree.root], "--exclude", "skip*", "--exclude", "*.tmp")
        self.assertEqual(path_groups(doc), groups(keep), describe(proc))

    def test_exclude_full_path_when_glob_has_a_slash(self):
        tree = Tree(self)
        data = random_bytes(12, 700)
        keep = [tree.write("a", data), tree.write("other/drop_x", data)]
        tree.write("sub/drop_x", data)
        tree.write("gone/c", data)
        root = os.fsdecode(tree.root)
        proc, doc = group_json(self, [tree.root], "--exclude", root + "/sub/drop_*",
                               "--exclude", root + "/gone")
        self.assertEqual(path_groups(doc), groups(keep), describe(proc))

    def test_hidden_files_included_unless_no_hidden(self):
        tree = Tree(self)
        data = random_bytes(13, 700)
        visible = [tree.write("a", data), tree.write("sub/b", data)]
        hidden = [tree.write(".h", data), tree.write(".hdir/c", data), tree.write("sub/.hdir2/d", data)]
        proc, doc = group_json(self, [tree.root])
        self.assertEqual(path_groups(doc), groups(visible + hidden), describe(proc))
        proc, doc = group_json(self, [tree.root], "--no-hidden")
        self.assertEqual(path_groups(doc), groups(visible), describe(proc))
        # A hidden directory named on the command line is walked: --no-hidden is about the walk.
        tree.write(".hdir/c2", data)
        proc, doc = group_json(self, [tree.path(".hdir")], "--no-hidden")
        self.assertEqual(path_groups(doc), groups([hidden[1], tree.path(".hdir/c2")]), describe(proc))

    def test_default_path_is_the_current_directory(self):
        # "." itself is not a hidden name, with or without --no-hidden.
        tree = Tree(self)
        data = random_bytes(14, 700)
        tree.write("a", data)
        tree.write("sub/b", data)
        expected = {frozenset([b"a", b"sub/b"])}
        for flags in ([], ["--no-hidden"]):
            proc, doc = group_json(self, [], *flags, cwd=tree.root)
            got = {frozenset(os.path.normpath(p) for p in g) for g in path_groups(doc)}
            self.assertEqual(got, expected, describe(proc))

    def test_one_file_system(self):
        if not is_root():
            self.skipTest("mounting a tmpfs inside the tree needs root")
        tree = Tree(self)
        data = random_bytes(15, 3000)
        outside = [tree.write("a", data), tree.write("sub/b", data)]
        if not tree.mount_tmpfs("mnt"):
            self.skipTest("mount -t tmpfs was refused")
        inside = tree.write("mnt/c", data)
        other = [tree.write("mnt/d", b"other" * 100), tree.write("mnt/deep/e", b"other" * 100)]
        proc, doc = group_json(self, [tree.root])
        self.assertEqual(path_groups(doc), groups(outside + [inside], other), describe(proc))
        for flag in ("-x", "--one-file-system"):
            proc, doc = group_json(self, [tree.root], flag)
            self.assertEqual(path_groups(doc), groups(outside), describe(proc))
        # The file system of a path given is the one to stay on.
        proc, doc = group_json(self, [tree.path("mnt")], "-x")
        self.assertEqual(path_groups(doc), groups(other), describe(proc))

    def test_kernel_interface_filesystems_are_entered_only_when_named(self):
        if not is_root():
            self.skipTest("mounting proc and sysfs inside the tree needs root")
        tree = Tree(self)
        data = random_bytes(18, 3000)
        pair = [tree.write("a", data), tree.write("b", data)]
        for fs_type in ("proc", "sysfs"):
            if not tree.mount(fs_type, fs_type):
                self.skipTest("mount -t %s was refused" % fs_type)
        # Not entered: no sysfs attribute is read (they would fail as "shrank"), no proc file
        # listed even with --include-empty, and each skipped mount is named under -v.
        proc, doc = group_json(self, [tree.root], "--include-empty", "-v")
        self.assertEqual(path_groups(doc), groups(pair), describe(proc))
        self.assertEqual(doc["stats"]["directories"], 1, describe(proc))
        self.assertEqual(doc["stats"]["errors"], 0, describe(proc))
        for fs_type in ("proc", "sysfs"):
            self.assertIn(tree.path(fs_type) + b": a kernel interface filesystem", proc.stderr,
                          describe(proc))
        # Named on the command line, it is walked like any directory.
        proc, doc = group_json(self, [tree.path("sysfs/kernel")], "--min-size", "1T")
        self.assertGreater(doc["stats"]["directories"], 1, describe(proc))


class Paths(unittest.TestCase):
    def test_same_directory_twice(self):
        tree = Tree(self)
        data = random_bytes(16, 4000)
        pair = [tree.write("a", data), tree.write("sub/b", data)]
        x = tree.write("x", b"xx" * 10)
        x_link = tree.link("x", "sub/x_link")
        for paths in ([tree.root, tree.root], [tree.root, tree.path("sub")], [tree.path("sub"), tree.root]):
            proc, doc = group_json(self, paths)
            self.assertEqual(path_groups(doc), groups(pair), describe(proc))
            proc, doc = group_json(self, paths, "-H")
            self.assertEqual(path_groups(doc), groups(pair, [x, x_link]), describe(proc))
        # Files named twice, and two names of one inode named on the command line.
        proc, doc = group_json(self, [pair[0], pair[0], pair[1], x, x_link])
        self.assertEqual(path_groups(doc), groups(pair), describe(proc))
        proc, doc = group_json(self, [x, x_link, x], "-H")
        self.assertEqual(path_groups(doc), groups([x, x_link]), describe(proc))

    def test_missing_path_is_an_error_and_the_rest_is_reported(self):
        tree = Tree(self)
        data = random_bytes(17, 4000)
        pair = [tree.write("a", data), tree.write("b", data)]
        missing = tree.path("does-not-exist")
        proc, doc = group_json(self, [tree.root, missing], expect_exit=1)
        self.assertEqual(path_groups(doc), groups(pair), describe(proc))
        self.assertIn(missing, proc.stderr, describe(proc))

    def test_single_files_on_the_command_line(self):
        tree = Tree(self)
        data = random_bytes(18, 4000)
        a = tree.write("a", data)
        b = tree.write("sub/b", data)
        tree.write("sub/c", data)
        proc, doc = group_json(self, [a, b])
        self.assertEqual(path_groups(doc), groups([a, b]), describe(proc))


def varied_tree(testcase):
    """A tree with many groups, hard links and near-duplicates, for output comparisons."""
    tree = Tree(testcase)
    for i in range(40):
        size = (1, 100, 4095, 4096, 4097, 9000, 20000, 70000)[i % 8]
        data = random_bytes(100 + i, size)
        for copy in range(2 + i % 3):
            tree.write("d%d/sub%d/f%d_%d" % (i % 5, copy, i, copy), data)
        tree.write("d%d/near%d" % (i % 4, i), flip(data, size - 1))
        if i % 6 == 0:
            tree.link("d%d/sub0/f%d_0" % (i % 5, i), "links/l%d" % i)
    return tree


class Output(unittest.TestCase):
    def test_deterministic_across_thread_counts(self):
        tree = varied_tree(self)
        for fmt in ("text", "fdupes", "csv"):
            one = run(["group", "--format", fmt, "--threads", "1", tree.root])
            many = run(["group", "--format", fmt, "--threads", "8", tree.root])
            again = run(["group", "--format", fmt, "--threads", "8", tree.root])
            self.assertEqual(one.returncode, 0, describe(one))
            self.assertEqual(many.returncode, 0, describe(many))
            self.assertNotEqual(one.stdout, b"", describe(one))
            self.assertEqual(one.stdout, many.stdout, fmt)
            self.assertEqual(many.stdout, again.stdout, fmt)
        one = group_json(self, [tree.root], "--threads", "1")[1]
        many = group_json(self, [tree.root], "--threads", "8")[1]
        self.assertEqual(one["groups"], many["groups"])

    def test_output_file(self):
        tree = varied_tree(self)
        out_dir = Tree(self)
        report = out_dir.path("report.json")
        out_dir.write("report.json", b"old content, to be replaced")
        for flag in ("-o", "--output"):
            proc = run(["group", "--format", "json", flag, report, tree.root])
            self.assertEqual(proc.returncode, 0, describe(proc))
            self.assertEqual(proc.stdout, b"", describe(proc))
            with open(report, "rb") as f:
                from_file = f.read()
            on_stdout = run(["group", "--format", "json", tree.root])
            self.assertEqual(parse_json_bytes(self, from_file, "report file")["groups"],
                             parse_json_report(self, on_stdout)["groups"])
            self.assertEqual(sorted(os.listdir(out_dir.root)), [b"report.json"], "temp file left behind")
        text_file = out_dir.path("report.txt")
        proc = run(["group", "-o", text_file, tree.root])
        self.assertEqual((proc.returncode, proc.stdout), (0, b""), describe(proc))
        with open(text_file, "rb") as f:
            self.assertEqual(f.read(), run(["group", tree.root]).stdout)

    def test_unwritable_output_is_fatal(self):
        tree = Tree(self)
        tree.write("a", b"same")
        tree.write("b", b"same")
        proc = run(["group", "-o", tree.path("no/such/dir/report"), tree.root])
        self.assertEqual(proc.returncode, 3, describe(proc))
        self.assertNotEqual(proc.stderr, b"", describe(proc))


class CommandLine(unittest.TestCase):
    def test_usage_errors_exit_2(self):
        tree = Tree(self)
        tree.write("a", b"same")
        tree.write("b", b"same")
        cases = [
            ["group", "--no-such-flag", tree.root],
            ["group", "--min-size", "12Q", tree.root],
            ["group", "--max-size", "12Q", tree.root],
            ["group", "--min-size", "", tree.root],
            ["group", "--threads", "ssd:x", tree.root],
            ["group", "--threads", "", tree.root],
            ["group", "--threads", "floppy:2", tree.root],
            ["group", "--format", "xml", tree.root],
            ["group", "--progress", "sometimes", tree.root],
            ["no-such-command"],
            [],
        ]
        for args in cases:
            proc = run(args)
            self.assertEqual(proc.returncode, 2, describe(proc))
            self.assertNotEqual(proc.stderr, b"", describe(proc))
            self.assertEqual(proc.stdout, b"", describe(proc))

    def test_valid_threads_specs(self):
        # The grammar of `--help`: every form is accepted and none changes the groups.
        tree = varied_tree(self)
        expected = path_groups(group_json(self, [tree.root])[1])
        self.assertNotEqual(expected, set())
        for specs in (["1"], ["ssd:16,8"], ["4,hdd:1"], ["main:1"], ["default:3"], ["virtual:2,1", "unknown:1"],
                      ["dev:/dev/sdb:2"], ["dev:8:16:2,ram:3"], ["hdd:1,dev:/dev/sdb:2"]):
            flags = [arg for spec in specs for arg in ("--threads", spec)]
            proc, doc = group_json(self, [tree.root], *flags)
            self.assertEqual(path_groups(doc), expected, describe(proc))

    def test_help_and_version_exit_0(self):
        for args in (["--help"], ["group", "--help"], ["--version"]):
            proc = run(args)
            self.assertEqual(proc.returncode, 0, describe(proc))
            self.assertNotEqual(proc.stdout, b"", describe(proc))


def format_tree(testcase):
    """Two groups with different wasted space, names that need quoting in CSV."""
    tree = Tree(testcase)
    big = random_bytes(19, 5000)
    small = b"0123456789"
    big_paths = [tree.write("big 1", big), tree.write("sub/big,2", big)]
    small_paths = [tree.write("a", small), tree.write('q"uote', small), tree.write("sub/c", small)]
    tree.write("lonely", random_bytes(20, 5000))
    return tree, big_paths, small_paths


class Formats(unittest.TestCase):
    def hashes(self, tree):
        """{size: hash} from the JSON report, cross-checked with xxh128sum when it is installed."""
        proc, doc = group_json(self, [tree.root])
        result = {g["size"]: g["hash"] for g in doc["groups"]}
        if shutil.which("xxh128sum") is None:
            print("xxh128sum not installed (Debian package xxhash): hashes not cross-checked",
                  file=sys.stderr)
        else:
            for g in doc["groups"]:
                self.assertEqual(g["hash"], xxh128sum_of(self, os.fsencode(g["files"][0]["path"])))
        return result

    def test_text(self):
        tree, big, small = format_tree(self)
        h = self.hashes(tree)
        expected = (b"# 2 files of 4.9 KiB (5000 bytes), " + h[5000].encode() + b", 4.9 KiB wasted\n"
                    + b"\n".join(sorted(big)) + b"\n"
                    + b"\n"
                    + b"# 3 files of 10 B (10 bytes), " + h[10].encode() + b", 20 B wasted\n"
                    + b"\n".join(sorted(small)) + b"\n")
        proc = run(["group", tree.root])
        self.assertEqual(proc.returncode, 0, describe(proc))
        self.assertEqual(proc.stdout, expected)
        proc = run(["group", "--format", "text", tree.root])
        self.assertEqual(proc.stdout, expected)

    def test_fdupes(self):
        tree, big, small = format_tree(self)
        expected = (b"\n".join(sorted(big)) + b"\n\n" + b"\n".join(sorted(small)) + b"\n\n")
        proc = run(["group", "--format", "fdupes", tree.root])
        self.assertEqual(proc.returncode, 0, describe(proc))
        self.assertEqual(proc.stdout, expected)
        fdupes = shutil.which("fdupes")
        if fdupes is None:
            print("fdupes not installed: output not compared with it", file=sys.stderr)
            return
        real = subprocess.run([fdupes, "-r", "-q", tree.root], stdout=subprocess.PIPE, timeout=TIMEOUT,
                              check=True).stdout

        def parse(text):
            self.assertTrue(text.endswith(b"\n\n"), text)
            return {frozenset(block.split(b"\n")) for block in text[:-2].split(b"\n\n")}

        self.assertEqual(parse(proc.stdout), parse(real))

    def test_csv(self):
        tree, big, small = format_tree(self)
        h = self.hashes(tree)

        def field(path):
            return b'"' + path.replace(b'"', b'""') + b'"' if any(c in path for c in b',"\r\n') else path

        lines = [b"size,hash,count,path"]
        lines += [b"5000," + h[5000].encode() + b",2," + field(p) for p in sorted(big)]
        lines += [b"10," + h[10].encode() + b",3," + field(p) for p in sorted(small)]
        expected = b"\n".join(lines) + b"\n"
        proc = run(["group", "--format", "csv", tree.root])
        self.assertEqual(proc.returncode, 0, describe(proc))
        self.assertEqual(proc.stdout, expected)
        rows = list(csv.reader(io.StringIO(proc.stdout.decode("utf-8", "surrogateescape"), newline="")))
        self.assertEqual(rows[0], ["size", "hash", "count", "path"])
        self.assertEqual({os.fsencode(r[3]) for r in rows[1:]}, set(big + small))

    def test_csv_and_json_keep_newlines_in_names(self):
        tree = Tree(self)
        pair = [tree.write(b"new\nline", b"data" * 10), tree.write(b"caf\xe9,x", b"data" * 10)]
        proc = run(["group", "--format", "csv", tree.root])
        self.assertEqual(proc.returncode, 0, describe(proc))
        rows = list(csv.reader(io.StringIO(proc.stdout.decode("utf-8", "surrogateescape"), newline="")))
        self.assertEqual(len(rows), 3, proc.stdout)
        self.assertEqual({os.fsencode(r[3]) for r in rows[1:]}, set(pair))
        self.assertEqual({r[2] for r in rows[1:]}, {"2"})


if __name__ == "__main__":
    unittest.main()

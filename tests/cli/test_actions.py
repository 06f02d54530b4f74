"""spindle link, symlink, remove, move and dedupe on real trees: what each does to the files
(inodes, link counts, contents), that a file changed between `group` and the action is skipped,
that a malformed report touches nothing, that the --dry-run script run by sh gives what the real
action gives, that kill -9 at any moment never loses a path (and the next run leaves no
temporaries), and dedupe on a loop-mounted btrfs image (root and mkfs.btrfs; else skipped,
saying why).
"""

import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import unittest

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from spindle_cli import (  # noqa: E402
    TIMEOUT, Tree, describe, group_paths, is_root, parse_json_bytes, random_bytes, run,
    spindle_binary)

TEMP_MARK = b".spindle-tmp."


def group_report(testcase, tree, *paths, fmt="json"):
    """Write `spindle group` of PATHs (relative to the tree, run inside it) to tree/../report;
    returns the report's path."""
    report = os.path.join(os.path.dirname(tree.root), os.path.basename(tree.root) + b"." + fmt.encode())
    testcase.addCleanup(lambda: os.path.exists(report) and os.unlink(report))
    proc = run(["group", "-f", fmt, "-o", report] + list(paths or ["."]), cwd=tree.root)
    testcase.assertEqual(proc.returncode, 0, describe(proc))
    return report


def snapshot(root):
    """{relative path: (kind, content or link text, inode class)} of a tree; inode classes are
    numbered in path order so two trees with the same sharing compare equal."""
    inodes = {}
    state = {}
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames.sort()
        for name in sorted(filenames) + [d for d in dirnames if os.path.islink(os.path.join(dirpath, d))]:
            full = os.path.join(dirpath, name)
            rel = os.path.relpath(full, root)
            st = os.lstat(full)
            if os.path.islink(full):
                target = os.readlink(full)
                state[rel] = ("symlink", target.replace(root, b"<root>"), None)
                continue
            key = (st.st_dev, st.st_ino)
            inodes.setdefault(key, len(inodes))
            with open(full, "rb") as f:
                state[rel] = ("file", f.read(), inodes[key])
    return state


def temporaries(root):
    found = []
    for dirpath, dirnames, filenames in os.walk(root):
        found += [os.path.join(dirpath, n) for n in filenames if n.startswith(TEMP_MARK)]
    return found


class Actions(unittest.TestCase):
    def make_tree(self):
        """Three copies of one content (a kept one under PATH 'keep'), two of another, and
        odd names: a quote, a newline, a leading dash, bytes that are not UTF-8."""
        tree = Tree(self)
        self.big = random_bytes(1, 200_000)
        self.small = random_bytes(2, 5000)
        tree.write("keep/big", self.big)
        tree.write("other/big copy", self.big)
        tree.write(b"other/it's \xff\xfe", self.big)
        tree.write("keep/small", self.small)
        tree.write("other/-n\nsmall", self.small)
        tree.write("other/unique", random_bytes(3, 5000))
        return tree

    def act(self, command, report, *flags, cwd=None, expect=0):
        proc = run([command] + list(flags) + [report], cwd=cwd)
        self.assertEqual(proc.returncode, expect, describe(proc))
        return proc

    def test_json_report_records_each_files_state(self):
        tree = self.make_tree()
        report = group_report(self, tree, "keep", "other")
        with open(report, "rb") as f:
            doc = parse_json_bytes(self, f.read())
        for group in doc["groups"]:
            for f in group["files"]:
                path = os.path.join(tree.root, os.fsencode(f["path"]))
                st = os.lstat(path)
                self.assertEqual((f["device"], f["inode"], f["mtime_ns"], f["ctime_ns"]),
                                 (st.st_dev, st.st_ino, st.st_mtime_ns, st.st_ctime_ns), f)
                self.assertEqual(f["root"], 0 if f["path"].startswith("keep/") else 1, f)

    def test_link(self):
        tree = self.make_tree()
        report = group_report(self, tree, "keep", "other")
        proc = self.act("link", report, cwd=tree.root)
        kept = os.lstat(tree.path("keep/big"))
        for rel in ("other/big copy", b"other/it's \xff\xfe"):
            st = os.lstat(tree.path(rel))
            self.assertEqual((st.st_dev, st.st_ino), (kept.st_dev, kept.st_ino), rel)
        self.assertEqual(kept.st_nlink, 3)
        self.assertEqual(os.lstat(tree.path("other/-n\nsmall")).st_ino, os.lstat(tree.path("keep/small")).st_ino)
        self.assertNotEqual(os.lstat(tree.path("other/unique")).st_ino, kept.st_ino)
        with open(tree.path("other/big copy"), "rb") as f:
            self.assertEqual(f.read(), self.big)
        self.assertIn(b"linked other/big copy (copy of keep/big)", proc.stdout)
        self.assertIn(b"3 files linked", proc.stderr)
        self.assertEqual(temporaries(tree.root), [])
        # Again: nothing left to do, and said so.
        proc = self.act("link", report, cwd=tree.root)
        self.assertIn(b"0 files linked", proc.stderr)
        self.assertIn(b"3 already done", proc.stderr)

    def test_remove_keeps_the_earliest_path(self):
        tree = self.make_tree()
        report = group_report(self, tree, "other", "keep")  # now 'other' is the earlier PATH
        proc = self.act("remove", report, cwd=tree.root)
        self.assertEqual(os.listdir(tree.path("keep")), [])
        self.assertTrue(os.path.exists(tree.path("other/big copy")))  # earliest PATH, then oldest, then path
        self.assertFalse(os.path.exists(tree.path(b"other/it's \xff\xfe")))
        self.assertTrue(os.path.exists(tree.path("other/-n\nsmall")))
        self.assertTrue(os.path.exists(tree.path("other/unique")))
        self.assertIn(b"3 files removed, 395.5 KiB reclaimed", proc.stderr)

    def test_keep_flags(self):
        tree = self.make_tree()
        report = group_report(self, tree, "keep", "other")
        self.act("remove", report, "--priority", tree.path("other"), "--keep", "shortest-path", cwd=tree.root)
        self.assertFalse(os.path.exists(tree.path("keep/big")))
        self.assertFalse(os.path.exists(tree.path("other/big copy")))
        self.assertTrue(os.path.exists(tree.path(b"other/it's \xff\xfe")))

    def test_originals_are_never_touched(self):
        tree = self.make_tree()
        report = group_report(self, tree, "other", "keep")
        self.act("remove", report, "--originals", tree.path("keep"), "--keep-count", "1", cwd=tree.root)
        self.assertTrue(os.path.exists(tree.path("keep/big")))
        self.assertTrue(os.path.exists(tree.path("keep/small")))
        self.assertFalse(os.path.exists(tree.path("other/big copy")))
        self.assertFalse(os.path.exists(tree.path("other/-n\nsmall")))

    def test_symlink_absolute_and_relative(self):
        tree = self.make_tree()
        report = group_report(self, tree, "keep", "other")
        self.act("symlink", report, cwd=tree.root)
        self.assertEqual(os.readlink(tree.path("other/big copy")), tree.path("keep/big"))
        with open(tree.path("other/big copy"), "rb") as f:
            self.assertEqual(f.read(), self.big)
        tree2 = self.make_tree()
        report2 = group_report(self, tree2, "keep", "other")
        self.act("symlink", report2, "--relative", cwd=tree2.root)
        self.assertEqual(os.readlink(tree2.path("other/-n\nsmall")), b"../keep/small")

    def test_move_keeps_relative_paths(self):
        tree = self.make_tree()
        attic = tempfile.mkdtemp(prefix="spindle-attic-")
        self.addCleanup(shutil.rmtree, attic, True)
        report = group_report(self, tree, "keep", "other")
        self.act("move", report, "--to", attic, cwd=tree.root)
        self.assertFalse(os.path.exists(tree.path("other/big copy")))
        with open(os.path.join(attic, "other", "big copy"), "rb") as f:
            self.assertEqual(f.read(), self.big)
        self.assertTrue(os.path.exists(os.path.join(os.fsencode(attic), b"other", b"-n\nsmall")))
        self.assertTrue(os.path.exists(tree.path("keep/big")))

    def test_move_needs_to(self):
        tree = self.make_tree()
        report = group_report(self, tree, "keep", "other")
        proc = self.act("move", report, cwd=tree.root, expect=2)
        self.assertIn(b"--to", proc.stderr)

    def test_modified_between_group_and_action_is_skipped(self):
        tree = self.make_tree()
        report = group_report(self, tree, "keep", "other")
        # Same size, other bytes: only the recorded mtime (and the comparison) can tell.
        changed = bytearray(self.big)
        changed[100] ^= 0xff
        tree.write("other/big copy", bytes(changed))
        proc = self.act("remove", report, cwd=tree.root, expect=1)
        with open(tree.path("other/big copy"), "rb") as f:
            self.assertEqual(f.read(), bytes(changed))
        self.assertIn(b"other/big copy: changed", proc.stderr)
        self.assertIn(b"1 skipped (1 changed since the report)", proc.stderr)
        self.assertFalse(os.path.exists(tree.path(b"other/it's \xff\xfe")))

    def test_text_report_is_verified_by_content(self):
        tree = self.make_tree()
        report = group_report(self, tree, "keep", "other", fmt="text")
        changed = bytearray(self.small)
        changed[-1] ^= 1
        st = os.lstat(tree.path("other/-n\nsmall"))
        tree.write("other/-n\nsmall", bytes(changed))
        os.utime(tree.path("other/-n\nsmall"), ns=(st.st_atime_ns, st.st_mtime_ns))
        # The name holds a newline: a text report cannot carry it and is refused whole.
        proc = self.act("link", report, cwd=tree.root, expect=2)
        self.assertIn(b"nothing was touched", proc.stderr)
        self.assertEqual(os.lstat(tree.path("other/big copy")).st_nlink, 1)
        os.rename(tree.path("other/-n\nsmall"), tree.path("other/small2"))
        report = group_report(self, tree, "keep", "other", fmt="text")
        # group no longer pairs them (contents differ); change a copy of `big` after the report.
        big_copy = tree.path("other/big copy")
        st = os.lstat(big_copy)
        data = bytearray(self.big)
        data[0] ^= 1
        tree.write("other/big copy", bytes(data))
        os.utime(big_copy, ns=(st.st_atime_ns, st.st_mtime_ns))
        proc = self.act("link", report, cwd=tree.root, expect=1)
        self.assertIn(b"its content differs", proc.stderr)
        self.assertEqual(os.lstat(big_copy).st_nlink, 1)

    def test_malformed_report_touches_nothing(self):
        tree = self.make_tree()
        report = group_report(self, tree, "keep", "other")
        with open(report, "rb") as f:
            text = f.read()
        # Break the last group only: the first ones must not be acted on either.
        broken = text.replace(b'"hash":"', b'"hash":"zz', 2)
        broken_path = report + b".broken"
        self.addCleanup(os.unlink, broken_path)
        with open(broken_path, "wb") as f:
            f.write(broken.replace(b"},{", b"},\n{"))
        before = snapshot(tree.root)
        proc = self.act("remove", broken_path, cwd=tree.root, expect=2)
        self.assertRegex(proc.stderr, rb"\.broken:\d+: ")
        self.assertEqual(snapshot(tree.root), before)

    def test_report_from_stdin(self):
        tree = self.make_tree()
        report = group_report(self, tree, "keep", "other")
        with open(report, "rb") as f:
            proc = subprocess.run([spindle_binary(), "link", "-q"], stdin=f, cwd=tree.root, stdout=subprocess.PIPE,
                                  stderr=subprocess.PIPE, timeout=TIMEOUT, check=False)
        self.assertEqual(proc.returncode, 0, describe(proc))
        self.assertEqual(proc.stdout, b"")
        self.assertEqual(os.lstat(tree.path("keep/big")).st_nlink, 3)

    def test_dry_run_script_run_by_sh_equals_the_real_action(self):
        for command, flags in (("link", []), ("remove", []), ("symlink", []), ("symlink", ["--relative"]),
                               ("move", ["--to"])):
            with self.subTest(command=command, flags=flags):
                real, scripted = self.make_tree(), self.make_tree()
                if flags == ["--to"]:
                    attic_real = os.path.join(real.root, b"attic")
                    attic_scripted = os.path.join(scripted.root, b"attic")
                    os.mkdir(attic_real)
                    os.mkdir(attic_scripted)
                    extra_real, extra_scripted = ["--to", attic_real], ["--to", attic_scripted]
                else:
                    extra_real = extra_scripted = flags
                report_real = group_report(self, real, "keep", "other")
                report_scripted = group_report(self, scripted, "keep", "other")
                self.act(command, report_real, *extra_real, cwd=real.root)
                before = snapshot(scripted.root)
                proc = self.act(command, report_scripted, "--dry-run", *extra_scripted, cwd=scripted.root)
                self.assertEqual(snapshot(scripted.root), before, "--dry-run touched the tree")
                self.assertTrue(proc.stdout.startswith(b"#!/bin/sh\n"), describe(proc))
                sh = subprocess.run(["sh", "-eu"], input=proc.stdout, cwd=scripted.root, stdout=subprocess.PIPE,
                                    stderr=subprocess.PIPE, timeout=TIMEOUT, check=False)
                self.assertEqual(sh.returncode, 0, sh.stderr)
                self.assertEqual(snapshot(scripted.root), snapshot(real.root))

    def test_cross_filesystem_link_is_skipped(self):
        if not is_root():
            self.skipTest("not root: cannot mount a second filesystem for a cross-filesystem pair")
        tree = self.make_tree()
        if not tree.mount_tmpfs("mnt"):
            self.skipTest("the kernel refused a tmpfs mount")
        tree.write("mnt/big", self.big)
        report = group_report(self, tree, "keep", "mnt", "other")
        proc = self.act("link", report, cwd=tree.root, expect=1)
        self.assertIn(b"mnt/big: skipped: on another filesystem than the kept copy keep/big", proc.stderr)
        self.assertEqual(os.lstat(tree.path("mnt/big")).st_nlink, 1)
        self.assertEqual(os.lstat(tree.path("keep/big")).st_nlink, 3)  # the same-filesystem pairs were done


class KillNine(unittest.TestCase):
    """kill -9 at random moments during link and remove of a large group: every original path is
    there with its content (link), or the kept copy is (remove); the next run finishes the job and
    leaves no temporary."""

    # Many small files: the time of a run is mostly the per-file steps, where a kill must land.
    FILES = 500
    ROUNDS = 30

    def build(self):
        tree = Tree(self)
        self.data = random_bytes(7, 4096)
        for i in range(self.FILES):
            tree.write("d%02d/f%04d" % (i % 10, i), self.data)
        return tree

    def run_and_kill(self, command, tree, report, moment):
        proc = subprocess.Popen([spindle_binary(), command, "-q", "--progress", "never", report], cwd=tree.root,
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(moment)  # the random moment itself, not a wait for anything
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=TIMEOUT)

    def timed(self, args, cwd):
        start = time.monotonic()
        proc = run(args, cwd=cwd)
        self.assertEqual(proc.returncode, 0, describe(proc))
        return time.monotonic() - start

    def check(self, command, tree):
        for i in range(self.FILES):
            path = tree.path("d%02d/f%04d" % (i % 10, i))
            if command == "remove" and i != 0:
                if not os.path.exists(path):
                    continue
            with open(path, "rb") as f:
                self.assertEqual(f.read(), self.data, path)

    def exercise(self, command):
        rng = random.Random(int(os.environ.get("SPINDLE_KILL_SEED", "1")))
        # Aim the kills between the end of start-up (a run over an empty report) and the end of a
        # whole run, where the files are being acted on.
        tree = self.build()
        empty = os.path.join(tree.root, b"empty-report")
        open(empty, "wb").close()
        startup = self.timed([command, "-q", empty], tree.root)
        os.unlink(empty)
        whole = self.timed([command, "-q", group_report(self, tree, ".")], tree.root)
        for _ in range(self.ROUNDS):
            tree = self.build()
            report = group_report(self, tree, ".")
            self.run_and_kill(command, tree, report, rng.uniform(startup, max(whole, startup * 2)))
            self.check(command, tree)
            proc = run([command, "-q", report], cwd=tree.root)
            self.assertIn(proc.returncode, (0, 1), describe(proc))
            self.check(command, tree)
            self.assertEqual(temporaries(tree.root), [], "temporaries left after the next run")
            if command == "link":
                inodes = {os.lstat(tree.path("d%02d/f%04d" % (i % 10, i))).st_ino for i in range(self.FILES)}
                self.assertEqual(len(inodes), 1)
            else:
                self.assertEqual(sum(len(files) for _, _, files in os.walk(tree.root)), 1)
            tree.cleanup()  # now, not at the end: thirty trees at once would crowd a small TMPDIR

    def test_link_killed_at_random_moments(self):
        self.exercise("link")

    def test_remove_killed_at_random_moments(self):
        self.exercise("remove")


class DedupeOnBtrfs(unittest.TestCase):
    def setUp(self):
        if not is_root():
            self.skipTest("not root: a btrfs image cannot be loop-mounted")
        if shutil.which("mkfs.btrfs") is None:
            self.skipTest("mkfs.btrfs not installed (Debian package btrfs-progs)")
        self.tree = Tree(self)
        image = os.path.join(self.tree.root, b"btrfs.img")
        with open(image, "wb") as f:
            f.truncate(256 * 1024 * 1024)
        proc = subprocess.run(["mkfs.btrfs", "-q", image], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              timeout=TIMEOUT, check=False)
        if proc.returncode != 0:
            self.skipTest("mkfs.btrfs failed: %r" % proc.stderr)
        mountpoint = self.tree.mkdir("fs")
        proc = subprocess.run(["mount", "-o", "loop", image, mountpoint], stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, timeout=TIMEOUT, check=False)
        if proc.returncode != 0:
            self.skipTest("the kernel refused to loop-mount a btrfs image: %r" % proc.stderr)
        self.tree.mounts.append(mountpoint)

    def test_dedupe_then_already_deduplicated(self):
        data = random_bytes(9, 1024 * 1024)
        for name in ("a", "b", "c"):
            self.tree.write("fs/" + name, data)
        os.sync()
        report = group_report(self, self.tree, "fs")
        proc = run(["dedupe", report], cwd=self.tree.root)
        self.assertEqual(proc.returncode, 0, describe(proc))
        self.assertIn(b"2 files deduplicated", proc.stderr)
        for name in ("a", "b", "c"):
            with open(self.tree.path("fs/" + name), "rb") as f:
                self.assertEqual(f.read(), data)
        self.assertEqual(len({os.lstat(self.tree.path("fs/" + n)).st_ino for n in "abc"}), 3)
        proc = run(["dedupe", report], cwd=self.tree.root)
        self.assertEqual(proc.returncode, 0, describe(proc))
        self.assertIn(b"0 files deduplicated", proc.stderr)
        self.assertIn(b"2 already done", proc.stderr)
        self.assertIn(b"already deduplicated", proc.stdout)


if __name__ == "__main__":
    unittest.main()

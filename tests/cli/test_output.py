"""`-o FILE` behaves like a shell redirect `> FILE`, atomic where the result is identical, and the
files spindle reads for itself (the calibration store) can neither hang nor flood it.

Never run against real machine files: every device node, FIFO and report lives in a temp dir.
"""

import os
import signal
import stat
import subprocess
import sys
import tempfile
import threading
import unittest

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from long_read import sparse_files, start, wait_until_reading  # noqa: E402
from spindle_cli import (  # noqa: E402
    NOBODY_GID, NOBODY_UID, TIMEOUT, Tree, describe, is_root, run, spindle_binary)


def small_tree(testcase):
    tree = Tree(testcase)
    tree.write("a", b"same content")
    tree.write("sub/b", b"same content")
    tree.write("c", b"other")
    return tree


def read(path):
    with open(path, "rb") as f:
        return f.read()


def expected_report(tree):
    proc = run(["group", tree.root])
    assert proc.returncode == 0, describe(proc)
    return proc.stdout


class Reader(threading.Thread):
    """Reads a FIFO to EOF in the background; join() with a timeout is the watchdog."""

    def __init__(self, path):
        super().__init__(daemon=True)
        self.path = path
        self.data = None

    def run(self):
        with open(self.path, "rb") as f:
            self.data = f.read()


class RegularFiles(unittest.TestCase):
    def test_existing_report_keeps_mode_and_owner(self):
        tree = small_tree(self)
        out = Tree(self)
        report = out.write("report.txt", b"old report")
        os.chmod(report, 0o600)
        if is_root():
            os.chown(report, NOBODY_UID, NOBODY_GID)
        proc = run(["group", "-o", report, tree.root])
        self.assertEqual(proc.returncode, 0, describe(proc))
        st = os.lstat(report)
        self.assertEqual(stat.S_IMODE(st.st_mode), 0o600, "the report's mode was not kept")
        if is_root():
            self.assertEqual((st.st_uid, st.st_gid), (NOBODY_UID, NOBODY_GID), "owner not kept")
        self.assertEqual(read(report), expected_report(tree))
        self.assertEqual(os.listdir(out.root), [b"report.txt"], "temporary left behind")

    def test_unprivileged_user_replaces_own_report_and_keeps_others_owner(self):
        # As a user: a new report and the user's own report are replaced atomically (the
        # unnamed temporary is linked without CAP_DAC_READ_SEARCH); a report owned by someone
        # else that the user may write is rewritten in place, as `>` would, so its owner stays.
        if not is_root():
            self.skipTest("needs root to run spindle as another user")
        tree = small_tree(self)
        tree.open_to_everyone()
        out = Tree(self)
        os.chown(out.root, NOBODY_UID, NOBODY_GID)
        own = out.write("own.txt", b"old")
        os.chown(own, NOBODY_UID, NOBODY_GID)
        foreign = out.write("foreign.txt", b"old")
        os.chmod(foreign, 0o666)
        foreign_inode = os.lstat(foreign).st_ino
        for report in (out.path("new.txt"), own, foreign):
            proc = run(["group", "-o", report, tree.root], user=(NOBODY_UID, NOBODY_GID))
            self.assertEqual(proc.returncode, 0, describe(proc))
            self.assertEqual(read(report), expected_report(tree))
        st = os.lstat(foreign)
        self.assertEqual((st.st_uid, st.st_ino, stat.S_IMODE(st.st_mode)), (0, foreign_inode, 0o666))
        self.assertEqual(os.lstat(own).st_uid, NOBODY_UID)
        self.assertEqual(sorted(os.listdir(out.root)), [b"foreign.txt", b"new.txt", b"own.txt"])

    def test_new_report_gets_mode_0666_minus_umask(self):
        tree = small_tree(self)
        out = Tree(self)
        report = out.path("new.txt")
        proc = subprocess.run([spindle_binary(), "group", "-o", report, tree.root], preexec_fn=lambda: os.umask(0o027),
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=TIMEOUT, check=False)
        self.assertEqual(proc.returncode, 0, describe(proc))
        self.assertEqual(stat.S_IMODE(os.lstat(report).st_mode), 0o640)

    def test_symlink_is_written_through(self):
        tree = small_tree(self)
        out = Tree(self)
        real = out.write("reports/real.txt", b"old")
        link = out.symlink("reports/real.txt", "link.txt")
        proc = run(["group", "-o", link, tree.root])
        self.assertEqual(proc.returncode, 0, describe(proc))
        self.assertTrue(os.path.islink(link), "the symlink was replaced by a file")
        self.assertEqual(read(real), expected_report(tree))

    def test_hard_linked_report_is_written_through_every_link(self):
        # A redirect writes through the inode: every name of the report sees the new one.
        tree = small_tree(self)
        out = Tree(self)
        report = out.write("report.txt", b"an old report, longer than the new one " * 10)
        other = out.link("report.txt", "copy-for-the-web.txt")
        inode = os.lstat(report).st_ino
        proc = run(["group", "-o", report, tree.root])
        self.assertEqual(proc.returncode, 0, describe(proc))
        self.assertEqual(os.lstat(report).st_ino, inode)
        self.assertEqual(os.lstat(report).st_nlink, 2, "the hard link was broken")
        self.assertEqual(read(other), expected_report(tree))

    def test_dev_stdout_is_the_standard_output(self):
        # /dev/stdout is a symlink to the magic link /proc/self/fd/1. The test makes its own such
        # symlink in a temp dir: a spindle that replaced symlinks would otherwise replace the
        # machine's /dev/stdout (spindle 0.1.0 did).
        tree = small_tree(self)
        out = Tree(self)
        stdout_link = out.symlink("/proc/self/fd/1", "stdout")
        proc = run(["group", "-o", stdout_link, tree.root])  # stdout is a pipe here
        self.assertEqual(proc.returncode, 0, describe(proc))
        self.assertEqual(proc.stdout, expected_report(tree))
        self.assertTrue(os.path.islink(stdout_link), "the symlink was replaced")
        target = out.write("captured.txt", b"")
        inode = os.lstat(target).st_ino
        with open(target, "wb") as f:
            proc = subprocess.run([spindle_binary(), "group", "-o", stdout_link, tree.root], stdout=f,
                                  stderr=subprocess.PIPE, timeout=TIMEOUT, check=False)
        self.assertEqual(proc.returncode, 0, proc.stderr)
        self.assertEqual(os.lstat(target).st_ino, inode, "the file behind /proc/self/fd/1 was replaced")
        self.assertEqual(read(target), expected_report(tree))
        self.assertTrue(os.path.islink(stdout_link), "the symlink was replaced")


class NotFiles(unittest.TestCase):
    def test_fifo_gets_the_report_and_stays_a_fifo(self):
        tree = small_tree(self)
        out = Tree(self)
        fifo = out.mkfifo("pipe")
        reader = Reader(fifo)
        reader.start()
        proc = run(["group", "-o", fifo, tree.root])
        reader.join(TIMEOUT)
        self.assertFalse(reader.is_alive(), "the reader of the FIFO never got EOF")
        self.assertEqual(proc.returncode, 0, describe(proc))
        self.assertEqual(reader.data, expected_report(tree))
        self.assertTrue(stat.S_ISFIFO(os.lstat(fifo).st_mode), "the FIFO was replaced")

    def test_fifo_without_a_reader_does_not_stop_the_walk(self):
        # Nobody reads yet: the walk must go on (its error about a missing PATH reaches stderr)
        # before a reader opens the FIFO; spindle then writes the report to it.
        tree = small_tree(self)
        out = Tree(self)
        fifo = out.mkfifo("pipe")
        missing = tree.path("missing-path")
        proc = subprocess.Popen([spindle_binary(), "group", "-o", fifo, tree.root, missing],
                                stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        first_line = []
        waiter = threading.Thread(target=lambda: first_line.append(proc.stderr.readline()), daemon=True)
        waiter.start()
        waiter.join(TIMEOUT)
        if waiter.is_alive():
            proc.kill()
            self.fail("no walk error after %d s: spindle blocked on the FIFO before the walk" % TIMEOUT)
        self.assertIn(b"missing-path", first_line[0])
        reader = Reader(fifo)
        reader.start()
        reader.join(TIMEOUT)
        stdout, stderr = proc.communicate(timeout=TIMEOUT)
        self.assertFalse(reader.is_alive(), "the reader of the FIFO never got EOF")
        self.assertEqual(proc.returncode, 1, stderr)
        self.assertEqual(reader.data, expected_report(tree))
        self.assertTrue(stat.S_ISFIFO(os.lstat(fifo).st_mode))

    def test_fifo_reader_gets_a_report_even_when_no_path_could_be_read(self):
        # Only a file keeps its last report; a reader waiting on a FIFO must not wait forever.
        out = Tree(self)
        fifo = out.mkfifo("pipe")
        reader = Reader(fifo)
        reader.start()
        proc = run(["group", "--format", "json", "-o", fifo, out.path("gone")])
        reader.join(TIMEOUT)
        self.assertFalse(reader.is_alive(), "the reader of the FIFO never got EOF")
        self.assertEqual(proc.returncode, 1, describe(proc))
        self.assertTrue(reader.data.startswith(b'{"groups":[]'), reader.data[:100])

    def test_character_device_stays_a_device(self):
        if not is_root():
            self.skipTest("mknod needs root")
        tree = small_tree(self)
        out = Tree(self)
        node = out.path("null")
        os.mknod(node, stat.S_IFCHR | 0o666, os.makedev(1, 3))  # a private /dev/null
        proc = run(["group", "-o", node, tree.root])
        self.assertEqual(proc.returncode, 0, describe(proc))
        st = os.lstat(node)
        self.assertTrue(stat.S_ISCHR(st.st_mode), "the device node was replaced by a file")
        self.assertEqual(st.st_rdev, os.makedev(1, 3))
        self.assertEqual(os.listdir(out.root), [b"null"])


class Failures(unittest.TestCase):
    def test_missing_directory_fails_before_the_walk(self):
        # If the walk ran first, its error about the missing PATH would be on stderr.
        tree = small_tree(self)
        report = tree.path("no/such/dir/report")
        missing = tree.path("walked-path-that-does-not-exist")
        proc = run(["group", "-o", report, tree.root, missing])
        self.assertEqual(proc.returncode, 3, describe(proc))
        self.assertIn(report, proc.stderr, describe(proc))
        self.assertNotIn(b"walked-path-that-does-not-exist", proc.stderr, "the walk ran before -o was checked")
        self.assertNotIn(b".spindle-", proc.stderr, "a message names a temporary")
        self.assertNotIn(b"spindle-tmp", proc.stderr, "a message names a temporary")

    def test_read_only_directory_message_names_file(self):
        if not is_root():
            self.skipTest("mounting a read-only tmpfs needs root")
        tree = small_tree(self)
        out = Tree(self)
        if not out.mount("ro", "tmpfs", "-o", "ro,size=1m"):
            self.skipTest("the kernel refused to mount a tmpfs")
        report = out.path("ro/report.txt")
        proc = run(["group", "-o", report, tree.root])
        self.assertEqual(proc.returncode, 3, describe(proc))
        self.assertIn(report + b": ", proc.stderr, describe(proc))
        self.assertIn(b"Read-only file system", proc.stderr, describe(proc))
        self.assertNotIn(b"spindle-tmp", proc.stderr, describe(proc))
        self.assertNotIn(b".spindle-", proc.stderr, describe(proc))

    def test_every_path_failing_keeps_the_old_report(self):
        out = Tree(self)
        report = out.write("report.txt", b"yesterday's report\n")
        proc = run(["group", "-o", report, out.path("gone-1"), out.path("gone-2")])
        self.assertEqual(proc.returncode, 1, describe(proc))
        self.assertEqual(read(report), b"yesterday's report\n", "an empty report replaced the old one")
        self.assertIn(b"nothing written to " + report, proc.stderr, describe(proc))

    def test_an_empty_directory_still_gets_a_report(self):
        # Nothing found is not nothing walked: the report says "no duplicates".
        out = Tree(self)
        empty = out.mkdir("empty")
        report = out.write("report.json", b"old")
        proc = run(["group", "--format", "json", "-o", report, empty])
        self.assertEqual(proc.returncode, 0, describe(proc))
        self.assertTrue(read(report).startswith(b'{"groups":[]'), read(report)[:100])

    def test_planted_symlinks_in_a_shared_sticky_directory_are_never_followed(self):
        # Another user plants symlinks at every name spindle 0.1.0 would have used for its
        # temporary (FILE.spindle-tmp-PID, PIDs next to the current one) in a sticky 1777
        # directory; root's report must go to FILE only, the victim stays as it was.
        if not is_root():
            self.skipTest("needs root to plant the attacker's symlinks as another user")
        tree = small_tree(self)
        shared = Tree(self)
        os.chmod(shared.root, 0o1777)
        victim = shared.write("victim", b"precious")
        os.chmod(victim, 0o644)
        with open("/proc/sys/kernel/ns_last_pid") as f:
            last_pid = int(f.read())
        report = shared.path("report.txt")
        for pid in range(last_pid + 1, last_pid + 2000):
            name = report + b".spindle-tmp-" + str(pid).encode()
            os.symlink(victim, name)
            os.lchown(name, NOBODY_UID, NOBODY_GID)
        proc = run(["group", "-o", report, tree.root])
        self.assertEqual(proc.returncode, 0, describe(proc))
        self.assertEqual(read(victim), b"precious", "root's spindle wrote through a planted symlink")
        self.assertEqual(read(report), expected_report(tree))
        self.assertFalse(os.path.islink(report))

    def test_interrupted_run_leaves_the_old_report(self):
        # Two 2 TiB sparse files of one size need whole-file reads that take hours, so the run is
        # still reading when the signal comes, however fast the machine (a walk of /usr was not:
        # in a minimal root it ended before the signal).
        out = Tree(self)
        report = out.write("report.txt", b"yesterday's report\n")
        tree = Tree(self)
        sparse_files(self, os.fsdecode(tree.root), ["a", "b"], 2 << 40)
        proc = start(["group", "--progress", "never", "-o", report, tree.root])
        wait_until_reading(self, proc)
        proc.send_signal(signal.SIGTERM)
        stdout, stderr = proc.communicate(timeout=TIMEOUT)
        self.assertEqual(proc.returncode, 130, stderr[-500:])
        self.assertEqual(read(report), b"yesterday's report\n")
        self.assertEqual(os.listdir(out.root), [b"report.txt"], "a temporary was left behind")


class CalibrationStore(unittest.TestCase):
    """The store under $XDG_CONFIG_HOME is spindle's own file: whatever is there, a run goes on."""

    def config_home(self):
        home = tempfile.mkdtemp(prefix="spindle-xdg-")
        self.addCleanup(lambda: subprocess.run(["rm", "-rf", home], check=False))
        os.makedirs(os.path.join(home, "spindle"))
        return home, os.path.join(home, "spindle", "calibration")

    def run_with(self, home, args):
        env = dict(os.environ, XDG_CONFIG_HOME=home)
        return subprocess.run([spindle_binary()] + args, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, timeout=TIMEOUT, check=False)

    def test_fifo_store_neither_hangs_nor_stops_the_run(self):
        tree = small_tree(self)
        home, store = self.config_home()
        os.mkfifo(store)
        try:
            proc = self.run_with(home, ["group", tree.root])
        except subprocess.TimeoutExpired:
            self.fail("a FIFO calibration store hung the run for %d s" % TIMEOUT)
        self.assertEqual(proc.returncode, 0, describe(proc))
        self.assertEqual(proc.stdout, expected_report(tree))
        self.assertEqual(proc.stderr.count(store.encode()), 1, describe(proc))

    def test_store_linked_to_dev_zero_is_refused_unread(self):
        tree = small_tree(self)
        home, store = self.config_home()
        os.symlink("/dev/zero", store)
        try:
            proc = self.run_with(home, ["group", tree.root])
        except subprocess.TimeoutExpired:
            self.fail("a calibration store linked to /dev/zero was read for %d s" % TIMEOUT)
        self.assertEqual(proc.returncode, 0, describe(proc))
        self.assertIn(b"not a regular file", proc.stderr, describe(proc))

    def test_symlinked_store_is_used(self):
        # stow and other dotfile managers make ~/.config/* symlinks into a repository.
        tree = small_tree(self)
        home, store = self.config_home()
        proc = self.run_with(home, ["devices", "--format", "json", tree.root])
        self.assertEqual(proc.returncode, 0, describe(proc))
        import json
        key = json.loads(proc.stdout)["devices"][0]["key"]
        real = os.path.join(home, "dotfiles-calibration")
        with open(real, "w") as f:
            f.write("%s 3 5\n" % key)
        os.symlink(real, store)
        proc = self.run_with(home, ["devices", "--format", "json", tree.root])
        self.assertEqual(proc.returncode, 0, describe(proc))
        device = json.loads(proc.stdout)["devices"][0]
        self.assertEqual((device["threads"], device["threads_source"]), ([3, 5], "calibration"), describe(proc))


if __name__ == "__main__":
    unittest.main()

"""The persistent hash cache through the binary: a second `group --cache` over an unchanged tree
reads no file content (`bytes read: 0` in --stats) and leaves access times alone; a touched file
is read again, and only it; two runs on one cache at once both report correctly; a corrupt cache
file is a warning, never a wrong report; `spindle cache stats|prune|clear`.

Every cache lives in a temp dir: XDG_CACHE_HOME points into one for every run here.
"""

import json
import os
import sqlite3
import re
import shutil
import stat
import subprocess
import sys
import tempfile
import unittest
from unittest import mock

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from spindle_cli import (NOBODY_GID, NOBODY_UID, TIMEOUT, Tree, describe, is_root,  # noqa: E402
                         random_bytes, run, spindle_binary)

BYTES_READ = re.compile(rb"(?m)^bytes read: (\d+)$")
CACHE_LINE = re.compile(rb"(?m)^cache: (\d+) hits, (\d+) misses$")


def bytes_read(testcase, proc):
    found = BYTES_READ.findall(proc.stderr)
    testcase.assertEqual(len(found), 1, "one 'bytes read: N' line\n" + describe(proc))
    return int(found[0])


def cache_counts(testcase, proc):
    found = CACHE_LINE.search(proc.stderr)
    testcase.assertIsNotNone(found, describe(proc))
    return int(found.group(1)), int(found.group(2))


class CacheTest(unittest.TestCase):
    def setUp(self):
        self.tree = Tree(self)
        # Never the real cache: the default location is under this temp dir.
        self.xdg = tempfile.mkdtemp(prefix="spindle-xdg-")
        self.addCleanup(shutil.rmtree, self.xdg, True)
        patcher = mock.patch.dict(os.environ, {"XDG_CACHE_HOME": self.xdg})
        patcher.start()
        self.addCleanup(patcher.stop)
        self.cache = os.path.join(self.xdg, "spindle", "hashes.sqlite")
        self.data = self.tree.mkdir("data")
        self.files = {}
        for i in range(6):
            content = random_bytes(i, 3000 + 5000 * i)
            for copy in ("a", "b"):
                name = "d%d/%s%d" % (i % 3, copy, i)
                self.tree.write("data/" + name, content)
                self.files["data/" + name] = len(content)
        self.tree.write("data/lonely", random_bytes(99, 3000))  # same size as a0, other content

    def group(self, *flags, user=None):
        proc = run(["group", "--stats", *flags, self.data], user=user)
        self.assertEqual(proc.returncode, 0, describe(proc))
        return proc

    def hash_listing(self, *flags):
        proc = run(["hash", "--stats", *flags, self.data])
        self.assertEqual(proc.returncode, 0, describe(proc))
        return proc

    def test_hash_listing_of_an_unchanged_tree_reads_no_content(self):
        total = sum(self.files.values()) + 3000
        # Each algorithm has its own entries: the xxh64 listing after the xxh128 one reads all.
        for algo in ("xxh128", "xxh64"):
            first = self.hash_listing("--cache", "--algo", algo)
            self.assertEqual(bytes_read(self, first), total, describe(first))
            second = self.hash_listing("--cache", "--algo", algo)
            self.assertEqual(bytes_read(self, second), 0, describe(second))
            self.assertEqual(cache_counts(self, second), (len(self.files) + 1, 0))
            self.assertEqual(second.stdout, first.stdout, "the cached listing is the listing")
        self.tree.write("data/d0/a0", random_bytes(1234, 3000))  # changed: read again, only it
        third = self.hash_listing("--cache")
        self.assertEqual(bytes_read(self, third), 3000, describe(third))

    def test_hash_check_never_uses_the_cache(self):
        listing = self.hash_listing("--cache").stdout
        path = os.path.join(self.tree.root, b"SUMS")
        with open(path, "wb") as f:
            f.write(listing)
        proc = run(["hash", "--check", "--cache", path])
        self.assertEqual(proc.returncode, 2, describe(proc))
        self.assertIn(b"--cache", proc.stderr)

    def test_default_location_is_private_and_under_xdg_cache_home(self):
        self.group("--cache")
        self.assertTrue(os.path.isfile(self.cache), os.listdir(self.xdg))
        self.assertEqual(stat.S_IMODE(os.stat(self.cache).st_mode), 0o600)
        self.assertEqual(stat.S_IMODE(os.stat(os.path.dirname(self.cache)).st_mode), 0o700)

    def test_second_run_reads_no_content(self):
        uncached = self.group()
        first = self.group("--cache")
        self.assertGreater(bytes_read(self, first), 0)
        self.assertEqual(cache_counts(self, first)[0], 0)
        second = self.group("--cache")
        self.assertEqual(bytes_read(self, second), 0, describe(second))
        hits, misses = cache_counts(self, second)
        self.assertEqual((hits, misses), (cache_counts(self, first)[1], 0))
        self.assertEqual(second.stdout, uncached.stdout)
        self.assertEqual(first.stdout, uncached.stdout)
        doc = json.loads(self.group("--cache", "-f", "json").stdout)
        self.assertEqual((doc["stats"]["bytes_read"], doc["stats"]["cache_hits"], doc["stats"]["cache_misses"]),
                         (0, hits, 0))

    def test_cached_run_leaves_access_times_alone(self):
        if not is_root():
            self.skipTest("needs root: a strictatime tmpfs, and a reader (nobody) that is not the files' owner, "
                          "so that O_NOATIME cannot hide a read")
        # strictatime: every read moves atime; nobody reads root's files without O_NOATIME (EPERM).
        if not self.tree.mount("atime", "tmpfs", "-o", "size=16m,strictatime"):
            self.skipTest("cannot mount a tmpfs here")
        paths = []
        for i in range(4):
            content = random_bytes(200 + i // 2, 9000)
            paths.append(self.tree.write("atime/f%d" % i, content))
        self.tree.open_to_everyone()
        os.chmod(self.xdg, 0o777)
        nobody = (NOBODY_UID, NOBODY_GID)
        target = self.tree.path("atime")

        def group_as_nobody(*flags):
            proc = run(["group", "--stats", *flags, target], user=nobody)
            self.assertEqual(proc.returncode, 0, describe(proc))
            return proc

        def atimes():
            return [os.stat(path).st_atime_ns for path in paths]

        first = group_as_nobody("--cache")
        self.assertGreater(bytes_read(self, first), 0)
        before = atimes()
        second = group_as_nobody("--cache")
        self.assertEqual(bytes_read(self, second), 0, describe(second))
        self.assertEqual(atimes(), before, "a cached run changed access times")
        # The check can see a read: an uncached run does move them.
        group_as_nobody()
        self.assertNotEqual(atimes(), before, "an uncached read did not move atime: the check above proves nothing")

    def test_touched_file_is_read_again_and_only_it(self):
        uncached = self.group()
        self.group("--cache")
        # a0 (3000 bytes, one block or less): its group needs only its first-block read.
        path = self.tree.path("data/d0/a0")
        st = os.stat(path)
        os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns + 1000))
        again = self.group("--cache")
        self.assertEqual(bytes_read(self, again), 3000, describe(again))
        self.assertEqual(cache_counts(self, again)[1], 1)
        self.assertEqual(again.stdout, uncached.stdout)

    def test_changed_content_with_mtime_restored_is_read_again(self):
        self.group("--cache")
        path = self.tree.path("data/d1/a1")  # 8000 bytes: at most two blocks, hashed whole by one read
        st = os.stat(path)
        self.tree.write("data/d1/a1", random_bytes(1000, 8000))
        os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns))  # only ctime tells
        again = self.group("--cache")
        self.assertEqual(bytes_read(self, again), 8000, "a1 is read again, and only it\n" + describe(again))
        self.assertEqual(cache_counts(self, again)[1], 1, describe(again))
        self.assertNotIn(b"d1/a1", again.stdout)

    def test_ignore_ctime_keeps_a_renamed_file_cached(self):
        self.group("--cache")
        os.rename(self.tree.path("data/d2/a2"), self.tree.path("data/d2/renamed"))
        strict = self.group("--cache")
        self.assertEqual(cache_counts(self, strict)[1], 3, "rename moves ctime: a2 is read again")
        os.rename(self.tree.path("data/d2/renamed"), self.tree.path("data/d2/again"))
        relaxed = self.group("--cache-ignore-ctime")
        self.assertEqual(bytes_read(self, relaxed), 0, describe(relaxed))

    def test_two_concurrent_runs_on_one_cache(self):
        for i in range(300):
            self.tree.write("data/many/%03d" % i, b"%d" % (i % 150) * 50)
        expected = self.group().stdout
        procs = [subprocess.Popen([spindle_binary(), "group", "--cache", "--stats", self.data],
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL)
                 for _ in range(2)]
        for proc in procs:
            out, err = proc.communicate(timeout=TIMEOUT)
            self.assertEqual(proc.returncode, 0, err)
            self.assertEqual(out, expected)
            self.assertNotIn(b"warning", err)
        third = self.group("--cache")
        self.assertEqual(bytes_read(self, third), 0, describe(third))

    def test_corrupt_cache_file_is_a_warning_and_the_report_is_right(self):
        expected = self.group().stdout
        self.group("--cache")
        # A run leaves its entries in the WAL, whose pages shadow the file's; checkpoint them
        # into the database file first (sqlite3 does on its last close), so that the damage
        # below is what the next run reads.
        db = sqlite3.connect(self.cache)
        db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        db.close()
        self.assertFalse(os.path.exists(self.cache + "-wal"))
        with open(self.cache, "r+b") as f:
            f.write(b"this is not a database" * 100)
        proc = self.group("--cache")
        self.assertEqual(proc.stdout, expected)
        self.assertEqual(len(re.findall(rb"cache: .*moved to", proc.stderr)), 1, describe(proc))
        again = self.group("--cache")
        self.assertEqual(bytes_read(self, again), 0, "the rebuilt cache works\n" + describe(again))

    def test_a_cache_of_an_older_spindle_is_rebuilt_with_one_notice(self):
        # Schema version 1 (one row per file), as the spindle before this one left it.
        os.makedirs(os.path.dirname(self.cache), mode=0o700)
        db = sqlite3.connect(self.cache)
        db.executescript(
            "CREATE TABLE entries(device BLOB NOT NULL, inode INTEGER NOT NULL, algo INTEGER NOT NULL, "
            "stage INTEGER NOT NULL, size INTEGER NOT NULL, mtime_ns INTEGER NOT NULL, ctime_ns INTEGER NOT NULL, "
            "digest BLOB NOT NULL, path BLOB NOT NULL, checksum INTEGER NOT NULL, "
            "PRIMARY KEY(device, algo, inode, stage)) WITHOUT ROWID;"
            "PRAGMA application_id = 1936748132; PRAGMA user_version = 1;")
        db.close()
        expected = self.group().stdout
        proc = self.group("--cache")
        self.assertEqual(proc.stdout, expected)
        notices = [line for line in proc.stderr.splitlines() if b"cache:" in line and b"hits" not in line]
        self.assertEqual(len(notices), 1, describe(proc))
        self.assertIn(b"made by an older spindle (cache schema version 1), rebuilt", notices[0])
        self.assertNotIn(b"corrupt", proc.stderr)
        self.assertFalse(os.path.exists(self.cache + ".corrupt"))
        again = self.group("--cache")
        self.assertEqual(bytes_read(self, again), 0, describe(again))
        self.assertNotIn(b"older spindle", again.stderr)

    def test_a_directory_in_place_of_the_cache_means_an_uncached_run(self):
        expected = self.group().stdout
        os.makedirs(self.cache)
        proc = self.group("--cache")
        self.assertEqual(proc.stdout, expected)
        self.assertIn(b"running without the cache", proc.stderr)
        self.assertIsNone(CACHE_LINE.search(proc.stderr))

    def test_cache_path_chooses_the_database(self):
        chosen = os.path.join(self.xdg, "elsewhere", "my.sqlite")
        self.group("--cache-path", chosen)
        self.assertTrue(os.path.isfile(chosen))
        self.assertFalse(os.path.exists(self.cache))
        proc = run(["cache", "stats", "--cache-path", chosen])
        self.assertEqual(proc.returncode, 0, describe(proc))
        self.assertRegex(proc.stdout, rb"(?m)^entries: [1-9]")

    def test_stats_prune_clear(self):
        proc = run(["cache", "stats"])
        self.assertEqual(proc.returncode, 0, describe(proc))
        self.assertIn(b"entries: 0 (no cache yet)", proc.stdout)
        self.assertFalse(os.path.exists(self.cache), "stats creates nothing")
        self.group("--cache")
        proc = run(["cache", "stats"])
        entries = int(re.search(rb"(?m)^entries: (\d+)$", proc.stdout).group(1))
        self.assertGreater(entries, 0, describe(proc))
        self.assertIn(os.fsencode(self.cache), proc.stdout)
        self.assertRegex(proc.stdout, rb"(?m)^size on disk: [1-9]\d* bytes")
        # a0 (3000 bytes) and a1 (8000 bytes, two blocks) have one entry each, the digest of all of
        # the file from its one read; one goes, one is renamed.
        os.remove(self.tree.path("data/d0/a0"))
        os.rename(self.tree.path("data/d1/a1"), self.tree.path("data/d1/moved"))
        proc = run(["cache", "prune"])
        self.assertEqual(proc.returncode, 0, describe(proc))
        self.assertEqual(proc.stdout, b"pruned 2 entries, %d left\n" % (entries - 2))
        proc = run(["cache", "clear"])
        self.assertEqual(proc.stdout, b"cleared %d entries\n" % (entries - 2), describe(proc))
        self.assertIn(b"entries: 0\n", run(["cache", "stats"]).stdout)

    def test_bad_action_is_a_usage_error(self):
        proc = run(["cache", "shrink"])
        self.assertEqual(proc.returncode, 2, describe(proc))
        self.assertIn(b"stats, prune, clear", proc.stderr)


if __name__ == "__main__":
    unittest.main()

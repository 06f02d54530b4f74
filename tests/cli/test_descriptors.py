"""A low descriptor limit changes nothing in the result: spindle fits its readers (threads and
read-ahead windows) into RLIMIT_NOFILE and waits for a descriptor rather than report a readable
file as "Too many open files"."""

import os
import resource
import subprocess
import unittest

from spindle_cli import TIMEOUT, Tree, describe, parse_json_report, path_groups, random_bytes, spindle_binary

LIMIT = 16
GROUPS = 300


def limit_descriptors():
    # Soft and hard: spindle raises its soft limit to the hard one at start.
    resource.setrlimit(resource.RLIMIT_NOFILE, (LIMIT, LIMIT))


class LowDescriptorLimit(unittest.TestCase):
    def setUp(self):
        self.tree = Tree(self)
        # Groups of three copies over a few directories, sizes that need every stage.
        self.paths = []
        for g in range(GROUPS):
            data = random_bytes(g, 60000 + 37 * g)
            for copy in range(3):
                self.paths.append(self.tree.write("d%d/g%d_%d" % (g % 4, g, copy), data))

    def drop_cache(self):
        """Evict the tree from the page cache where the filesystem allows (not tmpfs): reads
        that wait on the device overlap, and so do the descriptors they hold."""
        for path in self.paths:
            fd = os.open(path, os.O_RDONLY)
            try:
                os.fdatasync(fd)
                os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
            finally:
                os.close(fd)

    def spindle(self, *flags, limited):
        return subprocess.run([spindle_binary(), "group", *flags, self.tree.root], stdin=subprocess.DEVNULL,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=TIMEOUT, check=False,
                              preexec_fn=limit_descriptors if limited else None)

    def groups(self, *flags, limited):
        proc = self.spindle("--format", "json", *flags, limited=limited)
        self.assertEqual(proc.returncode, 0, describe(proc))
        self.assertNotIn(b"Too many open files", proc.stderr, describe(proc))
        return path_groups(parse_json_report(self, proc))

    def test_many_threads_at_a_low_limit_find_every_group(self):
        expected = self.groups(limited=False)
        self.assertEqual(len(expected), GROUPS)
        self.drop_cache()
        self.assertEqual(self.groups("-t", "32", limited=True), expected)

    def test_one_reader_with_read_ahead_at_a_low_limit_finds_every_group(self):
        # What an hdd pool does: one thread and a window of files opened ahead of it.
        expected = self.groups(limited=False)
        self.drop_cache()
        self.assertEqual(self.groups("-t", "1", limited=True), expected)

    def test_what_was_shrunk_is_said_at_verbose(self):
        proc = self.spindle("-v", "-t", "32", limited=True)
        self.assertEqual(proc.returncode, 0, describe(proc))
        self.assertIn(b"descriptor limit leaves", proc.stderr, describe(proc))
        self.assertIn(b"32 -> ", proc.stderr, describe(proc))


if __name__ == "__main__":
    unittest.main()

"""A file changed or deleted while spindle reads it is never reported as a copy.

Three identical files (sparse, so their whole-file reads take a while); spindle reads them one
after another with one thread. Once it has started the whole-file reads and before it has
finished the first file, the run is stopped (SIGSTOP), one file is changed or deleted, and the
run goes on (SIGCONT). Whichever file it was, its read cannot have completed yet: spindle must
report it on stderr, exit 1, and leave it out of the group. If the machine was so slow that
the stop came after the first file was done, the attempt proves nothing and is repeated with
larger files (never a timing assertion)."""

import json
import os
import signal
import subprocess
import tempfile
import unittest

from long_read import FULL_STAGE_BYTES, bytes_read, sparse_files, start, wait_until_reading
from spindle_cli import TIMEOUT

SIZES = [1 << 30, 4 << 30]  # each attempt reads three files of this size


class ChangedWhileRead(unittest.TestCase):
    def run_and_disturb(self, disturb):
        """Run spindle on three identical files; call disturb(paths) while it is stopped in the
        middle of the first whole-file read. Returns (proc, stdout, stderr, paths)."""
        for size in SIZES:
            tree = tempfile.TemporaryDirectory(prefix="spindle-changed-")
            self.addCleanup(tree.cleanup)
            paths = sparse_files(self, tree.name, ["one", "two", "three"], size)
            proc = start(["group", "--threads", "1", "--format", "json", "--progress", "never", tree.name])
            wait_until_reading(self, proc, FULL_STAGE_BYTES)
            proc.send_signal(signal.SIGSTOP)
            try:
                stopped_at = bytes_read(proc.pid)
                if stopped_at < size:  # no file is completely read yet
                    disturb(paths)
            finally:
                proc.send_signal(signal.SIGCONT)
            try:
                stdout, stderr = proc.communicate(timeout=TIMEOUT)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.communicate()
                self.fail("watchdog: spindle did not finish in %d s" % TIMEOUT)
            if stopped_at < size:
                return proc, stdout, stderr, paths
        self.skipTest("spindle read a whole file before it could be stopped, at every size tried")

    def groups(self, stdout):
        return [sorted(f["path"] for f in g["files"]) for g in json.loads(stdout)["groups"]]

    def test_file_written_to_while_read_is_changed_not_a_copy(self):
        def write_one_byte(paths):
            with open(paths[1], "r+b") as f:
                f.seek(12345)
                f.write(b"\0")  # the same byte as the hole: only the change itself can tell
        proc, stdout, stderr, paths = self.run_and_disturb(write_one_byte)
        message = stderr.decode(errors="replace")
        self.assertEqual(proc.returncode, 1, message)
        self.assertIn("%s: changed" % paths[1], message)
        self.assertEqual(self.groups(stdout), [sorted([paths[0], paths[2]])], message)

    def test_file_deleted_while_read_is_not_reported(self):
        def delete_one(paths):
            os.unlink(paths[0])
        proc, stdout, stderr, paths = self.run_and_disturb(delete_one)
        message = stderr.decode(errors="replace")
        self.assertEqual(proc.returncode, 1, message)
        self.assertIn(paths[0] + ": ", message)
        self.assertEqual(self.groups(stdout), [sorted([paths[1], paths[2]])], message)


if __name__ == "__main__":
    unittest.main()

"""SIGINT/SIGTERM cancel a run: every pool stops, exit status 130, and no report is written that
could be mistaken for a complete one (nothing on stdout, no -o file).

The first signal must be obeyed while a huge file is being read (the reader checks between
blocks, not only between files): two 2 TB sparse files of one size need whole-file reads that
would take hours, so the run cannot end on its own before the signal, however loaded the
machine. The watchdog timeout only turns a hang into a failure; no duration is asserted."""

import os
import signal
import subprocess
import tempfile
import unittest

from long_read import sparse_files, start, wait_until_reading
from spindle_cli import TIMEOUT

SIZE = 2 << 40  # 2 TiB


class Interrupt(unittest.TestCase):
    def interrupt(self, sig, extra_args):
        tree = tempfile.TemporaryDirectory(prefix="spindle-signals-")
        self.addCleanup(tree.cleanup)
        sparse_files(self, tree.name, ["a", "b"], SIZE)
        proc = start(["group", "--progress", "never"] + extra_args + [tree.name])
        wait_until_reading(self, proc)
        proc.send_signal(sig)
        try:
            stdout, stderr = proc.communicate(timeout=TIMEOUT)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.communicate()
            self.fail("watchdog: spindle still ran %d s after the first %s during a read" % (TIMEOUT, sig.name))
        return proc.returncode, stdout, stderr

    def test_sigint_during_a_long_read_exits_130_without_a_report(self):
        code, stdout, stderr = self.interrupt(signal.SIGINT, [])
        self.assertEqual(code, 130, stderr.decode(errors="replace")[-500:])
        self.assertEqual(stdout, b"")
        self.assertIn(b"interrupted", stderr)

    def test_sigint_during_a_single_reader_long_read(self):
        # One thread and its read-ahead window: the path an hdd pool takes.
        code, stdout, stderr = self.interrupt(signal.SIGINT, ["--threads", "1"])
        self.assertEqual(code, 130, stderr.decode(errors="replace")[-500:])
        self.assertEqual(stdout, b"")

    def test_sigterm_leaves_no_output_file(self):
        with tempfile.TemporaryDirectory() as tmp:
            out = os.path.join(tmp, "report.json")
            code, stdout, stderr = self.interrupt(signal.SIGTERM, ["--format", "json", "-o", out])
            self.assertEqual(code, 130, stderr.decode(errors="replace")[-500:])
            self.assertEqual(stdout, b"")
            self.assertEqual(os.listdir(tmp), [], "an interrupted run wrote (part of) a report")


if __name__ == "__main__":
    unittest.main()

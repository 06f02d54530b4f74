"""SIGINT/SIGTERM cancel a run: every pool stops, exit status 130, and no report is written that
could be mistaken for a complete one (nothing on stdout, no -o file)."""

import os
import signal
import subprocess
import tempfile
import unittest

from spindle_cli import TIMEOUT, spindle_binary

# A tree large enough that a run is still going when its first progress line appears (drawn
# after 100 ms): /usr holds over 100k files on any Debian machine.
BIG_TREE = "/usr"


class Interrupt(unittest.TestCase):
    def interrupt(self, sig, extra_args):
        proc = subprocess.Popen([spindle_binary(), "group", "--progress", "always", BIG_TREE] + extra_args,
                                stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        # Wait for the first progress line: the run is then under way (walking or hashing).
        first = proc.stderr.read(1)
        self.assertNotEqual(first, b"", "spindle ended without drawing any progress")
        if proc.poll() is not None:
            proc.communicate()
            self.skipTest("the run over %s ended before it could be interrupted" % BIG_TREE)
        proc.send_signal(sig)
        stdout, stderr = proc.communicate(timeout=TIMEOUT)
        return proc.returncode, stdout, first + stderr

    def test_sigint_exits_130_without_a_report(self):
        code, stdout, stderr = self.interrupt(signal.SIGINT, [])
        self.assertEqual(code, 130, stderr.decode(errors="replace")[-500:])
        self.assertEqual(stdout, b"")
        self.assertIn(b"interrupted", stderr)

    def test_sigterm_leaves_no_output_file(self):
        with tempfile.TemporaryDirectory() as tmp:
            out = os.path.join(tmp, "report.json")
            code, stdout, stderr = self.interrupt(signal.SIGTERM, ["--format", "json", "-o", out])
            self.assertEqual(code, 130, stderr.decode(errors="replace")[-500:])
            self.assertEqual(stdout, b"")
            self.assertEqual(os.listdir(tmp), [], "an interrupted run wrote (part of) a report")


if __name__ == "__main__":
    unittest.main()

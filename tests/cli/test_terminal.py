"""Names that hold terminal escape sequences never reach a terminal raw, and reach a pipe unchanged.

spindle runs with its stdout (and stderr) on the slave side of a pseudo-terminal; the test reads
the master side. On a terminal every name is escaped as escape_for_terminal does (\\xHH for
control bytes, \\n, \\t, \\\\), so no ESC, BEL or C1 byte arrives; through a pipe the report holds
the exact bytes of each name.
"""

import os
import select
import subprocess
import sys
import time
import tty
import unittest

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from spindle_cli import TIMEOUT, Tree, describe, environment, run, spindle_binary  # noqa: E402

# A name that sets the window title, one that turns the text red, one with a C1 CSI (U+009B,
# UTF-8 C2 9B) and one with a lone 0x9b byte (CSI on an 8-bit terminal).
TITLE = b"title\x1b]0;pwned\x07"
RED = b"\x1b[31mred"
C1 = b"c1\xc2\x9b2J"
EIGHT_BIT = b"8bit\x9b2J"
HOSTILE = [TITLE, RED, C1, EIGHT_BIT]


def forbidden_bytes(data):
    """The control bytes in `data` that a terminal could obey (line ends aside)."""
    bad = []
    for i, byte in enumerate(data):
        if (byte < 0x20 and byte not in (0x0a, 0x0d)) or byte == 0x7f or byte == 0x9b:
            bad.append(byte)
        elif byte == 0xc2 and i + 1 < len(data) and data[i + 1] < 0xa0:
            bad.append(byte)
    return bad


# The escape tests look at names, not colour: NO_COLOR keeps --color auto's sequences out.
NO_COLOUR = {"NO_COLOR": "1"}


def run_on_terminal(args, cwd, env=None):
    """Run spindle with stdout and stderr on a pseudo-terminal; return (exit code, bytes read).

    The slave is put in raw mode so the line discipline passes bytes as written (no LF -> CRLF).
    A watchdog fails the test instead of hanging if spindle never exits. `env`: variables to set
    (None removes one); default NO_COLOUR."""
    try:
        master, slave = os.openpty()
    except OSError as e:
        # A chroot or container without /dev/pts mounted has no pseudo-terminals to offer.
        raise unittest.SkipTest("no pseudo-terminal can be opened here (is /dev/pts mounted?): %s" % e)
    tty.setraw(slave)
    try:
        proc = subprocess.Popen([spindle_binary()] + list(args), cwd=cwd, stdin=subprocess.DEVNULL,
                                stdout=slave, stderr=slave, env=environment(NO_COLOUR if env is None else env))
    finally:
        os.close(slave)
    output = bytearray()
    deadline = time.monotonic() + TIMEOUT
    try:
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                proc.kill()
                raise AssertionError("spindle %r did not finish within %d s" % (args, TIMEOUT))
            ready, _, _ = select.select([master], [], [], min(remaining, 1.0))
            if not ready:
                if proc.poll() is not None:
                    break
                continue
            try:
                chunk = os.read(master, 65536)
            except OSError:  # EIO: every slave descriptor is closed, spindle has exited
                break
            if not chunk:
                break
            output += chunk
        code = proc.wait(timeout=TIMEOUT)
    finally:
        os.close(master)
    return code, bytes(output)


class TerminalEscapes(unittest.TestCase):
    def setUp(self):
        self.tree = Tree(self)
        for name in HOSTILE:
            self.tree.write(b"d/" + name, b"same content\n")
        self.tree.write(b"d/plain", b"same content\n")
        self.tree.write(b"d/new\nline", b"same content\n")

    def test_report_on_a_terminal_has_no_raw_control(self):
        for fmt in ("text", "fdupes", "csv"):
            with self.subTest(format=fmt):
                code, out = run_on_terminal(["group", "--progress", "never", "-f", fmt, "d"], self.tree.root)
                self.assertEqual(code, 0, out)
                self.assertEqual(forbidden_bytes(out), [], "raw control bytes reached the terminal: %r" % out)
                self.assertIn(b"d/title\\x1b]0;pwned\\x07", out)
                self.assertIn(b"d/\\x1b[31mred", out)
                self.assertIn(b"d/c1\\xc2\\x9b2J", out)
                self.assertIn(b"d/8bit\\x9b2J", out)
                self.assertIn(b"d/new\\nline", out)
                self.assertIn(b"d/plain", out)

    def test_json_on_a_terminal_has_no_raw_control(self):
        code, out = run_on_terminal(["group", "--progress", "never", "-f", "json", "d"], self.tree.root)
        self.assertEqual(code, 0, out)
        self.assertEqual(forbidden_bytes(out), [], "raw control bytes reached the terminal: %r" % out)
        self.assertIn(b"d/title\\u001b]0;pwned\\u0007", out)
        self.assertIn(b"d/c1\\u009b2J", out)

    def test_error_messages_on_a_terminal_are_escaped(self):
        code, out = run_on_terminal(["group", "--progress", "never", b"missing\x1b[31m"], self.tree.root)
        self.assertEqual(code, 1, out)
        self.assertEqual(forbidden_bytes(out), [], "raw control bytes reached the terminal: %r" % out)
        self.assertIn(b"spindle: missing\\x1b[31m: ", out)

    def test_fatal_messages_on_a_terminal_are_escaped(self):
        # The report cannot be written: the message names the user's FILE, escaped.
        bad = os.path.join(self.tree.root, b"no\x1b[31mdir", b"report")
        code, out = run_on_terminal(["group", "--progress", "never", "-o", bad, "d"], self.tree.root)
        self.assertEqual(code, 3, out)
        self.assertEqual(forbidden_bytes(out), [], "raw control bytes reached the terminal: %r" % out)
        self.assertIn(b"no\\x1b[31mdir", out)

    def test_report_through_a_pipe_keeps_raw_bytes(self):
        for fmt, form in (("text", lambda n: b"d/" + n + b"\n"), ("fdupes", lambda n: b"d/" + n + b"\n"),
                          ("csv", lambda n: b",d/" + n + b"\n")):
            with self.subTest(format=fmt):
                proc = run(["group", "-f", fmt, "d"], cwd=self.tree.root)
                self.assertEqual(proc.returncode, 0, describe(proc))
                for name in HOSTILE:
                    self.assertIn(form(name), proc.stdout, describe(proc))

    def test_report_to_a_file_keeps_raw_bytes(self):
        report = os.path.join(self.tree.root, b"report.txt")
        code, out = run_on_terminal(["group", "--progress", "never", "-o", report, "d"], self.tree.root)
        self.assertEqual(code, 0, out)
        with open(report, "rb") as f:
            text = f.read()
        for name in HOSTILE:
            self.assertIn(b"d/" + name + b"\n", text)


BOLD = b"\x1b[1m# "
RED_ERROR = b"\x1b[1;31merror:\x1b[0m"
COLOUR_TERMINAL = {"TERM": "xterm-256color", "NO_COLOR": None}


class Colour(unittest.TestCase):
    """--color auto colours a terminal only; NO_COLOR and TERM=dumb turn it off; always colours
    a pipe too; a report written with -o FILE is never coloured."""

    def setUp(self):
        self.tree = Tree(self)
        self.tree.write("d/a", b"same\n")
        self.tree.write("d/b", b"same\n")

    def test_terminal_gets_colour(self):
        code, out = run_on_terminal(["group", "--progress", "never", "d", "missing"], self.tree.root,
                                    env=COLOUR_TERMINAL)
        self.assertEqual(code, 1, out)
        self.assertIn(BOLD, out)
        self.assertIn(b"spindle: " + RED_ERROR + b" missing: ", out)

    def test_no_color_and_dumb_terminal_get_none(self):
        for env in ({"TERM": "xterm", "NO_COLOR": "1"}, {"TERM": "dumb", "NO_COLOR": None}):
            with self.subTest(env=env):
                code, out = run_on_terminal(["group", "--progress", "never", "d", "missing"], self.tree.root,
                                            env=env)
                self.assertEqual(code, 1, out)
                self.assertNotIn(b"\x1b", out)
                self.assertIn(b"spindle: missing: ", out)

    def test_never_on_a_terminal(self):
        code, out = run_on_terminal(["group", "--progress", "never", "--color", "never", "d"], self.tree.root,
                                    env=COLOUR_TERMINAL)
        self.assertEqual(code, 0, out)
        self.assertNotIn(b"\x1b", out)

    def test_pipe_gets_none_by_default(self):
        proc = run(["group", "d", "missing"], cwd=self.tree.root, env=COLOUR_TERMINAL)
        self.assertEqual(proc.returncode, 1, describe(proc))
        self.assertNotIn(b"\x1b", proc.stdout + proc.stderr)

    def test_always_colours_a_pipe(self):
        proc = run(["group", "--color", "always", "d", "missing"], cwd=self.tree.root, env={"NO_COLOR": "1"})
        self.assertEqual(proc.returncode, 1, describe(proc))
        self.assertIn(BOLD, proc.stdout)
        self.assertIn(RED_ERROR, proc.stderr)

    def test_report_file_is_never_coloured(self):
        report = os.path.join(self.tree.root, b"report.txt")
        code, out = run_on_terminal(["group", "--progress", "never", "--color", "always", "-o", report, "d"],
                                    self.tree.root, env=COLOUR_TERMINAL)
        self.assertEqual(code, 0, out)
        with open(report, "rb") as f:
            text = f.read()
        self.assertIn(b"# 2 files", text)
        self.assertNotIn(b"\x1b", text)


if __name__ == "__main__":
    unittest.main()

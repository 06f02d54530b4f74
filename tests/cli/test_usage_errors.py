"""Every usage error has one shape: a first line "spindle: <what was wrong and what is allowed>",
a last line "Run 'spindle [COMMAND] --help' for usage.", nothing on stdout, exit status 2, and no
CLI11 internals ("Check ... FAILED", "A subcommand is required", "Run with --help").

Also what the size flags mean: a bound is a byte count, so --min-size rounds a fraction of a
byte up and --max-size rounds it down.
"""

import os
import sys
import unittest

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from spindle_cli import Tree, describe, group_json, run  # noqa: E402

GROUP_HINT = "Run 'spindle group --help' for usage."
DEVICES_HINT = "Run 'spindle devices --help' for usage."
ROOT_HINT = "Run 'spindle --help' for usage."

# (arguments, exact first line of stderr, exact last line of stderr)
CASES = [
    # No command, an unknown command, an unknown option before the command.
    ([], "spindle: missing command", ROOT_HINT),
    (["bogus"], "spindle: unknown command 'bogus'", ROOT_HINT),
    (["Group"], "spindle: unknown command 'Group'", ROOT_HINT),
    (["--bogus"], "spindle: unknown option '--bogus'", ROOT_HINT),
    (["--bogus", "group"], "spindle: unknown option '--bogus'", ROOT_HINT),
    # Unknown options of a command.
    (["group", "--bogus"], "spindle: unknown option '--bogus'", GROUP_HINT),
    (["group", "-Z"], "spindle: unknown option '-Z'", GROUP_HINT),
    (["group", "-vZ"], "spindle: unknown option '-Z'", GROUP_HINT),
    (["group", "--foo", "--bar"], "spindle: unknown options '--foo', '--bar'", GROUP_HINT),
    (["devices", "--min-size", "1"], "spindle: unknown option '--min-size'", DEVICES_HINT),
    # Enum values: only the names, listed; no numeric alias of the enumerator.
    (["group", "-f", "xml"], "spindle: --format: 'xml' is not one of text, fdupes, csv, json, jsonl", GROUP_HINT),
    (["group", "--format=xml"], "spindle: --format: 'xml' is not one of text, fdupes, csv, json, jsonl", GROUP_HINT),
    (["group", "-f", "2"], "spindle: --format: '2' is not one of text, fdupes, csv, json, jsonl", GROUP_HINT),
    (["group", "-f", "0"], "spindle: --format: '0' is not one of text, fdupes, csv, json, jsonl", GROUP_HINT),
    (["devices", "-f", "csv"], "spindle: --format: 'csv' is not one of text, json", DEVICES_HINT),
    (["devices", "-f", "3"], "spindle: --format: '3' is not one of text, json", DEVICES_HINT),
    (["group", "--progress", "sometimes"], "spindle: --progress: 'sometimes' is not one of never, auto, always",
     GROUP_HINT),
    (["group", "--progress", "1"], "spindle: --progress: '1' is not one of never, auto, always", GROUP_HINT),
    # A missing option argument says what the value looks like.
    (["group", "--format"], "spindle: --format: missing value (one of text, fdupes, csv, json, jsonl)", GROUP_HINT),
    (["group", "--format="], "spindle: --format: missing value (one of text, fdupes, csv, json, jsonl)", GROUP_HINT),
    (["devices", "-f"], "spindle: --format: missing value (one of text, json)", DEVICES_HINT),
    (["group", "--progress"], "spindle: --progress: missing value (one of never, auto, always)", GROUP_HINT),
    (["group", "--min-size"], "spindle: --min-size: missing value (a size such as 100, 4K, 1.5M or 2G)",
     GROUP_HINT),
    (["group", "--max-size"], "spindle: --max-size: missing value (a size such as 100, 4K, 1.5M or 2G)",
     GROUP_HINT),
    (["group", "-t"], "spindle: --threads: missing value (rules such as 8, ssd:16,8 or hdd:1,dev:/dev/sdb:2)",
     GROUP_HINT),
    (["group", "--name"], "spindle: --name: missing value (a pattern such as '*.jpg')", GROUP_HINT),
    (["group", "--exclude"], "spindle: --exclude: missing value (a pattern such as '*.jpg')", GROUP_HINT),
    (["group", "-o"], "spindle: --output: missing value (a file name)", GROUP_HINT),
    # Bad values: sizes, thread rules.
    (["group", "--min-size", "x"], "spindle: --min-size: 'x' is not a size (examples: 100, 4K, 1.5M, 2G)",
     GROUP_HINT),
    (["group", "--max-size", "-1"], "spindle: --max-size: '-1' is not a size (examples: 100, 4K, 1.5M, 2G)",
     GROUP_HINT),
    (["group", "--min-size", "1e3"], "spindle: --min-size: '1e3' is not a size (examples: 100, 4K, 1.5M, 2G)",
     GROUP_HINT),
    (["group", "--min-size", "99999999999999999999"],
     "spindle: --min-size: '99999999999999999999' is not a size (examples: 100, 4K, 1.5M, 2G)", GROUP_HINT),
    (["group", "-t", "foo"], "spindle: --threads: bad rule 'foo': not a thread count or <name>:<r>", GROUP_HINT),
    (["group", "-t", "0"], "spindle: --threads: bad rule '0': thread count 0 is out of range 1..1024", GROUP_HINT),
    (["group", "-t", "ssd:x"], "spindle: --threads: bad rule 'ssd:x': 'x' is not a thread count", GROUP_HINT),
    (["devices", "-t", "hdd"], "spindle: --threads: bad rule 'hdd': missing ':<r>' after 'hdd'", DEVICES_HINT),
    # Bounds no file can meet.
    (["group", "--min-size", "10", "--max-size", "5"],
     "spindle: --min-size 10 is larger than --max-size 5: no file can match", GROUP_HINT),
    (["group", "--min-size", "6.5", "--max-size", "6.5"],
     "spindle: --min-size 6.5 (7 bytes) is larger than --max-size 6.5 (6 bytes): no file can match", GROUP_HINT),
    (["group", "--max-size", "100", "--min-size", "1K"],
     "spindle: --min-size 1K (1024 bytes) is larger than --max-size 100: no file can match", GROUP_HINT),
    # An option that takes one value, given twice.
    (["group", "-f", "json", "-f", "csv"], "spindle: --format given more than once (it takes one value)", GROUP_HINT),
    (["group", "--min-size", "1", "--min-size", "2"], "spindle: --min-size given more than once (it takes one value)",
     GROUP_HINT),
    # Flags take no value (CLI11 would read --stats=yes as true, --stats=0 as false).
    (["group", "--stats=yes"], "spindle: --stats takes no value", GROUP_HINT),
    (["group", "--stats=0"], "spindle: --stats takes no value", GROUP_HINT),
    (["group", "--include-empty=3"], "spindle: --include-empty takes no value", GROUP_HINT),
    (["devices", "--calibrate=1"], "spindle: --calibrate takes no value", DEVICES_HINT),
    (["group", "-v=x"], "spindle: '-v=x': -v takes no value", GROUP_HINT),
    # --color takes a WHEN, like --progress.
    (["group", "--color", "sometimes"], "spindle: --color: 'sometimes' is not one of auto, always, never",
     GROUP_HINT),
    (["group", "--color"], "spindle: --color: missing value (one of auto, always, never)", GROUP_HINT),
    # A mistyped long option gets the nearest one; a far-off one gets none.
    (["group", "--stat"], "spindle: unknown option '--stat' (did you mean --stats?)", GROUP_HINT),
    (["group", "--folow-links"], "spindle: unknown option '--folow-links' (did you mean --follow-links?)",
     GROUP_HINT),
    (["devices", "--calibrat"], "spindle: unknown option '--calibrat' (did you mean --calibrate?)", DEVICES_HINT),
    # Options that need or exclude another say how to fix it.
    (["devices", "--system"], "spindle: --system needs --calibrate: add --calibrate, or leave --system out",
     DEVICES_HINT),
    (["group", "--files-from", "list", "a"],
     "spindle: PATH arguments cannot be used with --files-from: give one or the other", GROUP_HINT),
    # User text is escaped: a value cannot drive the terminal through the message.
    (["group", "-f", "\x1b[31m"], "spindle: --format: '\\x1b[31m' is not one of text, fdupes, csv, json, jsonl",
     GROUP_HINT),
    (["bogus\x1b]0;t\x07"], "spindle: unknown command 'bogus\\x1b]0;t\\x07'", ROOT_HINT),
]

LEAKS = ["Check ", "FAILED", "A subcommand is required", "Run with --help", "required but received",
         "Could not convert", "was not expected", "disallowed flag override", "->"]


class UsageErrors(unittest.TestCase):
    def test_every_usage_error(self):
        for args, first_line, last_line in CASES:
            with self.subTest(args=args):
                proc = run(args)
                context = describe(proc)
                self.assertEqual(proc.returncode, 2, context)
                self.assertEqual(proc.stdout, b"", context)
                lines = proc.stderr.decode("utf-8", "replace").splitlines()
                self.assertGreaterEqual(len(lines), 2, context)
                self.assertEqual(lines[0], first_line, context)
                self.assertEqual(lines[-1], last_line, context)
                for line in lines:
                    self.assertNotIn("\x1b", line, context)
                    for leak in LEAKS:
                        self.assertNotIn(leak, line, context)

    def test_missing_and_unknown_command_list_the_commands(self):
        for args in ([], ["bogus"]):
            with self.subTest(args=args):
                proc = run(args)
                text = proc.stderr.decode()
                self.assertRegex(text, r"(?m)^  group +Find groups of files with identical content$", describe(proc))
                self.assertRegex(text, r"(?m)^  devices +\S", describe(proc))
        proc = run([])
        self.assertIn("Usage: spindle <command> [OPTIONS] [PATH...]\n", proc.stderr.decode(), describe(proc))

    def test_help_and_version_still_succeed(self):
        for args in (["--help"], ["-h"], ["group", "--help"], ["devices", "-h"], ["--version"], ["-V"]):
            with self.subTest(args=args):
                proc = run(args)
                self.assertEqual(proc.returncode, 0, describe(proc))
                self.assertNotEqual(proc.stdout, b"", describe(proc))

    def test_enum_names_are_case_insensitive(self):
        tree = Tree(self)
        tree.write("a", b"x")
        proc = run(["group", "-f", "JSON", "--progress", "Never", tree.root])
        self.assertEqual(proc.returncode, 0, describe(proc))
        self.assertTrue(proc.stdout.startswith(b'{"groups":'), describe(proc))

    def test_a_flag_may_still_say_true(self):
        tree = Tree(self)
        tree.write("a", b"x")
        proc = run(["group", "--stats=true", tree.root])
        self.assertEqual(proc.returncode, 0, describe(proc))
        self.assertIn(b"scanned 1 file", proc.stderr, describe(proc))


class ThreadsGrammar(unittest.TestCase):
    def test_a_bad_rule_shows_the_grammar(self):
        proc = run(["group", "-t", "ssd:x"])
        self.assertEqual(proc.returncode, 2, describe(proc))
        lines = proc.stderr.decode().splitlines()
        self.assertEqual(lines[0], "spindle: --threads: bad rule 'ssd:x': 'x' is not a thread count")
        self.assertTrue(lines[1].startswith("  expected [<name>:]<r>[,<s>] rules separated by ','"), lines)
        self.assertIn("e.g. 8 or ssd:16,8 or hdd:1,dev:/dev/sdb:2", lines[1])
        self.assertEqual(lines[-1], GROUP_HINT)


class ThreadsRuleWarnings(unittest.TestCase):
    """A --threads rule that sizes no pool is not silently ignored (but a class rule, which may be
    a habit on machines without that class, is only mentioned at -v)."""

    def setUp(self):
        self.tree = Tree(self)
        self.tree.write("a", b"same")
        self.tree.write("b", b"same")

    def run_group(self, *flags):
        proc = run(["group", "--progress", "never"] + list(flags) + [self.tree.root])
        self.assertEqual(proc.returncode, 0, describe(proc))
        self.assertIn(b"/a\n", proc.stdout, describe(proc))
        return proc.stderr.decode("utf-8", "replace")

    def test_dev_rule_for_a_missing_node(self):
        err = self.run_group("--threads", "dev:/nonexistent:2")
        self.assertEqual(err, "spindle: warning: --threads dev:/nonexistent:2: no such device\n")

    def test_dev_rule_for_a_file_that_is_no_device(self):
        err = self.run_group("--threads", "dev:/proc/self/status:2")
        self.assertEqual(err, "spindle: warning: --threads dev:/proc/self/status:2: not a block device\n")

    def test_dev_rule_for_a_device_the_run_does_not_use(self):
        # 1:3 is /dev/null's number: never the device of a directory.
        err = self.run_group("--threads", "dev:1:3:2")
        self.assertEqual(err, "spindle: warning: --threads dev:1:3:2: no file of this run is on that device; "
                              "rule ignored\n")

    def test_class_rule_matching_nothing_is_quiet_unless_verbose(self):
        # network: the test tree is on a local filesystem.
        self.assertEqual(self.run_group("--threads", "network:2"), "")
        self.assertIn("spindle: --threads network:2: no network device in this run; rule ignored\n",
                      self.run_group("-v", "--threads", "network:2"))


class SizeBounds(unittest.TestCase):
    """A bound is a byte count: a fraction of a byte rounds toward the inside of the range."""

    def setUp(self):
        self.tree = Tree(self)
        for name in ("six_a", "six_b"):
            self.tree.write(name, b"123456")
        for name in ("seven_a", "seven_b"):
            self.tree.write(name, b"1234567")

    def sizes(self, *flags):
        _, doc = group_json(self, [self.tree.root], *flags)
        return sorted(g["size"] for g in doc["groups"])

    def test_min_size_rounds_a_fraction_up(self):
        self.assertEqual(self.sizes("--min-size", "6.5"), [7])
        self.assertEqual(self.sizes("--min-size", "6.01"), [7])
        self.assertEqual(self.sizes("--min-size", "6"), [6, 7])

    def test_max_size_rounds_a_fraction_down(self):
        self.assertEqual(self.sizes("--max-size", "6.5"), [6])
        self.assertEqual(self.sizes("--max-size", "6.99"), [6])
        self.assertEqual(self.sizes("--max-size", "7"), [6, 7])

    def test_a_fraction_of_a_kilobyte(self):
        # 0.006K = 6.144 bytes: at least 7, at most 6.
        self.assertEqual(self.sizes("--min-size", "0.006K"), [7])
        self.assertEqual(self.sizes("--max-size", "0.006K"), [6])

    def test_equal_bounds_select_one_size(self):
        self.assertEqual(self.sizes("--min-size", "7", "--max-size", "7"), [7])


if __name__ == "__main__":
    unittest.main()

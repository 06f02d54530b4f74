"""Every subcommand's --help fits an 80-column terminal and puts each option in one of the
groups the project uses (Input, Selection, Threads, Output, Cache; positionals under
Positionals), and the defaults are shown.
"""

import os
import re
import sys
import unittest

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from spindle_cli import describe, run  # noqa: E402

GROUPS = {"Input", "Selection", "Threads", "Output", "Cache"}


def help_text(testcase, *command, columns="80"):
    proc = run(list(command) + ["--help"], env={"COLUMNS": columns})
    testcase.assertEqual(proc.returncode, 0, describe(proc))
    return proc.stdout.decode()


def subcommands(testcase):
    text = help_text(testcase)
    names = re.findall(r"^  ([a-z]+)\s", text.split("Subcommands:")[1], re.M)
    testcase.assertIn("group", names, text)
    return names


def sections(text):
    """{header: [option lines]}: an option line starts in column 2, a description in column 30."""
    found = {}
    header = None
    for line in text.splitlines():
        if re.match(r"^\S.*:$", line):
            header = line[:-1]
            found.setdefault(header, [])
        elif re.match(r"^  \S", line) and header is not None:
            found[header].append(line.strip())
    return found


class Help(unittest.TestCase):
    def test_every_line_fits_80_columns(self):
        for command in [[]] + [[name] for name in subcommands(self)]:
            with self.subTest(command=command):
                text = help_text(self, *command)
                for line in text.splitlines():
                    self.assertLessEqual(len(line), 80, "%r in\n%s" % (line, text))

    def test_narrower_terminal_is_honoured(self):
        text = help_text(self, "group", columns="60")
        for line in text.splitlines():
            self.assertLessEqual(len(line), 60, "%r in\n%s" % (line, text))

    def test_every_option_is_in_a_group(self):
        for name in subcommands(self):
            with self.subTest(command=name):
                found = sections(help_text(self, name))
                options = [line for header, lines in found.items() for line in lines if line.startswith("-")]
                self.assertTrue(options, found)
                for header, lines in found.items():
                    if header == "Positionals" or header.startswith("Usage"):
                        continue
                    self.assertIn(header, GROUPS, "option group %r of %s: %r" % (header, name, lines))

    def test_group_help_groups_its_options(self):
        found = sections(help_text(self, "group"))
        starts = {header: [line.split()[0] for line in lines] for header, lines in found.items()}
        self.assertIn("-L,--follow-links", starts["Input"])
        self.assertIn("--min-size", starts["Selection"])
        self.assertIn("-t,--threads", starts["Threads"])
        self.assertIn("--color", starts["Output"])
        self.assertIn("--cache", starts["Cache"])

    def test_defaults_are_shown(self):
        text = " ".join(help_text(self, "group").split())
        for default in ("--progress WHEN Progress display on stderr: never, auto (default",
                        "--color WHEN Colour", "(default: only on a terminal",
                        "Report format: text (default)", "Defaults: "):
            self.assertIn(default, text)


if __name__ == "__main__":
    unittest.main()

"""The documentation agrees with the binary: every long flag of `spindle --help` and of
`spindle <command> --help` is in man/spindle.1 (under that command's options) and in README.md;
the man page names no flag that does not exist; its exit codes are those of
src/cli/exit_code.hpp; its --threads defaults are those --help prints; groff renders it cleanly.
"""

import os
import re
import shutil
import subprocess
import sys
import unittest

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from spindle_cli import TIMEOUT, describe, help_text, run, source_dir  # noqa: E402

LONG_FLAG = re.compile(r"(?<![\w-])--[a-z][a-z0-9-]*")
# --help is CLI11's own, on every command; it is documented once in the man page.
IMPLICIT = {"--help"}


def read(rel):
    with open(os.path.join(source_dir(), rel), encoding="utf-8") as f:
        return f.read()


def man_source():
    return read("man/spindle.1")


def roff_to_text(source):
    """The man page source with comments dropped and the escapes that matter here undone:
    \\- is '-', font switches vanish, \\& vanishes."""
    lines = [line for line in source.splitlines() if not line.startswith('.\\"')]
    text = "\n".join(lines)
    text = re.sub(r"\\f(\[[^]]*\]|.)", "", text)
    return text.replace("\\-", "-").replace("\\&", "").replace("\\(aq", "'").replace("\\(rs", "\\")


def man_sections(text):
    """{title: body} for every .SH and .SS of the page (titles without quotes)."""
    sections = {}
    title = None
    for line in text.splitlines():
        m = re.match(r"\.S[HS]\s+(.*)", line)
        if m:
            title = m.group(1).strip().strip('"')
            sections[title] = ""
        elif title is not None:
            sections[title] += line + "\n"
    return sections


def subcommands(root_help):
    """Command names from the SUBCOMMANDS block of CLI11's root --help."""
    names = []
    in_block = False
    for line in root_help.splitlines():
        if re.match(r"^\s*subcommands:\s*$", line, re.IGNORECASE):
            in_block = True
            continue
        if in_block:
            m = re.match(r"^\s+([a-z][a-z0-9-]*)\b", line)
            if m:
                names.append(m.group(1))
            elif line.strip() == "" and names:
                break
            elif line.strip() and not line.startswith(" "):
                break
    return names


class HelpAndDocs(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        proc, cls.root_help = help_text([])
        if proc.returncode != 0:
            raise AssertionError("spindle --help failed\n" + describe(proc))
        cls.commands = subcommands(cls.root_help)
        cls.command_help = {}
        for name in cls.commands:
            proc, text = help_text([name])
            if proc.returncode != 0:
                raise AssertionError("spindle %s --help failed\n%s" % (name, describe(proc)))
            cls.command_help[name] = text
        cls.man = roff_to_text(man_source())
        cls.sections = man_sections(cls.man)

    def flags_of(self, text):
        return set(LONG_FLAG.findall(text)) - IMPLICIT

    def test_commands_are_listed(self):
        self.assertIn("group", self.commands, self.root_help)
        self.assertIn("devices", self.commands, self.root_help)
        for name in self.commands:
            self.assertRegex(self.sections.get("COMMANDS", ""), r"(?m)^\.B %s$" % re.escape(name),
                             "command %s is not described under COMMANDS in man/spindle.1" % name)

    def test_every_flag_is_in_the_man_page_under_its_command(self):
        for flag in sorted(self.flags_of(self.root_help)):
            self.assertIn(flag, self.sections.get("Options of spindle", ""),
                          "%s (spindle --help) is not under 'Options of spindle' in man/spindle.1" % flag)
        for name, text in self.command_help.items():
            section = self.sections.get("Options of spindle %s" % name)
            self.assertIsNotNone(section, "man/spindle.1 has no section 'Options of spindle %s'" % name)
            documented = set(LONG_FLAG.findall(section))
            missing = sorted(self.flags_of(text) - documented)
            self.assertEqual(missing, [], "flags of `spindle %s --help` missing from its man section" % name)

    def test_man_page_names_no_flag_that_does_not_exist(self):
        known = set(LONG_FLAG.findall(self.root_help)) | IMPLICIT
        for text in self.command_help.values():
            known |= set(LONG_FLAG.findall(text))
        stale = sorted(set(LONG_FLAG.findall(self.man)) - known)
        self.assertEqual(stale, [], "man/spindle.1 documents flags that --help does not list")

    def test_every_flag_is_in_the_readme(self):
        path = os.path.join(source_dir(), "README.md")
        self.assertTrue(os.path.exists(path), "README.md does not exist")
        readme = read("README.md")
        flags = self.flags_of(self.root_help)
        for text in self.command_help.values():
            flags |= self.flags_of(text)
        missing = sorted(f for f in flags if not re.search(r"(?<![\w-])%s(?![\w-])" % re.escape(f), readme))
        self.assertEqual(missing, [], "flags from --help missing from README.md")

    def test_exit_codes_match_exit_code_hpp(self):
        codes = {int(v) for v in re.findall(r"k_exit_\w+\s*=\s*(\d+)", read("src/cli/exit_code.hpp"))}
        self.assertIn(0, codes)
        section = self.sections.get("EXIT STATUS", "")
        documented = {int(v) for v in re.findall(r"(?m)^\.TP\n\.B (\d+)$", section)}
        self.assertEqual(documented, codes, "EXIT STATUS in man/spindle.1 vs src/cli/exit_code.hpp")

    def test_usage_error_exit_code_is_the_documented_one(self):
        usage = int(re.search(r"k_exit_usage\s*=\s*(\d+)", read("src/cli/exit_code.hpp")).group(1))
        proc = run(["group", "--no-such-flag"])
        self.assertEqual(proc.returncode, usage, describe(proc))

    def test_threads_defaults_match_help(self):
        help_defaults = re.search(r"Defaults:\s*(.*?\.)(?:\s|$)", " ".join(self.command_help["group"].split()))
        self.assertIsNotNone(help_defaults, "no 'Defaults:' in `spindle group --help`")
        man_defaults = re.search(r"Defaults:\s*(.*?\.)(?:\s|$)", " ".join(self.sections.get("THREADS", "").split()))
        self.assertIsNotNone(man_defaults, "no 'Defaults:' line under THREADS in man/spindle.1")
        placeholder = "<online CPUs>"

        def rules(text):
            return text.rstrip(".").replace(placeholder, "<CPUS>").split()

        help_rules = rules(help_defaults.group(1))
        man_rules = rules(man_defaults.group(1))
        self.assertEqual(len(help_rules), len(man_rules), (help_rules, man_rules))
        cpus = len(os.sched_getaffinity(0))
        for got, doc in zip(help_rules, man_rules):
            # The page writes "<online CPUs>" where --help may print this machine's number.
            pattern = re.escape(doc).replace("<CPUS>", "(<CPUS>|%d)" % cpus)
            self.assertRegex(got, "^%s$" % pattern, "--help says %s, man/spindle.1 says %s" % (got, doc))

    def test_version_matches(self):
        version = re.search(r"project\(spindle VERSION ([0-9.]+)", read("CMakeLists.txt")).group(1)
        proc = run(["--version"])
        self.assertIn(version, proc.stdout.decode(), describe(proc))
        th = re.search(r'(?m)^\.TH .*"spindle ([0-9.]+)"', man_source())
        self.assertIsNotNone(th, ".TH of man/spindle.1 does not name the version")
        self.assertEqual(th.group(1), version, "version in .TH of man/spindle.1 vs CMakeLists.txt")

    def test_man_page_renders_without_warnings(self):
        groff = shutil.which("groff")
        if groff is None:
            self.skipTest("groff not installed: man page rendering not checked")
        proc = subprocess.run([groff, "-man", "-ww", "-z", os.path.join(source_dir(), "man/spindle.1")],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=TIMEOUT, check=False)
        self.assertEqual((proc.returncode, proc.stderr), (0, b""), "groff -man -ww -z man/spindle.1")


if __name__ == "__main__":
    unittest.main()

"""The documentation agrees with the binary.

Each command has a manual page (spindle-COMMAND(1); the actions share spindle-actions(1), whose
NAME lists each of them and which CMake installs under each action's name): every long flag of
`spindle COMMAND --help` is in that page's options, and every flag the options name is in
--help. spindle(1) lists the commands and spindle's own flags. Every page has the sections a
manual page needs, names the CMake project version, documents only exit codes of
src/cli/exit_code.hpp (spindle(1): all of them) and renders under groff without a warning. The
--threads defaults of spindle(1) are those --help prints; README.md names every flag.
"""

import glob
import os
import re
import shutil
import subprocess
import sys
import unittest

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from spindle_cli import TIMEOUT, describe, help_text, run, source_dir, subcommands  # noqa: E402

LONG_FLAG = re.compile(r"(?<![\w-])--[a-z][a-z0-9-]*")
# --help is CLI11's own, on every command; it is documented once, in spindle(1).
IMPLICIT = {"--help"}
# What every page has, in man-pages(7) order.
REQUIRED_SECTIONS = ["NAME", "SYNOPSIS", "DESCRIPTION", "OPTIONS", "EXIT STATUS", "EXAMPLES", "SEE ALSO"]


def read(rel):
    with open(os.path.join(source_dir(), rel), encoding="utf-8") as f:
        return f.read()


def page_paths():
    return sorted(glob.glob(os.path.join(source_dir(), "man", "*.1")))


def roff_to_text(source):
    """The man page source with comments dropped and the escapes that matter here undone:
    \\- is '-', font switches vanish, \\& vanishes."""
    lines = [line for line in source.splitlines() if not line.startswith('.\\"')]
    text = "\n".join(lines)
    text = re.sub(r"\\f(\[[^]]*\]|.)", "", text)
    return text.replace("\\-", "-").replace("\\&", "").replace("\\(aq", "'").replace("\\(rs", "\\")


def man_sections(text):
    """{title: body} for every .SH and .SS of the page (titles without quotes), in order."""
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


def top_sections(text):
    return [m.group(1).strip().strip('"') for m in re.finditer(r"(?m)^\.SH\s+(.*)$", text)]


def names_of(sections):
    """The names a page's NAME line gives, before the dash: 'spindle-link', ..."""
    line = " ".join(sections.get("NAME", "").split())
    head = line.split(" - ", 1)[0]
    return [name.strip() for name in head.split(",") if name.strip()]


def exit_codes():
    return {int(v) for v in re.findall(r"k_exit_\w+\s*=\s*(\d+)", read("src/cli/exit_code.hpp"))}


def documented_exit_codes(sections):
    return {int(v) for v in re.findall(r"(?m)^\.TP\n\.B (\d+)$", sections.get("EXIT STATUS", ""))}


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
        cls.sources = {}
        for path in page_paths():
            with open(path, encoding="utf-8") as f:
                cls.sources[os.path.basename(path)] = f.read()
        cls.texts = {page: roff_to_text(source) for page, source in cls.sources.items()}
        cls.sections = {page: man_sections(text) for page, text in cls.texts.items()}
        cls.main = cls.sections.get("spindle.1", {})

    def flags_of(self, text):
        return set(LONG_FLAG.findall(text)) - IMPLICIT

    def page_of(self, command):
        """The page whose NAME lists spindle-COMMAND."""
        pages = [page for page, sections in self.sections.items() if "spindle-" + command in names_of(sections)]
        self.assertEqual(len(pages), 1, "pages naming spindle-%s in NAME: %s" % (command, pages))
        return pages[0]

    def options_of(self, command):
        """The option section of COMMAND: 'Options of spindle COMMAND' on a shared page, else OPTIONS."""
        page = self.page_of(command)
        sections = self.sections[page]
        return page, sections.get("Options of spindle %s" % command, sections.get("OPTIONS"))

    def test_every_page_is_a_man_page(self):
        self.assertIn("spindle.1", self.sources, "man/spindle.1 is missing")
        for page, text in self.texts.items():
            present = top_sections(text)
            missing = [s for s in REQUIRED_SECTIONS if s not in present]
            self.assertEqual(missing, [], "%s lacks sections" % page)
            order = [s for s in present if s in REQUIRED_SECTIONS]
            self.assertEqual(order[0], "NAME", page)
            self.assertEqual(order[-1], "SEE ALSO", page)
            self.assertEqual(names_of(self.sections[page])[0], page[:-2],
                             "%s: the NAME line does not start with its own name" % page)

    def test_every_command_has_a_page_listed_in_spindle_1(self):
        self.assertIn("group", self.commands, self.root_help)
        self.assertIn("devices", self.commands, self.root_help)
        for name in self.commands:
            page = self.page_of(name)
            self.assertRegex(self.main.get("COMMANDS", ""), r"(?m)^\.B %s$" % re.escape(name),
                             "command %s is not listed under COMMANDS in man/spindle.1" % name)
            self.assertRegex(self.main.get("COMMANDS", ""), r"(?m)^\.BR %s \(1\)" % re.escape(page[:-2]),
                             "COMMANDS in spindle(1) does not point at %s for %s" % (page, name))
            self.assertRegex(self.main.get("SEE ALSO", ""), r"(?m)^\.BR %s \(1\)" % re.escape(page[:-2]),
                             "SEE ALSO of spindle(1) lacks %s" % page)
            self.assertRegex(self.sections[page].get("SEE ALSO", ""), r"(?m)^\.BR spindle \(1\)",
                             "%s does not point back at spindle(1)" % page)

    def test_pages_name_only_commands_that_exist(self):
        for page, sections in self.sections.items():
            for name in names_of(sections):
                if name in ("spindle", "spindle-actions"):
                    continue
                self.assertIn(name[len("spindle-"):], self.commands,
                              "%s names %s, which `spindle --help` does not list" % (page, name))

    def test_every_action_alias_is_installed(self):
        """Each name of spindle-actions(1) is installed as a link to it by cmake/Install.cmake."""
        aliases = re.search(r"set\(SPINDLE_MAN_ACTION_ALIASES ([^)]*)\)", read("cmake/Install.cmake"))
        self.assertIsNotNone(aliases, "no SPINDLE_MAN_ACTION_ALIASES in cmake/Install.cmake")
        named = sorted(n[len("spindle-"):] for n in names_of(self.sections["spindle-actions.1"])[1:])
        self.assertEqual(sorted(aliases.group(1).split()), named)
        installed = re.search(r"set\(SPINDLE_MAN_PAGES([^)]*)\)", read("cmake/Install.cmake")).group(1).split()
        self.assertEqual(sorted(installed), sorted("man/" + page for page in self.sources),
                         "cmake/Install.cmake installs other pages than man/*.1")

    def test_root_flags_are_in_spindle_1(self):
        documented = self.main.get("Options of spindle", "")
        self.assertEqual(self.flags_of(self.root_help) - set(LONG_FLAG.findall(documented)), set(),
                         "flags of `spindle --help` missing under 'Options of spindle' in man/spindle.1")

    def test_every_flag_is_in_its_command_page(self):
        for name, text in self.command_help.items():
            page, section = self.options_of(name)
            self.assertIsNotNone(section, "%s has no options section for %s" % (page, name))
            missing = sorted(self.flags_of(text) - set(LONG_FLAG.findall(section)))
            self.assertEqual(missing, [], "flags of `spindle %s --help` missing from the options of %s" % (name, page))

    def test_every_documented_option_exists(self):
        """The reverse: an option entry (.TP/.TQ heading) of a command's page is a flag of that command."""
        for name, text in self.command_help.items():
            page, section = self.options_of(name)
            headings = re.findall(r"(?m)^\.T[PQ]\n(.*)$", section or "")
            entries = set()
            for heading in headings:
                entries |= set(LONG_FLAG.findall(heading))
            stale = sorted(entries - set(LONG_FLAG.findall(text)))
            self.assertEqual(stale, [], "%s documents options of %s that `spindle %s --help` lacks" % (page, name, name))

    def test_pages_name_no_flag_that_does_not_exist(self):
        known = set(LONG_FLAG.findall(self.root_help)) | IMPLICIT
        for text in self.command_help.values():
            known |= set(LONG_FLAG.findall(text))
        for page, text in self.texts.items():
            stale = sorted(set(LONG_FLAG.findall(text)) - known)
            self.assertEqual(stale, [], "%s names flags that no --help lists" % page)

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
        codes = exit_codes()
        self.assertIn(0, codes)
        self.assertEqual(documented_exit_codes(self.main), codes, "EXIT STATUS in man/spindle.1 vs exit_code.hpp")
        for page, sections in self.sections.items():
            documented = documented_exit_codes(sections)
            self.assertTrue({0, 2} <= documented, "%s: EXIT STATUS lacks 0 or 2: %s" % (page, sorted(documented)))
            self.assertEqual(documented - codes, set(), "%s documents exit codes exit_code.hpp lacks" % page)

    def test_usage_error_exit_code_is_the_documented_one(self):
        usage = int(re.search(r"k_exit_usage\s*=\s*(\d+)", read("src/cli/exit_code.hpp")).group(1))
        for name in self.commands:
            proc = run([name, "--no-such-flag"])
            self.assertEqual(proc.returncode, usage, describe(proc))

    def test_threads_defaults_match_help(self):
        help_defaults = re.search(r"Defaults:\s*(.*?\.)(?:\s|$)", " ".join(self.command_help["group"].split()))
        self.assertIsNotNone(help_defaults, "no 'Defaults:' in `spindle group --help`")
        man_defaults = re.search(r"Defaults:\s*(.*?\.)(?:\s|$)", " ".join(self.main.get("THREADS", "").split()))
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
        self.assertEqual(proc.stdout.decode().splitlines()[0], "spindle " + version, describe(proc))
        for page, source in self.sources.items():
            th = re.search(r'(?m)^\.TH (\S+) 1 \S+ "spindle ([0-9.]+)"', source)
            self.assertIsNotNone(th, ".TH of %s does not name the version" % page)
            self.assertEqual(th.group(2), version, "version in .TH of %s vs CMakeLists.txt" % page)
            self.assertEqual(th.group(1).replace("\\-", "-"), page[:-2].upper(), ".TH title of %s" % page)

    def test_pages_render_without_warnings(self):
        groff = shutil.which("groff")
        if groff is None:
            self.skipTest("groff not installed: man page rendering not checked")
        for path in page_paths():
            proc = subprocess.run([groff, "-man", "-ww", "-z", path], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                  timeout=TIMEOUT, check=False)
            self.assertEqual((proc.returncode, proc.stderr), (0, b""), "groff -man -ww -z %s" % path)


if __name__ == "__main__":
    unittest.main()

"""The shell completions are generated from the command line (`spindle completions SHELL`) and
match it: each script is valid for its shell; bash (sourced, driven through COMP_WORDS as
readline would) completes every command, every flag of each command's --help and no other, the
choices the binary accepts, and file or directory names where the option takes one; fish
(`complete -C`) completes the same flags; the zsh script names every flag. The build installs
exactly what the binary generates."""

import os
import re
import shutil
import subprocess
import sys
import tempfile
import unittest

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from spindle_cli import TIMEOUT, describe, help_text, run, spindle_binary, subcommands  # noqa: E402

LONG_FLAG = re.compile(r"(?<![\w-])--[a-z][a-z0-9-]*")
SHELLS = ["bash", "zsh", "fish"]
# Where the build writes them (cmake/Install.cmake), next to the binary.
BUILT = {"bash": "spindle.bash", "zsh": "_spindle", "fish": "spindle.fish"}


def choices_from_error(command, flag):
    """The values FLAG accepts, from the binary's own usage error for a value it does not."""
    proc = run([command, flag, "no-such-value"])
    m = re.search(r"is not one of (.*)", proc.stderr.decode())
    if m is None:
        raise AssertionError("no 'is not one of' for %s %s\n%s" % (command, flag, describe(proc)))
    return set(re.split(r",\s*|\s+or\s+", m.group(1).strip()))


class Completions(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.TemporaryDirectory(prefix="spindle-completions-")
        cls.scripts = {}
        for shell in SHELLS:
            proc = run(["completions", shell])
            if proc.returncode != 0:
                raise AssertionError("spindle completions %s failed\n%s" % (shell, describe(proc)))
            path = os.path.join(cls.tmp.name, BUILT[shell])
            with open(path, "wb") as f:
                f.write(proc.stdout)
            cls.scripts[shell] = path
        proc, cls.root_help = help_text([])
        cls.commands = subcommands(cls.root_help)
        cls.flags = {}
        for name in cls.commands:
            proc, text = help_text([name])
            cls.flags[name] = set(LONG_FLAG.findall(text))

    @classmethod
    def tearDownClass(cls):
        cls.tmp.cleanup()

    def bash_complete(self, words, cwd=None):
        """COMPREPLY of the bash completion for the command line `words` (the last one is being typed)."""
        script = ('source "$1"; shift; COMP_WORDS=("$@"); COMP_CWORD=$((${#COMP_WORDS[@]} - 1)); '
                  '_spindle spindle "${COMP_WORDS[COMP_CWORD]}" "${COMP_WORDS[COMP_CWORD-1]}"; '
                  'printf "%s\\n" "${COMPREPLY[@]}"')
        proc = subprocess.run(["bash", "--norc", "--noprofile", "-c", script, "bash", self.scripts["bash"]] + words,
                              cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=TIMEOUT, check=False)
        self.assertEqual(proc.returncode, 0, proc.stderr.decode())
        self.assertEqual(proc.stderr, b"", "bash completion wrote to stderr for %r" % words)
        return [line for line in proc.stdout.decode().splitlines() if line]

    def test_scripts_are_valid_for_their_shell(self):
        checked = []
        for shell in SHELLS:
            tool = shutil.which(shell)
            if tool is None:
                print("skip: %s not installed (packaging/install-deps.sh installs it): its script is not checked" % shell)
                continue
            proc = subprocess.run([tool, "-n", self.scripts[shell]], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                  timeout=TIMEOUT, check=False)
            self.assertEqual((proc.returncode, proc.stderr.decode()), (0, ""), "%s -n rejects its completion" % shell)
            checked.append(shell)
        self.assertIn("bash", checked, "bash is needed to check the completions")

    def test_build_installs_what_the_binary_generates(self):
        directory = os.path.join(os.path.dirname(spindle_binary()), "completions")
        if not os.path.isdir(directory):
            self.skipTest("no %s: the binary was not built by this project's CMake" % directory)
        for shell in SHELLS:
            with open(os.path.join(directory, BUILT[shell]), "rb") as built, open(self.scripts[shell], "rb") as fresh:
                self.assertEqual(built.read(), fresh.read(), "%s completion in the build differs from the binary's" % shell)

    def test_hidden_command_is_hidden(self):
        self.assertNotIn("completions", self.commands)
        self.assertNotIn("completions", self.bash_complete(["spindle", ""]))

    def test_bash_completes_commands(self):
        self.assertEqual(self.bash_complete(["spindle", "gr"]), ["group"])
        self.assertEqual(sorted(self.bash_complete(["spindle", ""])), sorted(self.commands))
        self.assertEqual(set(self.bash_complete(["spindle", "--"])), set(LONG_FLAG.findall(self.root_help)))

    def test_bash_completes_every_flag_of_every_command(self):
        for name in self.commands:
            self.assertEqual(set(self.bash_complete(["spindle", name, "--"])), self.flags[name],
                             "`spindle %s --<TAB>` vs `spindle %s --help`" % (name, name))
        # A prefix: what exists and starts with it (the selection flags --rf-* once they are there).
        for prefix in ["--rf", "--ca", "--m"]:
            expected = {f for f in self.flags["group"] if f.startswith(prefix)}
            self.assertEqual(set(self.bash_complete(["spindle", "group", prefix])), expected, prefix)
        # Options after the command's other arguments and flags still complete.
        self.assertIn("--format", self.bash_complete(["spindle", "group", "-x", "/tmp", "--fo"]))

    def test_bash_completes_choices_the_binary_accepts(self):
        self.assertEqual(set(self.bash_complete(["spindle", "group", "--format", ""])),
                         choices_from_error("group", "--format"))
        self.assertEqual(set(self.bash_complete(["spindle", "group", "-f", "j"])),
                         {c for c in choices_from_error("group", "--format") if c.startswith("j")})
        # --format=VALUE, as one word (COMP_WORDBREAKS without '=') and as readline splits it.
        self.assertEqual(self.bash_complete(["spindle", "group", "--format=c"]), ["--format=csv"])
        self.assertEqual(self.bash_complete(["spindle", "group", "--format", "=", "c"]), ["csv"])
        self.assertEqual(set(self.bash_complete(["spindle", "group", "--format", "="])),
                         choices_from_error("group", "--format"))
        self.assertEqual(set(self.bash_complete(["spindle", "hash", "--algo", ""])), choices_from_error("hash", "--algo"))
        self.assertEqual(set(self.bash_complete(["spindle", "cache", ""])), {"stats", "prune", "clear"})

    def test_bash_completes_files_and_directories(self):
        with tempfile.TemporaryDirectory() as tree:
            os.mkdir(os.path.join(tree, "photos dir"))
            with open(os.path.join(tree, "report one.json"), "w") as f:
                f.write("{}")
            # -o FILE: files and directories (a file may be in a directory).
            self.assertEqual(set(self.bash_complete(["spindle", "group", "-o", ""], cwd=tree)),
                             {"photos dir", "report one.json"})
            # PATH arguments and an action's REPORT: file names.
            self.assertEqual(self.bash_complete(["spindle", "link", "rep"], cwd=tree), ["report one.json"])
            self.assertEqual(self.bash_complete(["spindle", "group", "pho"], cwd=tree), ["photos dir"])
            # After a flag (which takes no value) and after a PATH, still PATHs.
            self.assertEqual(self.bash_complete(["spindle", "group", "-x", "pho"], cwd=tree), ["photos dir"])
            self.assertEqual(self.bash_complete(["spindle", "group", "--stats", "pho"], cwd=tree), ["photos dir"])
            self.assertEqual(self.bash_complete(["spindle", "hash", "a", "pho"], cwd=tree), ["photos dir"])
            # DIR: directories only.
            self.assertEqual(self.bash_complete(["spindle", "move", "--to", ""], cwd=tree), ["photos dir"])
            # A value with nothing to complete (a size) offers nothing, not file names.
            self.assertEqual(self.bash_complete(["spindle", "group", "--min-size", ""], cwd=tree), [])

    def test_fish_completes_every_flag(self):
        fish = shutil.which("fish")
        if fish is None:
            self.skipTest("fish not installed (packaging/install-deps.sh installs it)")
        for name in self.commands:
            script = 'source %s; complete -C "spindle %s --"' % (self.scripts["fish"], name)
            proc = subprocess.run([fish, "--no-config", "-c", script], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                  timeout=TIMEOUT, check=False)
            self.assertEqual(proc.returncode, 0, proc.stderr.decode())
            got = {line.split("\t", 1)[0] for line in proc.stdout.decode().splitlines() if line}
            self.assertEqual(got, self.flags[name], "fish: `spindle %s --<TAB>`" % name)

    def test_fish_completes_paths_after_a_flag_and_values_of_options(self):
        fish = shutil.which("fish")
        if fish is None:
            self.skipTest("fish not installed (packaging/install-deps.sh installs it)")
        with tempfile.TemporaryDirectory() as tree:
            os.mkdir(os.path.join(tree, "photos"))

            def complete(line):
                script = 'source %s; complete -C "%s"' % (self.scripts["fish"], line)
                proc = subprocess.run([fish, "--no-config", "-c", script], cwd=tree, stdout=subprocess.PIPE,
                                      stderr=subprocess.PIPE, timeout=TIMEOUT, check=False)
                self.assertEqual(proc.returncode, 0, proc.stderr.decode())
                return {entry.split("\t", 1)[0] for entry in proc.stdout.decode().splitlines() if entry}

            self.assertEqual(complete("spindle group --stats pho"), {"photos/"})
            self.assertEqual(complete("spindle group --format "), choices_from_error("group", "--format"))
            self.assertEqual(complete("spindle move --to pho"), {"photos/"})
            self.assertEqual(complete("spindle gr"), {"group"})

    def test_zsh_flags_take_no_value(self):
        """In the zsh script an option takes a value exactly when --help shows one (`--name GLOB`)."""
        with open(self.scripts["zsh"], encoding="utf-8") as f:
            text = f.read()
        for name in self.commands:
            _, help_output = help_text([name])
            for m in re.finditer(r"(?m)^\s+(?:-\w,)?(--[a-z0-9-]+)( [A-Z][A-Z_]*(?=\s|$))?", help_output):
                flag, value = m.group(1), m.group(2)
                spec = re.search(r"(?m)^    .*[{,'*]%s[},\[].*$" % re.escape(flag), text)
                self.assertIsNotNone(spec, "zsh: no spec for %s %s" % (name, flag))
                takes = re.search(r"\]:[^:]*:", spec.group(0)) is not None
                self.assertEqual(takes, value is not None, "zsh: %s %s: %s" % (name, flag, spec.group(0)))

    def test_zsh_script_names_every_flag_and_command(self):
        with open(self.scripts["zsh"], encoding="utf-8") as f:
            text = f.read()
        self.assertTrue(text.startswith("#compdef spindle\n"))
        for name in self.commands:
            body = re.search(r"(?ms)^_spindle_%s\(\) \{\n(.*?)^\}" % re.escape(name.replace("-", "_")), text)
            self.assertIsNotNone(body, "no completion function for %s in the zsh script" % name)
            self.assertEqual(set(LONG_FLAG.findall(body.group(1))), self.flags[name], "zsh: flags of %s" % name)
            self.assertRegex(text, r"(?m)^        '%s:" % re.escape(name), "zsh: command %s not offered" % name)


if __name__ == "__main__":
    unittest.main()

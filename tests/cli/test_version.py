"""`spindle --version` names the version of CMake's project() and the libraries spindle was built
with: xxHash, CLI11, libudev and SQLite (each as pkg-config reports the development package the
build used) and OpenMP, which the build requires, with its _OPENMP date."""

import os
import re
import shutil
import subprocess
import sys
import unittest

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from spindle_cli import TIMEOUT, describe, run, source_dir  # noqa: E402

# The line name in --version, and the pkg-config module the build found it with.
LIBRARIES = [("xxHash", "libxxhash"), ("CLI11", "CLI11"), ("libudev", "libudev"), ("SQLite", "sqlite3")]


def pkg_config_version(module):
    tool = shutil.which("pkg-config")
    if tool is None:
        return None
    proc = subprocess.run([tool, "--modversion", module], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                          timeout=TIMEOUT, check=False)
    return proc.stdout.decode().strip() if proc.returncode == 0 else None


class Version(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.proc = run(["--version"])
        cls.lines = cls.proc.stdout.decode().splitlines()

    def test_exit_status_and_first_line(self):
        self.assertEqual(self.proc.returncode, 0, describe(self.proc))
        self.assertEqual(self.proc.stderr, b"", describe(self.proc))
        with open(os.path.join(source_dir(), "CMakeLists.txt"), encoding="utf-8") as f:
            version = re.search(r"project\(spindle VERSION ([0-9.]+)", f.read()).group(1)
        self.assertEqual(self.lines[0], "spindle " + version, describe(self.proc))
        self.assertEqual(run(["-V"]).stdout, self.proc.stdout, "-V and --version differ")

    def test_libraries_in_order_with_their_build_versions(self):
        names = [line.split(" ", 1)[0] for line in self.lines[1:]]
        self.assertEqual(names, [name for name, _ in LIBRARIES] + ["OpenMP"], describe(self.proc))
        checked = 0
        for line, (name, module) in zip(self.lines[1:], LIBRARIES):
            m = re.match(r"^%s (\d+(?:\.\d+)*)(?: \(.*\))?$" % re.escape(name), line)
            self.assertIsNotNone(m, "malformed line %r" % line)
            expected = pkg_config_version(module)
            if expected is None:
                print("skip: pkg-config does not know %s; its version is not compared" % module)
                continue
            self.assertEqual(m.group(1), expected, "%s: --version says %s, pkg-config %s" % (name, m.group(1), expected))
            checked += 1
        print("compared %d library versions with pkg-config" % checked)

    def test_openmp_is_enabled_with_its_version(self):
        # The build requires OpenMP (cmake/Dependencies.cmake), so "disabled" would be a lie.
        line = self.lines[-1]
        self.assertRegex(line, r"^OpenMP \d\.\d \(_OPENMP (19|20)\d{4}\)$", describe(self.proc))


if __name__ == "__main__":
    unittest.main()

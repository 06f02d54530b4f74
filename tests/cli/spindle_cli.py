"""Shared helpers for the spindle CLI tests (imported by tests/cli/test_*.py; not a test itself).

The tests run the built binary named by $SPINDLE on trees they create in temp dirs. Paths are
handled as bytes wherever a name may not be UTF-8; the JSON report carries such bytes as lone
surrogates \\udcXX, which os.fsencode() turns back into the exact bytes.
"""

import json
import os
import re
import random
import shutil
import stat
import subprocess
import tempfile
import unittest

# Generous: a hang (for example opening a FIFO) must fail the test, not block ctest forever.
TIMEOUT = 120

NOBODY_UID = 65534
NOBODY_GID = 65534


def spindle_binary():
    """The binary under test ($SPINDLE, set by ctest); a clear error when it is missing."""
    path = os.environ.get("SPINDLE")
    if not path:
        raise RuntimeError("set SPINDLE to the built spindle binary (ctest does this)")
    if not os.access(path, os.X_OK):
        raise RuntimeError("SPINDLE=%s is not an executable file" % path)
    return os.path.abspath(path)  # tests may run it from another working directory


def source_dir():
    """The repository root ($SPINDLE_SOURCE_DIR, else two levels above this file)."""
    env = os.environ.get("SPINDLE_SOURCE_DIR")
    if env:
        return env
    return os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def is_root():
    return os.geteuid() == 0


def run(args, *, cwd=None, timeout=TIMEOUT, user=None, env=None):
    """Run spindle with `args` (str or bytes items); stdout and stderr are captured as bytes.

    With user=(uid, gid), run it through setpriv as that user without supplementary groups, so
    that a root test run can still check what permission errors do. `env`: variables to set (a
    value of None removes one) on top of this process's environment."""
    command = [spindle_binary()] + list(args)
    if user is not None:
        uid, gid = user
        command = ["setpriv", "--reuid=%d" % uid, "--regid=%d" % gid, "--clear-groups", "--"] + command
    return subprocess.run(command, cwd=cwd, timeout=timeout, stdin=subprocess.DEVNULL,
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, check=False, env=environment(env))


def environment(changes):
    """This process's environment with `changes` applied (None: unchanged)."""
    if changes is None:
        return None
    env = dict(os.environ)
    for name, value in changes.items():
        if value is None:
            env.pop(name, None)
        else:
            env[name] = value
    return env


def describe(proc):
    """Everything a failure message needs about a finished run."""
    return "command: %r\nexit: %d\nstdout: %r\nstderr: %r" % (
        proc.args, proc.returncode, proc.stdout[:4000], proc.stderr[:4000])


def parse_json_report(testcase, proc):
    """The JSON report on stdout of `proc`, checked as parse_json_bytes does."""
    return parse_json_bytes(testcase, proc.stdout, describe(proc))


def parse_json_bytes(testcase, data, context=""):
    """A JSON report, checked to be strict UTF-8, one object with "groups" and "stats", and to
    satisfy check_report_invariants."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as e:
        testcase.fail("JSON report is not valid UTF-8 (%s)\n%s" % (e, context))
    try:
        doc = json.loads(text)
    except ValueError as e:
        testcase.fail("not one JSON document (%s)\n%s" % (e, context))
    testcase.assertIsInstance(doc, dict, context)
    testcase.assertIn("groups", doc, context)
    testcase.assertIn("stats", doc, context)
    testcase.assertIsInstance(doc["stats"], dict, context)
    check_report_invariants(testcase, doc, context)
    return doc


def check_report_invariants(testcase, doc, context=""):
    """What every report must satisfy whatever the tree: each group has >= 2 distinct files sorted
    bytewise, a 32-digit lowercase hex hash and a size; no path in two groups; groups ordered by
    wasted space (size * (files - 1)) descending, then size descending."""
    seen = set()
    previous = None
    for group in doc["groups"]:
        testcase.assertIsInstance(group.get("size"), int, context)
        hash_text = group.get("hash")
        testcase.assertIsInstance(hash_text, str, context)
        testcase.assertEqual(len(hash_text), 32, "hash %r is not 32 hex digits\n%s" % (hash_text, context))
        testcase.assertTrue(all(c in "0123456789abcdef" for c in hash_text),
                            "hash %r is not lowercase hex\n%s" % (hash_text, context))
        check_file_state(testcase, group, context)
        files = [os.fsencode(p) for p in group_paths(group)]
        testcase.assertGreaterEqual(len(files), 2, "a group of one file\n%s" % context)
        testcase.assertEqual(files, sorted(files), "paths of a group are not sorted bytewise\n%s" % context)
        testcase.assertEqual(len(set(files)), len(files), "a path twice in one group\n%s" % context)
        for path in files:
            testcase.assertNotIn(path, seen, "path %r in two groups\n%s" % (path, context))
            seen.add(path)
        key = (group["size"] * (len(files) - 1), group["size"])
        if previous is not None:
            testcase.assertGreaterEqual(previous, key,
                                        "groups not ordered by wasted space, then size\n%s" % context)
        previous = key


def group_json(testcase, paths, *flags, expect_exit=0, cwd=None, user=None):
    """Run `spindle group --format json FLAGS PATHS`, assert the exit code, return (proc, doc)."""
    proc = run(["group", "--format", "json"] + list(flags) + list(paths), cwd=cwd, user=user)
    testcase.assertEqual(proc.returncode, expect_exit, describe(proc))
    return proc, parse_json_report(testcase, proc)


def group_paths(group):
    """The paths (str, surrogate-escaped) of one group of a JSON report, in report order."""
    return [f["path"] for f in group["files"]]


def check_file_state(testcase, group, context=""):
    """Each file of a JSON group carries what actions check: root, device, inode, mtime_ns, ctime_ns."""
    for f in group["files"]:
        testcase.assertIsInstance(f, dict, context)
        for key in ("path", "root", "device", "inode", "mtime_ns", "ctime_ns"):
            testcase.assertIn(key, f, context)


def path_groups(doc):
    """The groups of a JSON report as a set of frozensets of bytes paths."""
    return {frozenset(os.fsencode(p) for p in group_paths(g)) for g in doc["groups"]}


def all_paths(doc):
    return {os.fsencode(p) for g in doc["groups"] for p in group_paths(g)}


def inode_of(path):
    st = os.lstat(path)
    return (st.st_dev, st.st_ino)


def inode_groups(doc):
    """The groups as a set of frozensets of (dev, ino): what the default mode promises when one
    inode has several names and any one of them may be the one listed."""
    return {frozenset(inode_of(os.fsencode(p)) for p in group_paths(g)) for g in doc["groups"]}


def random_bytes(seed, size):
    return random.Random(seed).randbytes(size)


class Tree:
    """A temp directory to build a test tree in; everything is addressed as bytes paths."""

    def __init__(self, testcase):
        # realpath: the report prints paths under the root as given, and /tmp may be a symlink.
        self.root = os.fsencode(os.path.realpath(tempfile.mkdtemp(prefix="spindle-cli-")))
        self.mounts = []
        testcase.addCleanup(self.cleanup)

    def path(self, rel):
        rel = os.fsencode(rel)
        return self.root if rel in (b"", b".") else os.path.join(self.root, rel)

    def _parent(self, rel):
        parent = os.path.dirname(self.path(rel))
        os.makedirs(parent, exist_ok=True)

    def mkdir(self, rel):
        os.makedirs(self.path(rel), exist_ok=True)
        return self.path(rel)

    def write(self, rel, data):
        self._parent(rel)
        with open(self.path(rel), "wb") as f:
            f.write(data)
        return self.path(rel)

    def link(self, existing, rel):
        self._parent(rel)
        os.link(self.path(existing), self.path(rel))
        return self.path(rel)

    def symlink(self, target, rel):
        self._parent(rel)
        os.symlink(os.fsencode(target), self.path(rel))
        return self.path(rel)

    def mkfifo(self, rel):
        self._parent(rel)
        os.mkfifo(self.path(rel))
        return self.path(rel)

    def mount_tmpfs(self, rel):
        """Mount a small tmpfs at rel (root only); False when the kernel refuses."""
        return self.mount(rel, "tmpfs", "-o", "size=16m")

    def mount(self, rel, fs_type, *options):
        """Mount a new filesystem of fs_type at rel (root only), unmounted by cleanup(); False
        when the kernel refuses."""
        target = self.mkdir(rel)
        proc = subprocess.run(["mount", "-t", fs_type, *options, "spindle-test", target],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=TIMEOUT, check=False)
        if proc.returncode != 0:
            return False
        self.mounts.append(target)
        return True

    def open_to_everyone(self):
        """Make the tree readable by any user (for runs as nobody)."""
        for dirpath, dirnames, filenames in os.walk(self.root):
            os.chmod(dirpath, 0o755)
            for name in filenames:
                full = os.path.join(dirpath, name)
                if stat.S_ISREG(os.lstat(full).st_mode):
                    os.chmod(full, 0o644)

    def cleanup(self):
        for target in reversed(self.mounts):
            subprocess.run(["umount", target], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                           timeout=TIMEOUT, check=False)
        # Restore permissions so rmtree can remove what a test made unreadable.
        for dirpath, dirnames, filenames in os.walk(self.root):
            for name in dirnames:
                full = os.path.join(dirpath, name)
                if not os.path.islink(full):
                    os.chmod(full, 0o755)
        shutil.rmtree(self.root, ignore_errors=True)


def xxh128sum_of(testcase, path):
    """The hash xxh128sum prints for the content of `path`; skips the caller when it is missing."""
    tool = shutil.which("xxh128sum")
    if tool is None:
        raise unittest.SkipTest("xxh128sum not installed (Debian package xxhash): hash not cross-checked")
    with open(path, "rb") as f:
        proc = subprocess.run([tool, "-"], stdin=f, stdout=subprocess.PIPE, check=True, timeout=TIMEOUT)
    return proc.stdout.split()[0].decode("ascii")


def brute_force_groups(roots, hard_links=False):
    """The duplicate groups of the regular files under `roots` found by byte comparison.

    Symlinks are not followed, empty files are left out. By default each inode counts once (the
    result holds frozensets of (dev, ino)); with hard_links every path counts and the result holds
    frozensets of bytes paths (so two names of one inode form a group)."""
    by_size = {}
    seen_inodes = set()
    for root in roots:
        for dirpath, dirnames, filenames in os.walk(os.fsencode(root)):
            for name in filenames:
                full = os.path.join(dirpath, name)
                st = os.lstat(full)
                if not stat.S_ISREG(st.st_mode) or st.st_size == 0:
                    continue
                inode = (st.st_dev, st.st_ino)
                if hard_links:
                    by_size.setdefault(st.st_size, []).append((full, inode))
                elif inode not in seen_inodes:
                    seen_inodes.add(inode)
                    by_size.setdefault(st.st_size, []).append((full, inode))
    groups = set()
    for size, members in by_size.items():
        if len(members) < 2:
            continue
        by_content = {}
        for full, inode in members:
            with open(full, "rb") as f:
                content = f.read()
            # The dict compares equal-hash keys with bytes ==, so this is a full byte comparison.
            by_content.setdefault(content, []).append(full if hard_links else inode)
        for keys in by_content.values():
            if len(keys) >= 2:
                groups.add(frozenset(keys))
    return groups


def help_text(args):
    """stdout of `spindle ARGS --help` as text; asserts nothing, the caller checks the exit code."""
    proc = run(list(args) + ["--help"])
    return proc, proc.stdout.decode("utf-8", "replace")


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

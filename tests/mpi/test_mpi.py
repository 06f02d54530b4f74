"""`mpirun -n N spindle group --mpi` gives the report the single-process run gives.

Runs Open MPI's mpirun with 1, 2 and 4 ranks on one machine (--oversubscribe: this machine may
have fewer cores than ranks) over a generated corpus: duplicates at several directory levels, hard
links, same-size files that differ only at the start, the end or the middle (every hash stage),
empty files, a huge flat directory and, when the test can make one, a file that cannot be read.
Every format must be byte-identical to the single-process run, except what no two runs share:
the JSON report's timings and per-pool thread counts, and the order of jsonl lines (single-node
writes them as groups are decided, which depends on timing), compared as sorted lines.

Needs spindle-mpi next to $SPINDLE (ctest registers this test only when MPI is built) and mpirun.
"""

import json
import os
import shutil
import subprocess
import sys
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "cli"))
from spindle_cli import (NOBODY_GID, NOBODY_UID, TIMEOUT, Tree, describe, is_root,  # noqa: E402
                         random_bytes, spindle_binary)

RANKS = (1, 2, 4)
FORMATS = ("text", "json", "fdupes", "csv", "jsonl")

# What makes Open MPI 4 run in a container: shared memory between ranks without the cross-memory
# attach that containers forbid (single_copy_mechanism=none), only the self and shared-memory
# transports (no network probing), ranks that yield when they wait (a 2-core machine runs 4), and
# no warnings about the missing high-speed hardware.
MPI_ENV = {
    "OMPI_MCA_btl": "self,vader",
    "OMPI_MCA_btl_vader_single_copy_mechanism": "none",
    "OMPI_MCA_mpi_yield_when_idle": "1",
    "OMPI_MCA_btl_base_warn_component_unused": "0",
    "OMPI_MCA_rmaps_base_oversubscribe": "1",
}


def mpirun():
    return shutil.which("mpirun")


def spindle_mpi():
    return os.path.join(os.path.dirname(spindle_binary()), "spindle-mpi")


def env_for(user_tmp):
    env = dict(os.environ)
    env.update(MPI_ENV)
    if user_tmp is not None:
        env["TMPDIR"] = user_tmp  # Open MPI's session directory, writable by the test user
        env["HOME"] = user_tmp
    return env


def command(args, ranks=None, user=None):
    """spindle ARGS, or under mpirun with `ranks` ranks; as `user` (uid, gid) through setpriv."""
    cmd = [spindle_binary()] + list(args)
    if ranks is not None:
        cmd = [mpirun(), "--oversubscribe", "--allow-run-as-root", "-n", str(ranks)] + cmd
    if user is not None:
        cmd = ["setpriv", "--reuid=%d" % user[0], "--regid=%d" % user[1], "--clear-groups", "--"] + cmd
    return cmd


def run(args, ranks=None, user=None, user_tmp=None, timeout=TIMEOUT):
    return subprocess.run(command(args, ranks, user), stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, timeout=timeout, check=False, env=env_for(user_tmp))


def normalise_json(testcase, proc):
    """The JSON report without what differs between any two runs: timings and thread counts."""
    try:
        doc = json.loads(proc.stdout)
    except ValueError as e:
        testcase.fail("not JSON (%s)\n%s" % (e, describe(proc)))
    stats = doc["stats"]
    stats.pop("elapsed_ms")
    for stage in stats["stages"]:
        stage.pop("elapsed_ms")
        stage.pop("pool_threads")
    # One pool per device either way; how its threads spent their time is the machine's.
    stats["pools"] = sorted((pool["device"], pool["files"], pool["bytes_read"]) for pool in stats["pools"])
    return json.dumps(doc, sort_keys=True)


def comparable(testcase, fmt, proc):
    if fmt == "json":
        # The groups and files before "stats" byte for byte, the stats without timings.
        head = proc.stdout[:proc.stdout.index(b'"stats":')]
        return head, normalise_json(testcase, proc)
    if fmt == "jsonl":
        return sorted(proc.stdout.splitlines())
    return proc.stdout


def build_corpus(tree, huge):
    """The corpus: returns the path of the file to make unreadable."""
    same = random_bytes(1, 20000)
    for depth in range(1, 6):
        tree.write("deep/" + "/".join("l%d" % d for d in range(depth)) + "/same", same)
    tree.write("top/same", same)
    # Same size, different content: at the start, the end, the middle.
    base = random_bytes(2, 300000)
    tree.write("stages/a/base", base)
    tree.write("stages/b/base", base)
    tree.write("stages/start", b"X" + base[1:])
    tree.write("stages/end", base[:-1] + b"X")
    tree.write("stages/middle", base[:150000] + b"X" + base[150001:])
    tree.write("stages/c/middle-copy", base[:150000] + b"X" + base[150001:])
    # Hard links: one inode, three names.
    tree.write("links/one", random_bytes(3, 4000))
    tree.link("links/one", "links/two")
    tree.link("links/one", "links/sub/three")
    tree.write("links/copy-of-one", random_bytes(3, 4000))
    # Empty files (--include-empty groups them).
    for i in range(3):
        tree.write("empty/e%d" % i, b"")
    # A huge flat directory: many sizes, a few hundred duplicate pairs.
    for i in range(huge):
        tree.write("flat/f%05d" % i, random_bytes(100 + i % 700, 50 + (i % 700)))
    # Names that need escaping in every format.
    tree.write("odd/with,comma \"quoted\"\nnewline", same)
    # Many small directories (the walk's batches).
    for i in range(200):
        tree.write("many/d%03d/x" % i, random_bytes(1000 + i % 20, 64))
    return tree.write("locked/secret", same)


class MpiMatchesSingleProcess(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        if mpirun() is None:
            raise unittest.SkipTest("mpirun not found (Debian: openmpi-bin)")
        if not os.access(spindle_mpi(), os.X_OK):
            raise unittest.SkipTest("%s not built (SPINDLE_MPI=OFF or no MPI found)" % spindle_mpi())

    def setUp(self):
        self.tree = Tree(self)
        locked = build_corpus(self.tree, huge=3000)
        self.user = None
        self.user_tmp = None
        if is_root() and shutil.which("setpriv"):
            # chmod 000 does not stop root: run every command as nobody, with a TMPDIR it can use.
            self.tree.open_to_everyone()
            self.user = (NOBODY_UID, NOBODY_GID)
            self.user_tmp = os.fsdecode(self.tree.mkdir("mpi-tmp"))
            os.chmod(self.user_tmp, 0o1777)
            # The build may sit where nobody cannot reach it (a clone under /root): then every
            # command runs as root and the unreadable file is not exercised, rather than compare
            # two failed starts.
            probe = run(["--version"], ranks=1, user=self.user, user_tmp=self.user_tmp)
            if probe.returncode != 0:
                sys.stderr.write("note: the user nobody cannot run %s (%r): running as root, so the unreadable "
                                 "file is not exercised\n" % (spindle_binary(), probe.stderr[-200:]))
                self.user = None
                self.user_tmp = None
        os.chmod(locked, 0)
        self.locked = locked
        self.corpus = [os.path.join(self.tree.root, name) for name in (b"deep", b"top", b"stages", b"links", b"empty",
                                                                       b"flat", b"odd", b"many", b"locked")]

    def single(self, args):
        proc = run(["group"] + args, user=self.user, user_tmp=self.user_tmp)
        self.assertIn(proc.returncode, (0, 1), describe(proc))
        self.assertTrue(proc.stdout, "the single-process run wrote no report\n" + describe(proc))
        return proc

    def mpi(self, args, ranks):
        proc = run(["group", "--mpi"] + args, ranks=ranks, user=self.user, user_tmp=self.user_tmp)
        return proc

    def assert_same(self, args, fmt):
        want = self.single(args + ["--format", fmt])
        for ranks in RANKS:
            with self.subTest(ranks=ranks, format=fmt, args=args):
                got = self.mpi(args + ["--format", fmt], ranks)
                self.assertEqual(got.returncode, want.returncode, describe(got))
                self.assertEqual(comparable(self, fmt, got), comparable(self, fmt, want),
                                 "mpirun -n %d differs from the single-process run\n%s" % (ranks, describe(got)))

    def test_every_format_matches(self):
        unreadable = self.user is not None or not is_root()
        for fmt in FORMATS:
            self.assert_same(self.corpus, fmt)
        if unreadable:
            proc = self.mpi(self.corpus, 2)
            self.assertEqual(proc.returncode, 1, describe(proc))
            self.assertIn(self.locked, proc.stderr, describe(proc))

    def test_selection_flags_match(self):
        for flags in (["-H"], ["--include-empty"], ["--unique"], ["--rf-over", "2"], ["--min-size", "4K"],
                      ["--paranoid"], ["--exclude", "l2", "--no-hidden"]):
            self.assert_same(flags + self.corpus, "json")

    def test_isolate_keeps_roots(self):
        # Two PATHs: --isolate counts copies per PATH, and "root" in the JSON says which.
        self.assert_same(["--isolate", os.path.join(self.tree.root, b"deep"), os.path.join(self.tree.root, b"top")],
                         "json")


class MpiRefusesWhatItCannotDo(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        MpiMatchesSingleProcess.setUpClass()

    def test_refusals(self):
        tree = Tree(self)
        tree.write("a/x", b"data")
        a = tree.path("a")
        for args, words in ((["-L", a], b"-L"), (["--dirs", a], b"--dirs"), (["--cache", a], b"--cache"),
                            ([tree.root, a], b"inside another PATH"), ([a, a], b"named twice")):
            with self.subTest(args=args):
                proc = run(["group", "--mpi"] + args, ranks=2)
                self.assertEqual(proc.returncode, 2, describe(proc))
                self.assertIn(words, proc.stderr, describe(proc))
                self.assertEqual(proc.stdout, b"", describe(proc))

    def test_a_failing_rank_ends_the_job(self):
        # Rank 0 cannot open the report; the other ranks wait for its walk: all must end (exit 3).
        tree = Tree(self)
        tree.write("a/x", b"data")
        report = os.path.join(tree.root, b"no-such-dir", b"report")
        try:
            proc = run(["group", "--mpi", "-o", report, tree.path("a")], ranks=2, timeout=60)
        except subprocess.TimeoutExpired:
            self.fail("a rank that failed left the others waiting: the job did not end within 60 s")
        self.assertEqual(proc.returncode, 3, describe(proc))
        self.assertIn(b"no-such-dir", proc.stderr, describe(proc))


if __name__ == "__main__":
    unittest.main()

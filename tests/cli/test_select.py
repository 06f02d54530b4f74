"""spindle group's selection flags on real trees: --rf-over, --rf-under, --unique (one-file groups
in every format, refused by the actions), --isolate (its pruning measured by --stats' bytes read,
overlapping PATHs), --exclude-from, and the --newer-than/--older-than window to the nanosecond
(for group and hash).
"""

import json
import os
import re
import subprocess
import sys
import time
import unittest

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from spindle_cli import TIMEOUT, Tree, describe, random_bytes, run, spindle_binary  # noqa: E402


def run_input(args, data):
    return subprocess.run([spindle_binary()] + list(args), input=data, timeout=TIMEOUT,
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, check=False)


def bytes_read(testcase, proc):
    match = re.search(rb"^bytes read: (\d+)$", proc.stderr, re.MULTILINE)
    testcase.assertIsNotNone(match, describe(proc))
    return int(match.group(1))


class SelectTestCase(unittest.TestCase):
    def setUp(self):
        self.tree = Tree(self)

    def p(self, rel):
        return os.fsdecode(self.tree.path(rel))

    def json_run(self, *args, expect_exit=0):
        proc = run(["group", "--format", "json"] + list(args))
        self.assertEqual(proc.returncode, expect_exit, describe(proc))
        return proc, json.loads(proc.stdout)

    def groups(self, doc):
        """{frozenset of paths relative to the tree: (hash or None, copies)}"""
        out = {}
        for g in doc["groups"]:
            rel = frozenset(os.path.relpath(f["path"], self.p("")) for f in g["files"])
            out[rel] = (g["hash"], g.get("copies"))
        return out


class ReplicationTest(SelectTestCase):
    def make_tree(self):
        t = self.tree
        t.write("single", b"no copy at all, and a size of its own")  # unique size: never read
        t.write("same_size_1", b"A" * 64)  # same size, other content: one copy each
        t.write("same_size_2", b"B" * 64)
        t.write("pair_1", b"pair" * 100)
        t.write("pair_2", b"pair" * 100)
        for i in range(3):
            t.write("triple_%d" % i, b"triple" * 100)
        t.write("linked", b"one inode, two names" * 10)
        t.link("linked", "linked_too")

    def test_unique_lists_each_file_without_copy_as_a_group_of_one(self):
        self.make_tree()
        proc, doc = self.json_run("--unique", self.p(""))
        self.assertEqual(doc["rf_under"], 2)
        groups = self.groups(doc)
        singles = {"single", "same_size_1", "same_size_2"}
        # The two names of one inode are one copy: one of them is listed, alone.
        self.assertEqual(len(groups), 4, describe(proc))
        for members, (digest, copies) in groups.items():
            self.assertEqual(len(members), 1)
            self.assertIsNone(digest)
            self.assertEqual(copies, 1)
        listed = {next(iter(m)) for m in groups}
        self.assertTrue(singles <= listed, listed)
        self.assertTrue(listed - singles <= {"linked", "linked_too"}, listed)

    def test_hard_links_are_copies_with_hard_links_flag(self):
        self.make_tree()
        _, doc = self.json_run("--unique", "--hard-links", self.p(""))
        listed = {next(iter(m)) for m in self.groups(doc)}
        self.assertEqual(listed, {"single", "same_size_1", "same_size_2"})

    def test_rf_under_three_reports_pairs_with_their_hash_and_singles(self):
        self.make_tree()
        _, doc = self.json_run("--rf-under", "3", "--hard-links", self.p(""))
        groups = self.groups(doc)
        self.assertEqual(set(groups), {frozenset({"single"}), frozenset({"same_size_1"}), frozenset({"same_size_2"}),
                                       frozenset({"pair_1", "pair_2"}), frozenset({"linked", "linked_too"})})
        digest, copies = groups[frozenset({"pair_1", "pair_2"})]
        self.assertRegex(digest, "^[0-9a-f]{32}$")
        self.assertEqual(copies, 2)

    def test_rf_over_two_reports_only_groups_of_three_or_more(self):
        self.make_tree()
        _, doc = self.json_run("--rf-over", "2", self.p(""))
        self.assertEqual(set(self.groups(doc)), {frozenset("triple_%d" % i for i in range(3))})
        self.assertNotIn("rf_under", doc)
        self.assertNotIn("copies", doc["groups"][0])  # a report of duplicates keeps its schema
        _, default = self.json_run(self.p(""))
        self.assertEqual(set(self.groups(default)),
                         {frozenset("triple_%d" % i for i in range(3)), frozenset({"pair_1", "pair_2"})})

    def test_unique_reads_no_file_whose_size_is_unique(self):
        for i in range(5):
            self.tree.write("f%d" % i, random_bytes(i, 10000 + i))
        proc = run(["group", "--unique", "--stats", self.p("")])
        self.assertEqual(proc.returncode, 0, describe(proc))
        self.assertEqual(bytes_read(self, proc), 0)
        self.assertEqual(proc.stdout.count(b"# 1 file of"), 5, describe(proc))

    def test_unique_reads_only_a_prefix_of_files_that_differ_early(self):
        # Two 1 MiB files of one size that differ in their first bytes: a prefix read tells them apart.
        size = 1 << 20
        self.tree.write("x", b"x" + bytes(size - 1))
        self.tree.write("y", b"y" + bytes(size - 1))
        proc = run(["group", "--unique", "--stats", "--format", "json", self.p("")])
        self.assertEqual(proc.returncode, 0, describe(proc))
        self.assertEqual(len(json.loads(proc.stdout)["groups"]), 2)
        self.assertLess(bytes_read(self, proc), size)

    def test_one_file_groups_in_every_format(self):
        self.tree.write("only", b"z" * 1536)
        path = self.p("only")
        expected = {
            "text": "# 1 file of 1.5 KiB (1536 bytes), no hash, 1 copy\n%s\n" % path,
            "fdupes": "%s\n\n" % path,
            "csv": "size,hash,count,path\n1536,,1,%s\n" % path,
        }
        for fmt, text in expected.items():
            proc = run(["group", "--unique", "--format", fmt, self.p("")])
            self.assertEqual(proc.returncode, 0, describe(proc))
            self.assertEqual(proc.stdout.decode(), text, fmt)
        proc = run(["group", "--unique", "-z", self.p("")])
        self.assertEqual(proc.stdout, ("# 1 file of 1.5 KiB (1536 bytes), no hash, 1 copy\0%s\0" % path).encode())

    def test_actions_refuse_reports_of_rf_under_and_touch_nothing(self):
        self.make_tree()
        for flags in (["--unique"], ["--rf-under", "3"]):
            for fmt in ("json", "text"):
                proc = run(["group", "--format", fmt, "-o", self.p("report")] + flags + [self.p("")])
                self.assertEqual(proc.returncode, 0, describe(proc))
                for action in ("remove", "link"):
                    acted = run([action, self.p("report")])
                    self.assertNotEqual(acted.returncode, 0, describe(acted))
                    self.assertIn(b"--rf-under or --unique", acted.stderr, describe(acted))
                for name in ("single", "pair_1", "pair_2", "same_size_1"):
                    self.assertTrue(os.path.exists(self.p(name)), name)
                self.assertEqual(os.stat(self.p("pair_1")).st_nlink, 1)
                os.unlink(self.p("report"))

    def test_bad_factors_are_usage_errors(self):
        for flags, needle in ((["--rf-under", "1"], b"at least 2"), (["--rf-over", "0"], b"at least 1"),
                              (["--rf-over", "x"], b"'x'"), (["--unique", "--rf-over", "2"], b"--unique"),
                              (["--rf-under", "3", "--unique"], b"--unique")):
            proc = run(["group"] + flags + [self.p("")])
            self.assertEqual(proc.returncode, 2, describe(proc))
            self.assertIn(needle, proc.stderr, describe(proc))


class IsolateTest(SelectTestCase):
    def test_only_copies_across_roots_are_reported(self):
        t = self.tree
        t.write("photos/a.jpg", b"in both" * 50)
        t.write("backup/a.jpg", b"in both" * 50)
        t.write("photos/x.jpg", b"twice in photos only" * 50)
        t.write("photos/y.jpg", b"twice in photos only" * 50)
        t.write("photos/lost.jpg", b"only in photos, once" * 50)
        t.write("backup/old.jpg", b"only in backup" * 50)
        roots = [self.p("photos"), self.p("backup")]
        _, doc = self.json_run("--isolate", *roots)
        self.assertEqual(set(self.groups(doc)), {frozenset({"photos/a.jpg", "backup/a.jpg"})})
        _, plain = self.json_run(*roots)
        self.assertEqual(len(plain["groups"]), 2)
        # What either holds that the other does not: the pair inside photos is one copy, reported whole.
        _, missing = self.json_run("--isolate", "--rf-under", "2", *roots)
        groups = self.groups(missing)
        self.assertEqual(set(groups), {frozenset({"photos/x.jpg", "photos/y.jpg"}), frozenset({"photos/lost.jpg"}),
                                       frozenset({"backup/old.jpg"})})
        self.assertEqual(groups[frozenset({"photos/x.jpg", "photos/y.jpg"})][1], 1)
        self.assertIsNotNone(groups[frozenset({"photos/x.jpg", "photos/y.jpg"})][0])

    def test_size_groups_under_one_root_are_not_read(self):
        # Every same-size pair is inside one root: --isolate has nothing to read.
        for i in range(4):
            data = random_bytes(i, 50000 + i)
            self.tree.write("one/%d_a" % i, data)
            self.tree.write("one/%d_b" % i, data)
        self.tree.write("two/other", random_bytes(99, 1000))
        roots = [self.p("one"), self.p("two")]
        isolated = run(["group", "--isolate", "--stats", *roots])
        self.assertEqual(isolated.returncode, 0, describe(isolated))
        self.assertEqual(isolated.stdout, b"")
        self.assertEqual(bytes_read(self, isolated), 0)
        plain = run(["group", "--stats", *roots])
        self.assertGreaterEqual(bytes_read(self, plain), 4 * 2 * 50000)

    def test_overlapping_paths_count_under_the_first_path_that_holds_them(self):
        t = self.tree
        t.write("data/a", b"same" * 100)
        t.write("data/backup/a", b"same" * 100)
        # The nested PATH first: it is a root of its own, and the copy across the two is found.
        _, doc = self.json_run("--isolate", self.p("data/backup"), self.p("data"))
        self.assertEqual(set(self.groups(doc)), {frozenset({"data/a", "data/backup/a"})})
        roots = {f["path"]: f["root"] for f in doc["groups"][0]["files"]}
        self.assertEqual(roots, {self.p("data/backup/a"): 0, self.p("data/a"): 1})
        # The nested PATH second: its files are data's, nothing is reported, and a warning says why.
        proc, doc = self.json_run("--isolate", self.p("data"), self.p("data/backup"))
        self.assertEqual(doc["groups"], [])
        self.assertIn(b"--isolate: inside (or the same as) a PATH given before it", proc.stderr, describe(proc))
        self.assertIn(os.fsencode(self.p("data/backup")), proc.stderr)


class ExcludeFromTest(SelectTestCase):
    def make_tree(self):
        for name in ("keep1.txt", "keep2.txt", "drop.tmp", "#hash.txt", "sub/keep3.txt", "sub/x.txt"):
            self.tree.write(name, b"same content")

    def listed(self, proc):
        self.assertEqual(proc.returncode, 0, describe(proc))
        doc = json.loads(proc.stdout)
        return {os.path.relpath(f["path"], self.p("")) for g in doc["groups"] for f in g["files"]}

    def test_globs_from_a_file_with_comments_and_blank_lines(self):
        self.make_tree()
        with open(self.p("excludes"), "w") as f:
            f.write("# a comment\n\n*.tmp\n[#]*\n*/sub/x.txt\nexcludes\n")
        proc = run(["group", "--format", "json", "--exclude-from", self.p("excludes"), self.p("")])
        self.assertEqual(self.listed(proc), {"keep1.txt", "keep2.txt", "sub/keep3.txt"})

    def test_null_separated_and_standard_input(self):
        self.make_tree()
        data = b"*.tmp\0#not a glob\0[#]*\0sub\0"
        proc = run_input(["group", "--format", "json", "--null", "--exclude-from", "-", self.p("")], data)
        self.assertEqual(self.listed(proc), {"keep1.txt", "keep2.txt"})

    def test_hash_takes_it_too(self):
        self.make_tree()
        proc = run_input(["hash", "--exclude-from", "-", self.p("")], b"*.txt\n")
        self.assertEqual(proc.returncode, 0, describe(proc))
        self.assertEqual(len(proc.stdout.splitlines()), 1, describe(proc))
        self.assertIn(b"drop.tmp", proc.stdout)

    def test_both_lists_on_standard_input_is_a_usage_error(self):
        proc = run_input(["group", "--files-from", "-", "--exclude-from", "-"], b"")
        self.assertEqual(proc.returncode, 2, describe(proc))
        self.assertIn(b"standard input", proc.stderr)

    def test_missing_list_fails_the_run_naming_it(self):
        proc = run(["group", "--exclude-from", self.p("nope"), self.p("")])
        self.assertEqual(proc.returncode, 3, describe(proc))
        self.assertIn(os.fsencode(self.p("nope")), proc.stderr)
        self.assertEqual(proc.stdout, b"")


class TimeFilterTest(SelectTestCase):
    # 2026-01-31T12:00:00Z in nanoseconds.
    T = 1769860800 * 10**9

    def make_tree(self):
        for name, delta in (("before", -1), ("at", 0), ("after", 1)):
            path = self.tree.write(name, b"identical")
            os.utime(path, ns=(self.T + delta, self.T + delta))

    def listed(self, *flags, command="group"):
        if command == "group":
            proc = run(["group", "--format", "fdupes", "--rf-under", "9", *flags, self.p("")])
        else:
            proc = run(["hash", *flags, self.p("")])
        self.assertEqual(proc.returncode, 0, describe(proc))
        names = set()
        for line in proc.stdout.splitlines():
            if line:
                names.add(os.path.basename(line.split(b"  ")[-1]).decode())
        return names

    def test_boundaries_to_the_nanosecond(self):
        self.make_tree()
        at = "2026-01-31T12:00:00Z"
        for command in ("group", "hash"):
            self.assertEqual(self.listed("--newer-than", at, command=command), {"at", "after"})
            self.assertEqual(self.listed("--older-than", at, command=command), {"before"})
            self.assertEqual(self.listed("--newer-than", "2026-01-31T11:59:59.999999999Z", "--older-than",
                                         "2026-01-31T12:00:00.000000001Z", command=command), {"before", "at"})
            self.assertEqual(self.listed("--newer-than", "2026-01-31T14:00:00+02:00", command=command),
                             {"at", "after"})

    def test_bare_dates_are_local_time(self):
        self.make_tree()
        env_run = lambda tz, when: subprocess.run(  # noqa: E731
            [spindle_binary(), "hash", "--newer-than", when, self.p("")], env=dict(os.environ, TZ=tz),
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=TIMEOUT, check=False)
        # 12:00 UTC is 07:00 in EST5: the files are newer than 07:00 local, not than 07:00:01.
        self.assertEqual(len(env_run("EST5", "2026-01-31T07:00:00").stdout.splitlines()), 2)
        self.assertEqual(len(env_run("EST5", "2026-01-31T07:00:01").stdout.splitlines()), 0)
        self.assertEqual(len(env_run("UTC0", "2026-01-31").stdout.splitlines()), 3)
        self.assertEqual(len(env_run("UTC0", "2026-02-01").stdout.splitlines()), 0)

    def test_durations_count_back_from_now(self):
        now = time.time_ns()
        for name, age_s in (("hour_old", 3600), ("two_days_old", 2 * 86400), ("month_old", 31 * 86400)):
            path = self.tree.write(name, b"x")
            os.utime(path, ns=(now - age_s * 10**9, now - age_s * 10**9))
        self.assertEqual(self.listed("--newer-than", "1d", command="hash"), {"hour_old"})
        self.assertEqual(self.listed("--newer-than", "90m", command="hash"), {"hour_old"})
        self.assertEqual(self.listed("--older-than", "2w", command="hash"), {"month_old"})
        self.assertEqual(self.listed("--newer-than", "30d", "--older-than", "12h", command="hash"),
                         {"two_days_old"})

    def test_bad_values_are_usage_errors(self):
        for flags in (["--newer-than", "yesterday"], ["--older-than", "2026-02-30"], ["--newer-than", "3y"],
                      ["--older-than", ""]):
            for command in ("group", "hash"):
                proc = run([command] + flags + [self.p("")])
                self.assertEqual(proc.returncode, 2, describe(proc))
                self.assertIn(b"is not a date or a duration", proc.stderr, describe(proc))
                self.assertIn(flags[0].encode(), proc.stderr)
        proc = run(["group", "--newer-than", "2026-01-02", "--older-than", "2026-01-01", self.p("")])
        self.assertEqual(proc.returncode, 2, describe(proc))
        self.assertIn(b"no file can match", proc.stderr)


if __name__ == "__main__":
    unittest.main()

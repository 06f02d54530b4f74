"""spindle group's reading options: progressive full reads of huge files (sparse 2 GiB files
that differ at 100 MiB are not read to their end), --paranoid, --format jsonl (a group per line,
read back by the actions) and the statistics in the JSON report."""

import json
import os
import sys
import unittest

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from spindle_cli import Tree, describe, group_json, path_groups, random_bytes, run  # noqa: E402

GIB = 1 << 30
MIB = 1 << 20


def sparse(path, size, byte_at=None):
    """A sparse file of `size` zero bytes (reads fast, takes no space), one byte set at `byte_at`."""
    with open(path, "wb") as f:
        f.truncate(size)
        if byte_at is not None:
            f.seek(byte_at)
            f.write(b"\x01")


def jsonl_lines(testcase, proc):
    testcase.assertEqual(proc.returncode, 0, describe(proc))
    text = proc.stdout.decode("utf-8")
    testcase.assertTrue(text == "" or text.endswith("\n"), describe(proc))
    return [json.loads(line) for line in text.splitlines()]


class ProgressiveReads(unittest.TestCase):
    def setUp(self):
        self.tree = Tree(self)

    def test_huge_files_that_differ_early_are_not_read_to_the_end(self):
        sparse(self.tree.path("a"), 2 * GIB)
        sparse(self.tree.path("b"), 2 * GIB, byte_at=100 * MIB)
        proc, doc = group_json(self, [self.tree.root], "--stats")
        self.assertEqual(doc["groups"], [], describe(proc))
        read = doc["stats"]["bytes_read"]
        self.assertLess(read, GIB, "the rounds should stop soon after 100 MiB\n" + describe(proc))
        self.assertGreater(read, 2 * 100 * MIB, describe(proc))
        full = [s for s in doc["stats"]["stages"] if s["name"] == "full"][0]
        self.assertGreater(full["pieces"], 2, describe(proc))
        self.assertEqual(full["bytes_read"] + full["bytes_skipped"], 4 * GIB, describe(proc))
        self.assertIn(b"bytes read", proc.stderr, describe(proc))

    def test_huge_copies_get_the_hash_of_their_whole_content(self):
        sparse(self.tree.path("a"), 40 * MIB, byte_at=30 * MIB)
        sparse(self.tree.path("b"), 40 * MIB, byte_at=30 * MIB)
        proc, doc = group_json(self, [self.tree.root])
        self.assertEqual(path_groups(doc), {frozenset([self.tree.path("a"), self.tree.path("b")])}, describe(proc))
        hashed = run(["hash", self.tree.path("a")])
        self.assertEqual(hashed.returncode, 0, describe(hashed))
        self.assertEqual(hashed.stdout.split()[0].decode(), doc["groups"][0]["hash"], describe(hashed))
        self.assertEqual(doc["stats"]["bytes_read"] - 4 * 4096, 2 * 40 * MIB, describe(proc))


class Paranoid(unittest.TestCase):
    def setUp(self):
        self.tree = Tree(self)
        content = random_bytes(1, 300_000)
        self.tree.write("a1", content)
        self.tree.write("d/a2", content)
        self.tree.write("b", content[:-1] + b"?")
        self.tree.write("c1", random_bytes(2, 5_000))
        self.tree.write("c2", random_bytes(2, 5_000))

    def test_paranoid_reports_the_same_groups_and_a_stage_of_its_own(self):
        _, plain = group_json(self, [self.tree.root])
        proc, doc = group_json(self, [self.tree.root], "--paranoid")
        self.assertEqual(path_groups(doc), path_groups(plain), describe(proc))
        stage = [s for s in doc["stats"]["stages"] if s["name"] == "paranoid"]
        self.assertEqual(len(stage), 1, describe(proc))
        self.assertEqual(stage[0]["files_in"], 4)
        self.assertEqual(stage[0]["files_out"], 4)
        self.assertEqual(stage[0]["groups_out"], 2)
        # Each compare reads both files: 2 x 300,000 and 2 x 5,000 bytes.
        self.assertEqual(stage[0]["bytes_read"], 610_000)


class Jsonl(unittest.TestCase):
    def setUp(self):
        self.tree = Tree(self)
        for i in range(6):
            content = random_bytes(10 + i, 1000 + 100 * i)
            for copy in range(2 + i % 3):
                self.tree.write("g%d/copy%d" % (i, copy), content)
        self.tree.write("unique", random_bytes(99, 1000))

    def test_a_group_per_line_with_the_json_reports_fields(self):
        _, doc = group_json(self, [self.tree.root])
        lines = jsonl_lines(self, run(["group", "--format", "jsonl", self.tree.root]))
        self.assertEqual(len(lines), len(doc["groups"]))
        self.assertEqual(sorted(lines, key=lambda g: g["files"][0]["path"]),
                         sorted(doc["groups"], key=lambda g: g["files"][0]["path"]))

    def test_stats_come_last_and_only_with_stats(self):
        _, doc = group_json(self, [self.tree.root])
        lines = jsonl_lines(self, run(["group", "--format", "jsonl", "--stats", self.tree.root]))
        self.assertEqual(len(lines), len(doc["groups"]) + 1)
        self.assertEqual(set(lines[-1]), {"stats"})
        self.assertEqual(lines[-1]["stats"]["groups"], len(doc["groups"]))
        self.assertEqual(lines[-1]["stats"]["wasted_bytes"], doc["stats"]["wasted_bytes"])
        self.assertEqual(lines[-1]["stats"]["duplicate_files"], doc["stats"]["duplicate_files"])
        self.assertTrue(all("stats" not in line for line in lines[:-1]))

    def test_paranoid_streams_too(self):
        _, doc = group_json(self, [self.tree.root])
        lines = jsonl_lines(self, run(["group", "--format", "jsonl", "--paranoid", self.tree.root]))
        self.assertEqual(path_groups({"groups": lines}), path_groups(doc))

    def test_flags_that_choose_among_groups_write_them_at_the_end(self):
        # --rf-over and --isolate choose among the hashed groups, so jsonl cannot stream them: the
        # lines must be the groups the json report has with the same flags.
        other = Tree(self)
        other.write("elsewhere", random_bytes(10, 1000))
        for flags, roots in ((["--rf-over", "2"], [self.tree.root]), (["--isolate"], [self.tree.root, other.root])):
            _, doc = group_json(self, roots, *flags)
            lines = jsonl_lines(self, run(["group", "--format", "jsonl"] + flags + roots))
            self.assertTrue(doc["groups"], flags)
            self.assertEqual(path_groups({"groups": lines}), path_groups(doc), flags)

    def test_reports_of_another_shape_are_refused_in_jsonl(self):
        for flags in (["--unique"], ["--rf-under", "3"], ["--dirs"], ["--dirs-ignore-names"]):
            proc = run(["group", "--format", "jsonl"] + flags + [self.tree.root])
            self.assertEqual(proc.returncode, 2, describe(proc))
            self.assertIn(b"use --format json", proc.stderr, describe(proc))
            self.assertEqual(proc.stdout, b"", describe(proc))

    def test_actions_read_a_jsonl_report(self):
        report = os.path.join(self.tree.root, b"..", os.path.basename(self.tree.root) + b".jsonl")
        self.addCleanup(lambda: os.path.exists(report) and os.remove(report))
        proc = run(["group", "--format", "jsonl", "-o", report, self.tree.root])
        self.assertEqual(proc.returncode, 0, describe(proc))
        dry = run(["remove", "--dry-run", report])
        self.assertEqual(dry.returncode, 0, describe(dry))
        _, doc = group_json(self, [self.tree.root])
        removable = sum(len(g["files"]) - 1 for g in doc["groups"])
        removes = [line for line in dry.stdout.splitlines() if line.startswith(b"rm ")]
        self.assertEqual(len(removes), removable, describe(dry))


if __name__ == "__main__":
    unittest.main()

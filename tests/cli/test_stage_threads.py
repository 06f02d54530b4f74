"""The thread count each pool really used in each stage is in --stats: whole-file reads use
the second number of a --threads rule, short reads the first, and a team the OpenMP runtime
could not make as large as asked fails the run instead of running smaller."""

import os
import subprocess
import unittest

from spindle_cli import Tree, describe, group_json, random_bytes, run, spindle_binary


class StageThreads(unittest.TestCase):
    def setUp(self):
        self.tree = Tree(self)
        for g in range(20):
            data = random_bytes(g, 3 * 4096 + 100 + g)  # every stage reads these
            self.tree.write("g%d_a" % g, data)
            self.tree.write("g%d_b" % g, data)

    def stage_threads(self, doc):
        return {stage["name"]: stage["pool_threads"] for stage in doc["stats"]["stages"]}

    def test_short_and_whole_file_reads_use_their_own_sizes(self):
        for rule, short, whole in (("3,5", 3, 5), ("5,2", 5, 2)):
            proc, doc = group_json(self, [self.tree.root], "--threads", rule, "--stats")
            self.assertEqual(len(doc["groups"]), 20, describe(proc))
            used = self.stage_threads(doc)
            self.assertEqual(used["prefix"], [short], describe(proc))
            self.assertEqual(used["suffix"], [short], describe(proc))
            self.assertEqual(used["full"], [whole], describe(proc))
            # The text form says the same on stderr.
            self.assertIn(b", threads ", proc.stderr, describe(proc))

    def test_a_team_smaller_than_asked_fails_loudly(self):
        # OMP_THREAD_LIMIT=3 leaves room for the join's two outer threads and a walk of one, but
        # not for a stage team of four: the run must fail, not read with two threads.
        env = dict(os.environ, OMP_THREAD_LIMIT="3")
        proc = subprocess.run([spindle_binary(), "group", "--threads", "main:1", "--threads", "4", self.tree.root],
                              env=env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              timeout=120, check=False)
        self.assertEqual(proc.returncode, 3, describe(proc))
        self.assertIn(b"OMP_THREAD_LIMIT", proc.stderr, describe(proc))
        self.assertEqual(proc.stdout, b"", describe(proc))


if __name__ == "__main__":
    unittest.main()

"""spindle group --catalog: duplicates across catalogs that `spindle hash --format json` wrote on
several hosts (simulated here by rewriting the "host" member), mixed with local PATHs, without
reading any catalogued file: host prefixes in every format, malformed lines with their line
numbers, standard input, a catalog of another algorithm refused, actions refusing a report that
names another host's files, one file per inode, and the external sort with many runs on disk.
"""

import csv
import io
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import unittest

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from spindle_cli import TIMEOUT, describe, run, spindle_binary  # noqa: E402

HOST = socket.gethostname()
MARKER = b"# spindle catalog report: hosts "


def run_input(args, data, env=None):
    environment = dict(os.environ)
    environment.update(env or {})
    return subprocess.run([spindle_binary()] + list(args), input=data, timeout=TIMEOUT, stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, check=False, env=environment)


class Catalogs(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="spindle-catalog-")
        self.addCleanup(shutil.rmtree, self.dir, True)

    def path(self, rel):
        return os.path.join(os.fsencode(self.dir), os.fsencode(rel))

    def write(self, rel, data):
        path = self.path(rel)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "wb") as f:
            f.write(data)
        return path

    def ok(self, args, expect=0, env=None):
        proc = run(args, env=env)
        self.assertEqual(proc.returncode, expect, describe(proc))
        return proc

    def catalog(self, tree, host, name):
        """`spindle hash --format json TREE` with every record's host set to `host`."""
        proc = self.ok(["hash", "--format", "json", tree])
        lines = []
        for line in proc.stdout.splitlines():
            record = json.loads(line)
            self.assertEqual(record["host"], HOST)  # what hash writes today
            record["host"] = host
            lines.append(json.dumps(record).encode())
        path = self.path(name)
        with open(path, "wb") as f:
            f.write(b"".join(line + b"\n" for line in lines))
        return path

    def two_hosts(self):
        """Trees of hosts alpha and beta sharing one content (and beta a pair of its own), catalogued,
        then deleted: grouping them must read no file."""
        shared = os.urandom(5000)
        self.write("alpha/data/shared", shared)
        self.write("alpha/data/unique", os.urandom(5000))
        self.write("beta/copy/shared", shared)
        self.write("beta/copy/other", shared)
        self.write("beta/two/x", b"beta pair\n")
        self.write("beta/two/y", b"beta pair\n")
        a = self.catalog(self.path("alpha"), "alpha", "a.jsonl")
        b = self.catalog(self.path("beta"), "beta", "b.jsonl")
        shutil.rmtree(self.path("alpha"))
        shutil.rmtree(self.path("beta"))
        return a, b

    def groups(self, args, expect=0, env=None):
        proc = self.ok(["group", "--format", "json"] + args, expect=expect, env=env)
        doc = json.loads(proc.stdout)
        return [[(f["host"], os.fsencode(f["path"])) for f in g["files"]] for g in doc["groups"]], doc

    def test_group_digest_equals_hash_digest(self):
        content = os.urandom(300_000)
        self.write("t/a", content)
        self.write("t/b", content)
        listing = self.ok(["hash", self.path("t/a")]).stdout.split()[0].decode()
        # Plain group (prefix, suffix, then full stage) and a local file in a catalog run.
        doc = json.loads(self.ok(["group", "--format", "json", self.path("t")]).stdout)
        self.assertEqual(doc["groups"][0]["hash"], listing)
        _, mixed = self.groups(["--catalog", self.catalog(self.path("t"), "alpha", "a.jsonl"), self.path("t")])
        self.assertEqual(mixed["groups"][0]["hash"], listing)

    def test_cross_host_groups_without_reading_files(self):
        a, b = self.two_hosts()
        groups, doc = self.groups(["--catalog", a, "--catalog", b])
        root = os.fsencode(self.dir)
        self.assertEqual(groups, [
            [("alpha", root + b"/alpha/data/shared"), ("beta", root + b"/beta/copy/other"),
             ("beta", root + b"/beta/copy/shared")],
            [("beta", root + b"/beta/two/x"), ("beta", root + b"/beta/two/y")],
        ])
        self.assertEqual(doc["stats"]["groups"], 2)
        self.assertEqual(doc["stats"]["bytes_read"], 0)

    def test_every_format_prefixes_hosts(self):
        a, b = self.two_hosts()
        root = os.fsencode(self.dir)
        first = b"alpha:" + root + b"/alpha/data/shared"
        text = self.ok(["group", "--catalog", a, "--catalog", b]).stdout
        lines = text.split(b"\n")
        self.assertTrue(lines[0].startswith(MARKER + b"alpha, beta"), text)
        self.assertIn(first, lines)
        self.assertIn(b"beta:" + root + b"/beta/two/y", lines)
        fdupes = self.ok(["group", "--format", "fdupes", "--catalog", a, "--catalog", b]).stdout
        self.assertEqual(fdupes.split(b"\n")[0], first)
        rows = list(csv.reader(io.StringIO(
            self.ok(["group", "--format", "csv", "--catalog", a, "--catalog", b]).stdout.decode())))
        self.assertEqual(rows[0], ["size", "hash", "count", "path"])
        self.assertEqual(os.fsencode(rows[1][3]), first)
        jsonl = self.ok(["group", "--format", "jsonl", "--catalog", a, "--catalog", b]).stdout.splitlines()
        self.assertEqual(len(jsonl), 2)
        self.assertEqual(json.loads(jsonl[0])["files"][0]["host"], "alpha")
        # One host only: no prefix (but the text report still says whose files they are).
        single = self.ok(["group", "--catalog", b]).stdout.split(b"\n")
        self.assertEqual(single[0], MARKER + b"beta")
        self.assertIn(root + b"/beta/two/x", single)

    def test_local_paths_mixed_in(self):
        shared = os.urandom(7000)
        self.write("remote/r", shared)
        cat = self.catalog(self.path("remote"), "alpha", "a.jsonl")
        shutil.rmtree(self.path("remote"))
        # `only` has no local twin: its size is in the catalog, so it is hashed all the same.
        only = self.write("local/only", shared)
        p1 = self.write("local/p1", b"local pair")
        p2 = self.write("local/p2", b"local pair")
        self.write("local/lonely", b"nothing like it")
        groups, doc = self.groups(["--catalog", cat, self.path("local")])
        self.assertEqual(groups, [
            [("alpha", self.path("remote/r")), (HOST, only)],
            [(HOST, p1), (HOST, p2)],
        ])
        text = self.ok(["group", "--catalog", cat, self.path("local")]).stdout
        self.assertIn(HOST.encode() + b":" + only + b"\n", text)
        self.assertIn(b"alpha:" + self.path("remote/r") + b"\n", text)
        # lonely (a size nowhere else) is never read: 7000 + 2 x 10 bytes.
        self.assertEqual(doc["stats"]["bytes_read"], 7000 + 20)

    def test_malformed_lines_are_reported_with_line_numbers(self):
        a, _ = self.two_hosts()
        with open(a, "rb") as f:
            good = f.read().splitlines()
        twin = json.loads(good[0])
        twin["path"] = "/elsewhere/twin"
        twin["inode"] = 424242
        bad = self.path("bad.jsonl")
        lines = [good[0], b"not json at all", json.dumps(twin).encode(), b'{"path":"/x","size":1}', b"",
                 good[1]]
        with open(bad, "wb") as f:
            f.write(b"\n".join(lines) + b"\n")
        proc = run(["group", "--format", "json", "--catalog", bad])
        self.assertEqual(proc.returncode, 1, describe(proc))
        name = bad.decode()
        self.assertIn((name + ":2: not one JSON object").encode(), proc.stderr)
        self.assertIn((name + ":4: no \"device\" member").encode(), proc.stderr)
        self.assertNotIn((name + ":5:").encode(), proc.stderr)  # a blank line is no record
        doc = json.loads(proc.stdout)
        self.assertEqual(doc["stats"]["errors"], 2)
        self.assertEqual(len(doc["groups"]), 1)  # the rest was read

    def test_standard_input(self):
        a, b = self.two_hosts()
        with open(a, "rb") as f:
            data = f.read()
        proc = run_input(["group", "--format", "json", "--catalog", "-", "--catalog", b], data)
        self.assertEqual(proc.returncode, 0, describe(proc))
        self.assertEqual(len(json.loads(proc.stdout)["groups"]), 2)
        bad = run_input(["group", "--catalog", "-"], b"{oops\n")
        self.assertEqual(bad.returncode, 1, describe(bad))
        self.assertIn(b"<stdin>:1: ", bad.stderr)

    def test_catalog_of_another_algorithm_is_refused(self):
        self.write("t/a", b"same\n")
        self.write("t/b", b"same\n")
        proc = self.ok(["hash", "--format", "json", "--algo", "xxh64", self.path("t")])
        cat = self.path("x64.jsonl")
        with open(cat, "wb") as f:
            f.write(proc.stdout)
        refused = run(["group", "--catalog", cat])
        self.assertEqual(refused.returncode, 3, describe(refused))
        self.assertIn(b"xxh64", refused.stderr)
        self.assertIn(b"XXH3-128", refused.stderr)
        self.assertEqual(refused.stdout, b"")

    def test_actions_refuse_a_report_naming_another_hosts_files(self):
        content = os.urandom(4000)
        keep = self.write("t/keep", content)
        other = self.write("t/other", content)
        cat = self.catalog(self.path("t"), "alpha", "a.jsonl")
        # The catalog's paths name these very local files: they must not be touched.
        for fmt, name in (("json", "r.json"), ("jsonl", "r.jsonl"), ("text", "r.txt")):
            report = self.path(name)
            self.ok(["group", "--format", fmt, "--catalog", cat, "-o", report])
            for action in ("remove", "link"):
                proc = run([action, report])
                self.assertNotEqual(proc.returncode, 0, describe(proc))
                self.assertIn(b"another host ('alpha'", proc.stderr, describe(proc))
            self.assertTrue(os.path.exists(keep) and os.path.exists(other))
            self.assertNotEqual(os.stat(keep).st_ino, os.stat(other).st_ino)
        # A catalog of this host is this host's files: its report can be acted on.
        mine = self.catalog(self.path("t"), HOST, "mine.jsonl")
        report = self.path("mine.json")
        self.ok(["group", "--format", "json", "--catalog", mine, "-o", report])
        self.ok(["link", report])
        self.assertEqual(os.stat(keep).st_ino, os.stat(other).st_ino)

    def test_same_inode_counts_once(self):
        content = os.urandom(3000)
        a = self.write("t/a", content)
        b = self.write("t/b", content)
        mine = self.catalog(self.path("t"), HOST, "mine.jsonl")
        expected = [[(HOST, a), (HOST, b)]]
        self.assertEqual(self.groups(["--catalog", mine, "--catalog", mine])[0], expected)
        self.assertEqual(self.groups(["--catalog", mine, self.path("t")])[0], expected)
        # Hard links: one file, unless -H.
        os.unlink(b)
        os.link(a, b)
        linked = self.catalog(self.path("t"), HOST, "linked.jsonl")
        self.assertEqual(self.groups(["--catalog", linked, "--catalog", linked])[0], [])
        self.assertEqual(self.groups(["--catalog", linked, self.path("t")])[0], [])
        self.assertEqual(self.groups(["-H", "--catalog", linked, "--catalog", linked])[0], expected)

    def test_awkward_names_round_trip(self):
        name = b"odd \xff\nname"
        content = os.urandom(2000)
        odd = self.write(b"t/" + name, content)
        plain = self.write("t/plain", content)
        cat = self.catalog(self.path("t"), "alpha", "a.jsonl")
        self.assertEqual(self.groups(["--catalog", cat])[0], [[("alpha", odd), ("alpha", plain)]])
        text = self.ok(["group", "--format", "fdupes", "--catalog", cat, "-z"]).stdout
        self.assertEqual(text, odd + b"\0" + plain + b"\0\0")

    def test_empty_and_missing_catalogs(self):
        empty = self.path("empty.jsonl")
        open(empty, "wb").close()
        groups, doc = self.groups(["--catalog", empty])
        self.assertEqual((groups, doc["stats"]["errors"]), ([], 0))
        missing = self.path("missing.jsonl")
        proc = run(["group", "--catalog", missing, "--catalog", empty])
        self.assertEqual(proc.returncode, 1, describe(proc))
        self.assertIn(missing + b": open: No such file or directory", proc.stderr)
        # Nothing could be read: an existing report FILE keeps its content.
        report = self.write("report.txt", b"old report\n")
        proc = run(["group", "--catalog", missing, "-o", report])
        self.assertEqual(proc.returncode, 1, describe(proc))
        with open(report, "rb") as f:
            self.assertEqual(f.read(), b"old report\n")

    def synthetic(self, name, count):
        """A catalog of `count` records of host gamma: every 3 share a content."""
        path = self.path(name)
        with open(path, "w") as f:
            for i in range(count):
                group = i // 3
                f.write(json.dumps({"path": "/data/%06d" % i, "size": 1000 + group % 97,
                                    "mtime_ns": i, "ctime_ns": i, "device": "8:1", "inode": i + 1,
                                    "host": "gamma", "algo": "xxh128", "hash": "%032x" % group}) + "\n")
        return path

    def test_external_merge_with_many_runs(self):
        cat = self.synthetic("big.jsonl", 3000)
        in_memory = self.ok(["group", "--format", "json", "--catalog", cat, "-vv"])
        self.assertIn(b"catalog sort: 0 runs on disk", in_memory.stderr)
        sort_dir = self.path("sort")
        os.mkdir(sort_dir)
        on_disk = self.ok(["group", "--format", "json", "--catalog", cat, "-vv", "--tmp-dir", sort_dir],
                          env={"SPINDLE_CATALOG_RUN_BYTES": "8K"})
        runs = [line for line in on_disk.stderr.splitlines() if b"catalog sort:" in line]
        self.assertEqual(len(runs), 1, on_disk.stderr)
        self.assertGreater(int(runs[0].split(b"catalog sort: ")[1].split()[0]), 10)
        self.assertEqual(json.loads(on_disk.stdout)["groups"], json.loads(in_memory.stdout)["groups"])
        self.assertEqual(len(json.loads(on_disk.stdout)["groups"]), 1000)
        self.assertEqual(os.listdir(sort_dir), [])
        # Largest size first, then hash.
        sizes = [g["size"] for g in json.loads(on_disk.stdout)["groups"]]
        self.assertEqual(sizes, sorted(sizes, reverse=True))
        broken = run(["group", "--catalog", cat, "--tmp-dir", self.path("nowhere")],
                     env={"SPINDLE_CATALOG_RUN_BYTES": "8K"})
        self.assertEqual(broken.returncode, 3, describe(broken))
        self.assertIn(self.path("nowhere"), broken.stderr)

    def test_standard_input_read_once(self):
        proc = run_input(["group", "--catalog", "-", "--files-from", "-"], b"")
        self.assertEqual(proc.returncode, 2, describe(proc))
        self.assertIn(b"cannot both read standard input", proc.stderr)

    def test_flags_that_need_content_are_refused(self):
        empty = self.path("empty.jsonl")
        open(empty, "wb").close()
        for flag in (["--paranoid"], ["--dirs"], ["--unique"], ["--rf-over", "2"], ["--isolate"]):
            proc = run(["group", "--catalog", empty] + flag)
            self.assertEqual(proc.returncode, 2, describe(proc))


if __name__ == "__main__":
    unittest.main()

"""spindle hash: listings byte for byte as xxh128sum/xxhsum write them (checked against the real
binaries both ways when they are installed), awkward names round-tripping through spindle's own
--check, --check's verdicts and exit statuses, --files-from lists, ordering, -z and JSON records.
"""

import json
import os
import shutil
import subprocess
import sys
import tempfile
import unittest

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from spindle_cli import TIMEOUT, describe, run, spindle_binary  # noqa: E402

XXHSUM_FLAG = {"xxh32": "-H0", "xxh64": "-H1", "xxh128": "-H2", "xxh3": "-H3"}
ORDINARY = ["a.txt", "b/c.bin", "b/d e.txt", "empty", "z/" + "x" * 40]


def run_input(args, data, cwd=None):
    return subprocess.run([spindle_binary()] + list(args), input=data, cwd=cwd, timeout=TIMEOUT,
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, check=False)


class HashTestCase(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="spindle-hash-")
        self.addCleanup(shutil.rmtree, self.dir, True)

    def write(self, rel, data):
        path = os.path.join(os.fsencode(self.dir), os.fsencode(rel))
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "wb") as f:
            f.write(data)
        return path

    def ordinary_tree(self):
        for i, name in enumerate(ORDINARY):
            self.write(name, b"" if name == "empty" else (b"content %d\n" % i) * (i * 700 + 1))

    def read(self, rel):
        with open(os.path.join(os.fsencode(self.dir), os.fsencode(rel)), "rb") as f:
            return f.read()

    def spindle(self, args, ok=(0,)):
        proc = run(args, cwd=self.dir)
        if proc.returncode not in ok:
            self.fail(describe(proc))
        return proc


@unittest.skipUnless(shutil.which("xxhsum") and shutil.which("xxh128sum"),
                     "xxhsum/xxh128sum not installed (Debian package xxhash): compatibility not checked")
class CompatibleWithXxhsum(HashTestCase):
    def xxhsum(self, args, **kw):
        return subprocess.run(["xxhsum"] + args, cwd=self.dir, timeout=TIMEOUT, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, check=False, **kw)

    def test_listing_is_byte_for_byte_xxhsums_for_every_algorithm(self):
        self.ordinary_tree()
        names = sorted(ORDINARY)  # spindle lists bytewise by path
        for algo, flag in XXHSUM_FLAG.items():
            for tag in ([], ["--tag"]):
                theirs = self.xxhsum([flag] + tag + names)
                self.assertEqual(theirs.returncode, 0, theirs.stderr)
                ours = self.spindle(["hash", "--algo", algo] + tag + names)
                self.assertEqual(ours.stdout, theirs.stdout, "%s %s" % (algo, tag))
        plain = subprocess.run(["xxh128sum"] + names, cwd=self.dir, stdout=subprocess.PIPE, check=True)
        self.assertEqual(self.spindle(["hash"] + names).stdout, plain.stdout)

    def test_xxhsum_checks_spindles_listing_and_spindle_checks_xxhsums(self):
        self.ordinary_tree()
        for algo, flag in XXHSUM_FLAG.items():
            for tag in ([], ["--tag"]):
                listing = os.path.join(self.dir, "ours.%s" % algo)
                with open(listing, "wb") as f:
                    f.write(self.spindle(["hash", "--algo", algo] + tag + ORDINARY).stdout)
                check = self.xxhsum(["-c", listing])
                self.assertEqual(check.returncode, 0, check.stdout + check.stderr)
                self.assertEqual(check.stdout.count(b": OK\n"), len(ORDINARY))
                theirs = os.path.join(self.dir, "theirs.%s" % algo)
                with open(theirs, "wb") as f:
                    f.write(self.xxhsum([flag] + tag + ORDINARY).stdout)
                ours = self.spindle(["hash", "-c", theirs])
                self.assertEqual(sorted(ours.stdout.splitlines()), sorted(n.encode() + b": OK" for n in ORDINARY))

    def test_a_directory_listing_is_what_xxh128sum_says_of_each_file(self):
        self.ordinary_tree()
        ours = self.spindle(["hash", "."]).stdout.splitlines()
        paths = [line.split(b"  ", 1)[1] for line in ours]
        self.assertEqual(paths, sorted(paths))
        self.assertEqual(sorted(p[2:].decode() for p in paths), sorted(ORDINARY))
        theirs = subprocess.run(["xxh128sum"] + [os.fsdecode(p) for p in paths], cwd=self.dir,
                                stdout=subprocess.PIPE, check=True).stdout.splitlines()
        self.assertEqual(ours, theirs)


AWKWARD = [b"new\nline", b"back\\slash", b"cr\rname", b"\xff\xfe not utf-8", b"\\n literal", b"x) = y", b"tab\tname"]


class AwkwardNames(HashTestCase):
    def test_names_round_trip_through_spindles_check_in_every_style(self):
        for i, name in enumerate(AWKWARD):
            self.write(b"t/" + name, b"data %d" % i)
        for style in ([], ["--tag"], ["-z"], ["--algo", "xxh3"], ["-f", "json"], ["--algo", "xxh32", "--tag", "-z"]):
            listing = self.write(b"listing", self.spindle(["hash"] + style + ["t"]).stdout)
            lines = self.spindle(["hash", "-c"] + (["-z"] if "-z" in style else []) + [listing]).stdout
            self.assertEqual(lines.count(b": OK\n"), len(AWKWARD), "%s\n%r" % (style, lines))
            self.assertNotIn(b"FAILED", lines)

    def test_escaped_lines_start_with_a_backslash_like_sha256sum(self):
        self.write(b"t/new\nline", b"x")
        self.write(b"t/back\\slash", b"x")
        lines = self.spindle(["hash", "t"]).stdout.split(b"\n")
        self.assertEqual(lines[0], b"\\" + lines[0][1:33] + b"  t/back\\\\slash")
        self.assertEqual(lines[1][0:1], b"\\")
        self.assertTrue(lines[1].endswith(b"  t/new\\nline"), lines)

    def test_zero_ends_lines_with_nul_and_escapes_nothing(self):
        self.write(b"t/new\nline", b"x")
        out = self.spindle(["hash", "-z", "t"]).stdout
        self.assertTrue(out.endswith(b"  t/new\nline\0"), out)
        self.assertNotIn(b"\\", out)


class Check(HashTestCase):
    def listing(self):
        self.ordinary_tree()
        return self.write("L", self.spindle(["hash"] + ORDINARY).stdout)

    def test_all_good_is_ok_and_status_0(self):
        listing = self.listing()
        proc = self.spindle(["hash", "-c", listing])
        self.assertEqual(proc.stdout, b"".join(n.encode() + b": OK\n" for n in ORDINARY))

    def test_corrupted_and_truncated_files_fail_with_status_1(self):
        listing = self.listing()
        data = self.read("b/c.bin")
        self.write("b/c.bin", bytes([data[0] ^ 1]) + data[1:])  # same size, one bit
        self.write("a.txt", b"")                                 # truncated
        proc = self.spindle(["hash", "-c", listing], ok=(1,))
        self.assertIn(b"b/c.bin: FAILED\n", proc.stdout)
        self.assertIn(b"a.txt: FAILED\n", proc.stdout)
        self.assertIn(b"empty: OK\n", proc.stdout)
        self.assertIn(b"2 computed checksums did NOT match", proc.stderr)

    def test_missing_file_is_failed_open_or_read_with_status_2(self):
        listing = self.listing()
        os.unlink(os.path.join(self.dir, "b/d e.txt"))
        self.write("a.txt", b"changed")
        proc = self.spindle(["hash", "-c", listing], ok=(2,))
        self.assertIn(b"b/d e.txt: FAILED open or read\n", proc.stdout)
        self.assertIn(b"b/d e.txt: open: No such file or directory", proc.stderr)
        self.assertIn(b"a.txt: FAILED\n", proc.stdout)
        # The verdicts keep the listing's order, the missing file's included.
        self.assertEqual([l.split(b":")[0] for l in proc.stdout.splitlines()], [n.encode() for n in ORDINARY])

    def test_quiet_prints_only_failures_and_status_nothing(self):
        listing = self.listing()
        self.write("a.txt", b"changed")
        quiet = self.spindle(["hash", "-c", "--quiet", listing], ok=(1,))
        self.assertEqual(quiet.stdout, b"a.txt: FAILED\n")
        status = self.spindle(["hash", "-c", "--status", listing], ok=(1,))
        self.assertEqual(status.stdout, b"")
        self.assertEqual(status.stderr, b"")

    def test_malformed_lines_are_counted_and_a_listing_of_none_fails(self):
        listing = self.listing()
        with open(listing, "ab") as f:
            f.write(b"garbage\n0123  short\n")
        proc = self.spindle(["hash", "-c", listing])
        self.assertIn(b"2 lines are improperly formatted", proc.stderr)
        bad = self.write("bad", b"nothing here\n")
        proc = self.spindle(["hash", "-c", bad], ok=(1,))
        self.assertIn(b"no properly formatted checksum lines found", proc.stderr)

    def test_listing_from_standard_input_and_a_missing_listing(self):
        listing = self.listing()
        proc = run_input(["hash", "-c"], self.read(listing), cwd=self.dir)
        self.assertEqual(proc.returncode, 0, describe(proc))
        self.assertEqual(proc.stdout.count(b": OK\n"), len(ORDINARY))
        proc = self.spindle(["hash", "-c", "no-such-listing"], ok=(2,))
        self.assertIn(b"no-such-listing: open: No such file or directory", proc.stderr)


class FilesFrom(HashTestCase):
    def test_newline_nul_and_stdin_lists(self):
        self.ordinary_tree()
        self.write(b"new\nline", b"n")
        expected = self.spindle(["hash"] + ORDINARY).stdout
        self.write("list", "\n".join(ORDINARY).encode() + b"\n")
        self.assertEqual(self.spindle(["hash", "--files-from", "list"]).stdout, expected)
        self.write("list0", b"\0".join([n.encode() for n in ORDINARY] + [b"new\nline"]) + b"\0")
        out = self.spindle(["hash", "--files-from", "list0", "--null"]).stdout
        self.assertEqual(out.count(b"\n"), len(ORDINARY) + 1)
        self.assertIn(b"  new\\nline\n", out)
        proc = run_input(["hash", "--files-from", "-"], "\n".join(ORDINARY).encode(), cwd=self.dir)
        self.assertEqual(proc.stdout, expected, describe(proc))
        group = run_input(["group", "--files-from", "-", "--null", "-f", "fdupes"], b"a.txt\0b/c.bin\0", cwd=self.dir)
        self.assertEqual(group.returncode, 0, describe(group))

    def test_a_missing_listed_path_is_an_error_and_the_rest_is_listed(self):
        self.ordinary_tree()
        self.write("list", b"a.txt\nmissing\nempty\n")
        proc = self.spindle(["hash", "--files-from", "list"], ok=(1,))
        self.assertEqual(len(proc.stdout.splitlines()), 2)
        self.assertIn(b"missing: stat: No such file or directory", proc.stderr)

    def test_input_order_keeps_the_lists_order(self):
        self.ordinary_tree()
        names = list(reversed(ORDINARY))
        self.write("list", "\n".join(names).encode())
        out = self.spindle(["hash", "--files-from", "list", "--order", "input"]).stdout
        self.assertEqual([l.split(b"  ", 1)[1].decode() for l in out.splitlines()], names)
        out = self.spindle(["hash", "--files-from", "list"]).stdout
        self.assertEqual([l.split(b"  ", 1)[1].decode() for l in out.splitlines()], sorted(names))

    def test_list_and_paths_together_are_a_usage_error(self):
        self.write("list", b"a\n")
        proc = self.spindle(["hash", "--files-from", "list", "."], ok=(2,))
        self.assertIn(b"--files-from", proc.stderr)


class OrderAndFormats(HashTestCase):
    def test_same_listing_at_one_and_eight_threads(self):
        for i in range(400):
            self.write("d%d/f%03d" % (i % 7, i), b"x" * (i * 13 % 3000))
        one = self.spindle(["hash", "-t", "1", "."]).stdout
        eight = self.spindle(["hash", "-t", "8", "."]).stdout
        self.assertEqual(one, eight)
        paths = [l.split(b"  ", 1)[1] for l in one.splitlines()]
        self.assertEqual(paths, sorted(paths))
        self.assertEqual(len(paths), 400)

    def test_json_records_are_lossless_and_complete(self):
        self.write(b"t/\xff\nname", b"hello\n")
        out = self.spindle(["hash", "-f", "json", "t"]).stdout
        records = [json.loads(line) for line in out.splitlines()]
        self.assertEqual(len(records), 1)
        record = records[0]
        self.assertEqual(list(record), ["path", "size", "mtime_ns", "ctime_ns", "device", "inode", "host", "algo", "hash"])
        self.assertEqual(os.fsencode(record["path"]), b"t/\xff\nname")
        st = os.stat(os.path.join(os.fsencode(self.dir), b"t/\xff\nname"))
        self.assertEqual(record["size"], 6)
        self.assertEqual(record["mtime_ns"], st.st_mtime_ns)
        self.assertEqual(record["ctime_ns"], st.st_ctime_ns)
        self.assertEqual(record["inode"], st.st_ino)
        self.assertEqual(record["device"], "%d:%d" % (os.major(st.st_dev), os.minor(st.st_dev)))
        self.assertEqual(record["host"], os.uname().nodename)
        self.assertEqual((record["algo"], record["hash"]), ("xxh128", "6bba86c7e069f56d5a10b435f1c8e49c"))

    def test_stats_has_the_exact_bytes_read_on_a_line_of_its_own(self):
        self.write("a", b"x" * 1000)
        self.write("b", b"y" * 234)
        os.link(os.path.join(self.dir, "a"), os.path.join(self.dir, "a-link"))  # read once
        proc = self.spindle(["hash", "--stats", "."])
        self.assertIn(b"\nbytes read: 1234\n", b"\n" + proc.stderr)

    def test_group_zero_ends_text_and_fdupes_lines_with_nul(self):
        self.write(b"new\nline", b"same")
        self.write(b"other", b"same")
        for fmt in ("text", "fdupes"):
            out = self.spindle(["group", "-z", "-f", fmt, "."]).stdout
            self.assertNotIn(b"\n\0", out)
            self.assertIn(b"./new\nline\0", out)
            self.assertIn(b"./other\0", out)
            self.assertTrue(out.endswith(b"\0"))
            self.assertEqual(out.count(b"\n"), 1, out)  # only the one inside the name


class OutputFile(HashTestCase):
    def test_no_path_readable_leaves_the_listing_file_as_it_was(self):
        out = self.write("out", b"old listing\n")
        self.spindle(["hash", "-o", out, "missing"], ok=(1,))
        self.assertEqual(self.read(out), b"old listing\n")

    def test_listing_to_a_hard_linked_file_is_written_in_place(self):
        self.write("a", b"a")
        out = self.write("out", b"old\n")
        os.link(out, os.path.join(self.dir, "out-link"))
        self.spindle(["hash", "-o", out, "a"])
        listing = self.spindle(["hash", "a"]).stdout
        self.assertEqual(self.read("out"), listing)
        self.assertEqual(self.read("out-link"), listing)  # every link sees it, as with >


if __name__ == "__main__":
    unittest.main()

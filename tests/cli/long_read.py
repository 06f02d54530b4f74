"""A run that is reading a large file (not a test itself; imported by test_signals.py and
test_changed_while_read.py).

Sparse files make reads as long as wanted without disk space: a hole reads as zeros. Files of
one size are candidates and need whole-file reads, so once spindle has read more than a few
blocks it is in the full stage. The synchronisation is what spindle has read (rchar in
/proc/PID/io), never a fixed sleep; the polling interval only bounds how often we look.
"""

import os
import subprocess
import time

from spindle_cli import TIMEOUT, spindle_binary

# Past the prefix and suffix reads (a few KiB per file) and whatever set-up reads (mountinfo,
# sysfs, udev): spindle is hashing whole files.
FULL_STAGE_BYTES = 64 << 20


def sparse_files(testcase, directory, names, size):
    """Create sparse files of `size` bytes; skip the test when the filesystem refuses them."""
    paths = []
    for name in names:
        path = os.path.join(directory, name)
        with open(path, "wb") as f:
            try:
                f.truncate(size)
            except OSError as e:
                testcase.skipTest("the filesystem of %s refuses a sparse file of %d bytes: %s" % (directory, size, e))
        paths.append(path)
    return paths


def bytes_read(pid):
    """rchar of the process: every byte its read calls returned (holes included)."""
    with open("/proc/%d/io" % pid) as f:
        for line in f:
            if line.startswith("rchar:"):
                return int(line.split()[1])
    raise RuntimeError("no rchar in /proc/%d/io" % pid)


def start(args):
    return subprocess.Popen([spindle_binary()] + args, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE)


def wait_until_reading(testcase, proc, at_least=FULL_STAGE_BYTES):
    """Return once `proc` has read `at_least` bytes; fail if it ends first or never gets there
    within TIMEOUT (a watchdog, not a timing assertion)."""
    deadline = time.monotonic() + TIMEOUT
    while True:
        if proc.poll() is not None:
            stdout, stderr = proc.communicate()
            testcase.fail("spindle ended before it read %d bytes: exit %d\nstdout %r\nstderr %r" %
                          (at_least, proc.returncode, stdout[:2000], stderr[:2000]))
        try:
            done = bytes_read(proc.pid)
        except (OSError, RuntimeError):
            done = 0  # exiting between poll() and the read
        if done >= at_least:
            return done
        if time.monotonic() > deadline:
            proc.kill()
            proc.communicate()
            testcase.fail("watchdog: spindle read only %d bytes in %d s" % (done, TIMEOUT))
        time.sleep(0.01)

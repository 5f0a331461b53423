#!/usr/bin/env python3
"""hv86 test runner: the layering check and unit tests first, then the system tests of
tests/system/tests.list.

    python3 tests/system/runner.py [--tier fast|all] [--jobs N] [--filter REGEX] [--list]

Layering: scripts/check-layers on the tree (one test) and its own Python tests
(tests/layers/). Unit tests: every build/unit/test_* binary (cmocka; each test inside counts) and the
launcher's Python tests (tests/system/test_launcher.py). System tests: each line of
tests.list, expanded over its backends, run in parallel through tools/hv86-run.
Prints PASS / FAIL / SKIP per test and ends with exactly one line
"N passed, N failed, N skipped"; exits 1 on any failure. docs/testing.md says more.
"""

import argparse
import concurrent.futures
import io
import os
import re
import shlex
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(REPO, "tools"))
import hv86run_lib as lib  # noqa: E402

HV86_RUN = os.path.join(REPO, "tools", "hv86-run")
# kvm-unit-tests, built by scripts/kvm-unit-tests from the release tarball beside
# the repository (docs/testing.md); without the tarball its runs are skipped.
KUT_DIR = "build/kvm-unit-tests/"
TESTS_LIST = os.path.join(HERE, "tests.list")
UNIT_DIR = os.path.join(REPO, "build", "unit")
CHECK_LAYERS = os.path.join(REPO, "scripts", "check-layers")
LAYERS_TESTS = os.path.join(REPO, "tests", "layers")
KINDS = ("run", "compare")
ALL_BACKENDS = ("svm", "vmx", "auto")
TAIL_LINES = 15
# The runner's own hard stop beyond a test's timeout (hv86-run enforces the timeout
# itself; this only catches a launcher that hangs).
HARD_MARGIN = 60


# --- the test list --------------------------------------------------------------------

class TestSpec:
    """One line of tests.list (before the backend expansion)."""

    def __init__(self, kind, name, backends, tier, timeout, status, expect, reject,
                 args, lineno, ignore=()):
        self.kind = kind
        self.name = name
        self.backends = backends        # [] for "-": run once, args as written
        self.tier = tier
        self.timeouts = timeout         # {backend or None: seconds}
        self.status = status
        self.expect = expect            # [(backend or None, compiled regex)]
        self.reject = reject
        self.ignore = list(ignore)      # compare: [compiled regex] of lines to drop
        self.args = args
        self.lineno = lineno


    def timeout_for(self, backend):
        return self.timeouts.get(backend, self.timeouts.get(None))

    @property
    def timeout(self):
        """The longest of the timeouts (for listings)."""
        return max(self.timeouts.values())


class ListError(Exception):
    pass


def parse_timeout(word, backends):
    """TIMEOUT: seconds for every backend ("60"), or per backend ("svm=60,vmx=420",
    one for each backend the line names) -> {backend: seconds} (None: any)."""
    if "=" not in word:
        return {None: float(word)}
    out = {}
    for part in word.split(","):
        b, _, secs = part.partition("=")
        if b not in backends:
            raise ValueError("timeout for %s, which the line does not run on" % b)
        out[b] = float(secs)
    missing = [b for b in backends if b not in out]
    if missing:
        raise ValueError("no timeout for %s" % ",".join(missing))
    return out


def parse_list(text, path="tests.list"):
    """tests.list text -> [TestSpec]. Line format (shell-like quoting):
    KIND NAME BACKENDS TIER TIMEOUT STATUS [PATTERN]... -- HV86-RUN-ARGS...
    PATTERN: expect=RE | reject=RE | expect.BACKEND=RE | reject.BACKEND=RE, and for
    compare tests ignore=RE (guest lines dropped on both sides before comparing)."""
    specs = []
    names = set()
    for lineno, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        where = "%s:%d" % (path, lineno)
        try:
            words = shlex.split(line, comments=False)
        except ValueError as e:
            raise ListError("%s: %s" % (where, e))
        if "--" not in words:
            raise ListError("%s: no '--' before the hv86-run arguments" % where)
        cut = words.index("--")
        head, args = words[:cut], words[cut + 1:]
        if len(head) < 6:
            raise ListError("%s: want KIND NAME BACKENDS TIER TIMEOUT STATUS" % where)
        kind, name, backends, tier, timeout, status = head[:6]
        if kind not in KINDS:
            raise ListError("%s: unknown kind %s (run | compare)" % (where, kind))
        if not re.match(r"^[A-Za-z0-9_.-]+$", name):
            raise ListError("%s: bad test name %r" % (where, name))
        if name in names:
            raise ListError("%s: test %s is listed twice" % (where, name))
        names.add(name)
        if backends == "-":
            blist = []
        else:
            blist = backends.split(",")
            for b in blist:
                if b not in ALL_BACKENDS:
                    raise ListError("%s: unknown backend %s" % (where, b))
        if kind == "compare" and not blist:
            raise ListError("%s: a compare test needs backends" % where)
        if tier not in ("fast", "slow"):
            raise ListError("%s: tier must be fast or slow" % where)
        try:
            timeout = parse_timeout(timeout, blist)
            status = int(status)
        except ValueError as e:
            raise ListError("%s: TIMEOUT and STATUS must be numbers%s"
                            % (where, ": %s" % e if str(e) else ""))
        expect, reject, ignore = [], [], []
        for p in head[6:]:
            m = re.match(r"^(expect|reject|ignore)(?:\.([a-z]+))?=(.*)$", p, re.S)
            if not m:
                raise ListError("%s: bad pattern %r (expect=RE, reject=RE, "
                                "expect.BACKEND=RE, ignore=RE)" % (where, p))
            if m.group(1) == "ignore" and (kind != "compare" or m.group(2)):
                raise ListError("%s: ignore=RE is for compare tests, on all backends"
                                % where)
            if m.group(2) and m.group(2) not in ALL_BACKENDS:
                raise ListError("%s: unknown backend in %r" % (where, p))
            try:
                rx = re.compile(m.group(3), re.M)
            except re.error as e:
                raise ListError("%s: bad regex %r: %s" % (where, m.group(3), e))
            if m.group(1) == "ignore":
                ignore.append(rx)
            else:
                (expect if m.group(1) == "expect" else reject).append((m.group(2), rx))
        specs.append(TestSpec(kind, name, blist, tier, timeout, status, expect,
                              reject, args, lineno, ignore))
    return specs


def expand(specs, tier):
    """-> [(test id, spec, backend or None)] for the tier (fast, or all)."""
    out = []
    for s in specs:
        if tier == "fast" and s.tier != "fast":
            continue
        if not s.backends:
            out.append((s.name, s, None))
        for b in s.backends:
            out.append(("%s[%s]" % (s.name, b), s, b))
    return out


# --- judging output ---------------------------------------------------------------------

PANIC = re.compile(r"^hv86: panic", re.M)


def check_patterns(spec, backend, text):
    """-> None if every expect matches and no reject does, else why not. A panic
    of hv86 fails every test that does not expect one itself (issue 18: a host
    fault whose origin is guest state is a bug the suite must catch)."""
    if not any("panic" in rx.pattern for _, rx in spec.expect):
        m = PANIC.search(text)
        if m:
            line = text[m.start():].split("\n", 1)[0]
            return "hv86 panicked: %r" % line
    for b, rx in spec.expect:
        if b in (None, backend) and not rx.search(text):
            return "output lacks /%s/" % rx.pattern
    for b, rx in spec.reject:
        if b in (None, backend):
            m = rx.search(text)
            if m:
                return "output has /%s/: %r" % (rx.pattern, m.group(0))
    return None


def guest_lines_hv86(text, vm):
    """The guest's own serial lines out of hv86's console: '[VM] ' stripped, hv86's
    lines (and other VMs') dropped."""
    prefix = "[%s] " % vm
    out = []
    for line in text.splitlines():
        line = line.rstrip("\r")
        if line.startswith(prefix):
            out.append(line[len(prefix):])
        elif line == "[%s]" % vm:
            out.append("")
    return out


def guest_lines_direct(text):
    return [l.rstrip("\r") for l in text.splitlines()]


def drop_lines(lines, ignore):
    return [l for l in lines if not any(rx.search(l) for rx in ignore)]


def first_difference(a, b):
    for i in range(max(len(a), len(b))):
        x = a[i] if i < len(a) else "<end>"
        y = b[i] if i < len(b) else "<end>"
        if x != y:
            return "line %d: QEMU %r, hv86 %r" % (i + 1, x, y)
    return None


def tail(text, n=TAIL_LINES):
    lines = text.rstrip("\n").splitlines()[-n:]
    return "\n".join("    | " + l for l in lines)


# --- running ---------------------------------------------------------------------------

_procs_lock = threading.Lock()
_procs = set()


def run_cmd(cmd, timeout, cwd=REPO):
    """-> (exit status or None on the hard timeout, stdout+stderr text, seconds)."""
    t0 = time.monotonic()
    # Own session: a Ctrl-C at the terminal reaches only the runner, which then
    # stops every child it started (kill_all); they also die with the runner.
    p = subprocess.Popen(cmd, cwd=cwd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                         stderr=subprocess.STDOUT, start_new_session=True,
                         preexec_fn=lib._pdeathsig)
    with _procs_lock:
        _procs.add(p)
    try:
        out, _ = p.communicate(timeout=timeout)
        rc = p.returncode
    except subprocess.TimeoutExpired:
        lib.stop_process(p)
        out, _ = p.communicate()
        rc = None
    finally:
        with _procs_lock:
            _procs.discard(p)
    # Serial consoles may end lines with \r\n: judge plain \n lines.
    text = out.decode("utf-8", "replace").replace("\r\n", "\n")
    return rc, text, time.monotonic() - t0


def kill_all():
    with _procs_lock:
        procs = list(_procs)
    for p in procs:
        lib.stop_process(p)


def hv86_cmd(spec, backend):
    cmd = [sys.executable, HV86_RUN]
    if backend is not None:
        cmd += ["--backend", backend, "--timeout", "%g" % spec.timeout_for(backend)]
    return cmd + spec.args


def skip_reason(backend, kvm, spec=None):
    if backend == "auto" and not kvm[0]:
        return "auto needs KVM with nested virtualization: %s" % kvm[1]
    if (spec is not None and any(a.startswith(KUT_DIR) for a in spec.args)
            and not os.path.exists(os.path.join(REPO, KUT_DIR, "VERSION"))):
        return ("needs the kvm-unit-tests source: no ../shared/outside/"
                "kvm-unit-tests-*.tar.gz (or KUT_TARBALL) to build it from")
    return None


KEPT_RE = re.compile(r"^hv86-run: Bochs log kept: (\S+)$", re.M)


def run_test(spec, backend):
    """-> (ok, seconds, why, output). hv86-run keeps the Bochs log of a run that
    ended in 118/120/122/124; a test that passed (oob, triple expect 120) does not
    need it, so its folder is removed here."""
    ok, secs, why, out = _run_test(spec, backend)
    if ok:
        for path in KEPT_RE.findall(out):
            folder = os.path.dirname(path)
            if os.path.basename(folder).startswith("hv86-run."):
                shutil.rmtree(folder, ignore_errors=True)
    return ok, secs, why, out


def _run_test(spec, backend):
    limit = spec.timeout_for(backend) + HARD_MARGIN
    rc, out, secs = run_cmd(hv86_cmd(spec, backend), limit)
    if rc is None:
        return False, secs, "hv86-run itself hung (killed after %gs)" % limit, out
    if rc != spec.status:
        return False, secs, "status %d, want %d" % (rc, spec.status), out
    why = check_patterns(spec, backend, out)
    if why:
        return False, secs, why, out
    if spec.kind == "compare":
        return compare(spec, backend, out, secs)
    return True, secs, None, out


def compare(spec, backend, hv_out, hv_secs):
    """Run the same guest directly under QEMU and compare lines and status."""
    try:
        o = lib.parse_args(spec.args)
    except lib.UsageError as e:
        return False, hv_secs, "compare: bad hv86-run arguments: %s" % e, hv_out
    if o.kernel is None:
        return False, hv_secs, "compare needs a KERNEL, not --config", hv_out
    vm = lib.vm_name_for(o.kernel)
    mods = [(f, lib.module_name_for(f)) for f in o.initrd]
    tmp = tempfile.mkdtemp(prefix="hv86-compare.")
    try:
        cwd, names = lib.link_modules(tmp, mods)
        cmd = ["qemu-system-x86_64", "-accel", "tcg", "-cpu", lib.QEMU_SVM_CPU,
               "-m", "%d" % (o.mem or lib.DEFAULT_MEM_MIB),
               "-smp", "%d" % (o.smp or 1),
               "-kernel", os.path.join(REPO, o.kernel), "-append", o.append or "",
               "-serial", "stdio", "-display", "none", "-nodefaults", "-no-reboot",
               "-device", "isa-debug-exit,iobase=0xf4,iosize=0x4"]
        if names:
            cmd += ["-initrd", lib.qemu_initrd_arg(names)]
        rc, q_out, q_secs = run_cmd(cmd, spec.timeout_for(backend), cwd=cwd)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    secs = hv_secs + q_secs
    if rc is None:
        return False, secs, "compare: the guest alone under QEMU did not end " \
            "within %gs" % spec.timeout_for(backend), hv_out
    hv_status = spec.status
    if rc != hv_status:
        return False, secs, "compare: status %d under hv86, %d under QEMU alone" % (
            hv_status, rc), hv_out + "\n--- QEMU alone ---\n" + q_out
    a = drop_lines(guest_lines_direct(q_out), spec.ignore)
    b = drop_lines(guest_lines_hv86(hv_out, vm), spec.ignore)
    diff = first_difference(a, b)
    if diff:
        return False, secs, "compare: guest output differs at " + diff, \
            hv_out + "\n--- QEMU alone ---\n" + q_out
    return True, secs, None, hv_out


# --- unit tests --------------------------------------------------------------------------

CMOCKA_RUN = re.compile(r"^\[ RUN      \] (\S+)")
CMOCKA_RES = re.compile(r"^\[\s*(OK|FAILED|SKIPPED|ERROR)\s*\] (\S+)\s*$")


def parse_cmocka(text):
    """cmocka's standard output -> {test name: OK | FAILED | SKIPPED | ERROR}, each
    result taken from the line that follows its RUN (not from the summary)."""
    results = {}
    current = None
    for line in text.splitlines():
        m = CMOCKA_RUN.match(line)
        if m:
            current = m.group(1)
            continue
        m = CMOCKA_RES.match(line)
        if m and current is not None and m.group(2) == current:
            results[current] = m.group(1)
            current = None
    return results, current


def unit_binaries():
    if not os.path.isdir(UNIT_DIR):
        return []
    out = []
    for n in sorted(os.listdir(UNIT_DIR)):
        p = os.path.join(UNIT_DIR, n)
        if n.startswith("test_") and "." not in n and os.path.isfile(p) \
                and os.access(p, os.X_OK):
            out.append(p)
    return out


def run_unit_binary(path, counts, report):
    env = dict(os.environ, CMOCKA_MESSAGE_OUTPUT="stdout")
    t0 = time.monotonic()
    try:
        p = subprocess.run([path], stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                           stderr=subprocess.STDOUT, env=env, timeout=600)
        rc, text = p.returncode, p.stdout.decode("utf-8", "replace")
    except subprocess.TimeoutExpired as e:
        rc, text = None, (e.stdout or b"").decode("utf-8", "replace")
    secs = time.monotonic() - t0
    name = "unit/" + os.path.basename(path)
    results, unfinished = parse_cmocka(text)
    passed = sum(1 for r in results.values() if r == "OK")
    failed = [t for t, r in results.items() if r in ("FAILED", "ERROR")]
    skipped = sum(1 for r in results.values() if r == "SKIPPED")
    if unfinished is not None:
        failed.append(unfinished + " (did not finish)")
    if rc != 0 and not failed:
        failed.append("(exit status %s)" % rc)
    counts["passed"] += passed
    counts["failed"] += len(failed)
    counts["skipped"] += skipped
    if failed:
        report("FAIL %s (%.1fs): %s\n%s" % (name, secs, ", ".join(failed), tail(text, 30)))
    else:
        report("PASS %s: %d tests (%.1fs)" % (name, passed, secs))


def run_layer_check(counts, report):
    """scripts/check-layers on this tree: one test, its summary line on a pass."""
    name = "layers/check-layers"
    rc, text, secs = run_cmd([sys.executable, CHECK_LAYERS], 300)
    if rc == 0:
        counts["passed"] += 1
        last = text.strip().splitlines()[-1] if text.strip() else ""
        report("PASS %s (%.1fs): %s" % (name, secs, last))
    else:
        counts["failed"] += 1
        why = "killed after 300s" if rc is None else "exit status %d" % rc
        report("FAIL %s (%.1fs): %s\n%s" % (name, secs, why, tail(text, 40)))


def run_launcher_tests(counts, report):
    run_python_tests("unit/test_launcher", HERE, "test_launcher.py", counts, report)


def run_python_tests(name, folder, pattern, counts, report):
    """The unittest tests of folder/pattern, run here; each test counts."""
    t0 = time.monotonic()
    suite = unittest.defaultTestLoader.discover(folder, pattern=pattern,
                                                top_level_dir=folder)
    stream = io.StringIO()
    result = unittest.TextTestRunner(stream=stream, verbosity=1).run(suite)
    secs = time.monotonic() - t0
    bad = len(result.failures) + len(result.errors) + len(result.unexpectedSuccesses)
    skipped = len(result.skipped)
    counts["passed"] += result.testsRun - bad - skipped
    counts["failed"] += bad
    counts["skipped"] += skipped
    if bad:
        names = [str(t) for t, _ in result.failures + result.errors]
        report("FAIL %s (%.1fs): %s\n%s" % (
            name, secs, ", ".join(names), tail(stream.getvalue(), 40)))
    else:
        report("PASS %s: %d tests (%.1fs)" % (name, result.testsRun - skipped, secs))


# --- main ----------------------------------------------------------------------------------

def main(argv=None):
    ap = argparse.ArgumentParser(description="hv86 unit and system tests")
    ap.add_argument("--tier", choices=("fast", "all"), default="all")
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--filter", default=None, help="regex on test names")
    ap.add_argument("--list", action="store_true", help="list the tests, run none")
    a = ap.parse_args(argv)
    if a.jobs < 1:
        ap.error("--jobs must be at least 1")
    try:
        flt = re.compile(a.filter) if a.filter else None
    except re.error as e:
        ap.error("--filter: %s" % e)

    with open(TESTS_LIST) as f:
        try:
            specs = parse_list(f.read(), os.path.relpath(TESTS_LIST, REPO))
        except ListError as e:
            print("tests.list: %s" % e)
            print("0 passed, 1 failed, 0 skipped")
            return 1
    system = [t for t in expand(specs, a.tier) if not flt or flt.search(t[0])]
    units = [p for p in unit_binaries()
             if not flt or flt.search("unit/" + os.path.basename(p))]
    launcher = not flt or bool(flt.search("unit/test_launcher"))
    layer_check = not flt or bool(flt.search("layers/check-layers"))
    layer_tests = not flt or bool(flt.search("layers/test_check_layers"))

    if a.list:
        if layer_check:
            print("layers/check-layers")
        if layer_tests:
            print("layers/test_check_layers")
        for p in units:
            print("unit/%s" % os.path.basename(p))
        if launcher:
            print("unit/test_launcher")
        for tid, s, b in system:
            print("%-28s %-4s %5gs  status %d" % (tid, s.tier, s.timeout_for(b), s.status))
        return 0

    counts = {"passed": 0, "failed": 0, "skipped": 0}
    lock = threading.Lock()

    def report(line):
        with lock:
            print(line, flush=True)

    t0 = time.monotonic()
    if layer_check:
        run_layer_check(counts, report)
    if layer_tests:
        run_python_tests("layers/test_check_layers", LAYERS_TESTS,
                         "test_check_layers.py", counts, report)
    for p in units:
        run_unit_binary(p, counts, report)
    if launcher:
        run_launcher_tests(counts, report)

    kvm = lib.detect_kvm()
    todo = []
    for tid, s, b in system:
        why = skip_reason(b, kvm, s)
        if why:
            report("SKIP %s: %s" % (tid, why))
            counts["skipped"] += 1
        else:
            todo.append((tid, s, b))

    # Longest first (by timeout): the Bochs Linux boots take minutes, and started
    # last they would leave the other worker idle at the end.
    todo.sort(key=lambda t: -t[1].timeout_for(t[2]))

    def one(item):
        tid, s, b = item
        try:
            ok, secs, why, out = run_test(s, b)
        except Exception as e:      # a runner bug must show as a failure, not a crash
            ok, secs, why, out = False, 0.0, "runner error: %r" % (e,), ""
        with lock:
            if ok:
                counts["passed"] += 1
                print("PASS %s (%.1fs)" % (tid, secs), flush=True)
            else:
                counts["failed"] += 1
                print("FAIL %s (%.1fs): %s\n%s" % (tid, secs, why, tail(out)), flush=True)

    ex = concurrent.futures.ThreadPoolExecutor(max_workers=a.jobs)
    try:
        for f in concurrent.futures.as_completed([ex.submit(one, t) for t in todo]):
            f.result()
        ex.shutdown()
    except KeyboardInterrupt:
        ex.shutdown(wait=False, cancel_futures=True)
        kill_all()
        print("interrupted", flush=True)
        print("%d passed, %d failed, %d skipped" % (
            counts["passed"], counts["failed"] + 1, counts["skipped"]))
        return 130

    total = counts["passed"] + counts["failed"] + counts["skipped"]
    if total == 0:
        print("no test selected%s" % (" by --filter %s" % a.filter if a.filter else ""))
        print("0 passed, 0 failed, 0 skipped")
        return 1
    print("(%.0fs)" % (time.monotonic() - t0))
    print("%d passed, %d failed, %d skipped" % (
        counts["passed"], counts["failed"], counts["skipped"]))
    return 1 if counts["failed"] else 0


def _sigterm(signum, frame):
    raise KeyboardInterrupt()


if __name__ == "__main__":
    signal.signal(signal.SIGTERM, _sigterm)
    sys.exit(main())

"""Unit tests of tools/hv86-run (tools/hv86run_lib.py) and of the runner's parsers.

    python3 -m unittest tests/system/test_launcher.py     (or via runner.py)

No emulator is started here: the status mapping, the watcher, config scanning,
command lines and bad usage are all tested without one.
"""

import contextlib
import io
import os
import subprocess
import sys
import tempfile
import unittest
from unittest import mock

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(REPO, "tools"))
sys.path.insert(0, HERE)
import hv86run_lib as lib  # noqa: E402
import runner  # noqa: E402

HV86_RUN = os.path.join(REPO, "tools", "hv86-run")


class TempDirCase(unittest.TestCase):
    def setUp(self):
        self._td = tempfile.TemporaryDirectory(prefix="hv86-test.")
        self.dir = self._td.name
        # A stand-in hv86 image so parse_args does not depend on the build.
        self.fake_hv86 = self.file("hv86.elf", b"\x7fELF")

    def tearDown(self):
        self._td.cleanup()

    def file(self, rel, data=b"\x7fELF"):
        p = os.path.join(self.dir, rel)
        os.makedirs(os.path.dirname(p), exist_ok=True)
        with open(p, "wb") as f:
            f.write(data)
        return p


# --- the status mapping --------------------------------------------------------------

class StatusMapping(unittest.TestCase):
    def test_halt_status_is_the_exit_status(self):
        self.assertEqual(lib.final_status(halt_status=0), 0)
        self.assertEqual(lib.final_status(halt_status=11), 11)
        self.assertEqual(lib.final_status(halt_status=120), 120)

    def test_halt_wins_over_everything(self):
        self.assertEqual(lib.final_status(halt_status=3, panic=True, timed_out=True,
                                          died=True), 3)

    def test_panic(self):
        self.assertEqual(lib.final_status(panic=True), 118)
        self.assertEqual(lib.final_status(panic=True, died=True), 118)
        self.assertEqual(lib.final_status(panic=True, timed_out=True), 118)

    def test_timeout(self):
        self.assertEqual(lib.final_status(timed_out=True), 124)

    def test_died(self):
        self.assertEqual(lib.final_status(died=True), 122)

    def test_status_fits_a_byte(self):
        self.assertEqual(lib.final_status(halt_status=256 + 7), 7)

    def test_classify_line(self):
        self.assertEqual(lib.classify_line("hv86: halt status=0"), ("halt", 0))
        self.assertEqual(lib.classify_line("hv86: halt status=11\r"), ("halt", 11))
        self.assertEqual(lib.classify_line("hv86: panic: #PF at 0x10"), ("panic", None))
        for line in ("[vm] hv86: halt status=0", "hv86: halt status=x",
                     "hv86: halt status=1 extra", " hv86: panic: x", "hv86: vm a exit 3",
                     "hv86 0.1: cpu=AuthenticAMD svm=yes"):
            self.assertIsNone(lib.classify_line(line), line)

    def test_paging_check_in_one_place(self):
        lib.check_paging("nested")
        lib.check_paging("shadow")
        with self.assertRaises(lib.UsageError):
            lib.check_paging("flat")


class FakeProc:
    def __init__(self, exits_at=None, clock=None):
        self.exits_at = exits_at
        self.clock = clock

    def poll(self):
        if self.exits_at is not None and self.clock.now >= self.exits_at:
            return 1
        return None


class FakeClock:
    def __init__(self):
        self.now = 0.0

    def __call__(self):
        return self.now

    def sleep(self, s):
        self.now += s


class Watching(unittest.TestCase):
    """watch() with a scripted console and a fake clock."""

    def run_watch(self, script, exits_at=None, timeout=10.0):
        clock = FakeClock()
        proc = FakeProc(exits_at, clock)
        pending = list(script)       # [(time, bytes)]
        shown = []

        def read_chunk():
            out = b""
            while pending and pending[0][0] <= clock.now:
                out += pending.pop(0)[1]
            return out

        w, timed_out, died = lib.watch(proc, read_chunk, shown.append, timeout,
                                       clock=clock, sleep=clock.sleep)
        st = lib.final_status(w.halt_status, w.panic_at is not None, timed_out, died)
        return st, w, b"".join(shown), clock.now

    def test_halt_line_split_across_chunks(self):
        st, w, shown, t = self.run_watch([(0.1, b"hv86 0.1: x\nhv86: ha"),
                                          (0.2, b"lt status=11\n")])
        self.assertEqual(st, 11)
        self.assertEqual(shown, b"hv86 0.1: x\nhv86: halt status=11\n")
        self.assertLess(t, 0.2 + lib.HALT_GRACE + 0.2)

    def test_emulator_powers_off_after_halt(self):
        st, w, shown, t = self.run_watch([(0.1, b"hv86: halt status=0\n")], exits_at=0.3)
        self.assertEqual(st, 0)
        self.assertLess(t, 0.5)

    def test_panic_collects_the_dump(self):
        st, w, shown, t = self.run_watch([(0.1, b"hv86: panic: boom\n"),
                                          (0.5, b"RIP=0000000000100000\n"),
                                          (5.0, b"too late\n")])
        self.assertEqual(st, 118)
        self.assertIn(b"RIP=0000000000100000", shown)
        self.assertNotIn(b"too late", shown)

    def test_died_without_result(self):
        st, w, shown, t = self.run_watch([(0.1, b"hv86 0.1: x\n"),
                                          (0.4, b"last words")], exits_at=0.4)
        self.assertEqual(st, 122)
        self.assertEqual(shown, b"hv86 0.1: x\nlast words")
        self.assertEqual(w.lines[-1], "last words")

    def test_output_drained_after_exit(self):
        # The halt line arrives in the same instant the emulator ends.
        st, w, shown, t = self.run_watch([(0.3, b"hv86: halt status=5\n")], exits_at=0.3)
        self.assertEqual(st, 5)

    def test_timeout(self):
        st, w, shown, t = self.run_watch([(0.1, b"hv86 0.1: x\n")], timeout=2.0)
        self.assertEqual(st, 124)
        self.assertGreaterEqual(t, 2.0)
        self.assertLess(t, 2.2)

    def test_panic_then_emulator_dies(self):
        st, w, shown, t = self.run_watch([(0.1, b"hv86: panic: x\n")], exits_at=0.2)
        self.assertEqual(st, 118)


# --- config scanning ------------------------------------------------------------------

CONFIG = """
# two VMs
[vm hello]
kernel  = hello.elf
module  = data.bin      # repeatable
module  = sub/more.bin
cmdline = a b c
memory  = 64M
cpus    = 1
paging  = nested        # nested | shadow

[vm second]
kernel = exit.elf
module = data.bin
memory = 1G
unknown = kept for hv86 to judge
"""


class ConfigScanning(TempDirCase):
    def test_parse(self):
        vms = lib.parse_config(CONFIG)
        self.assertEqual([v["name"] for v in vms], ["hello", "second"])
        self.assertEqual(vms[0]["kernel"], "hello.elf")
        self.assertEqual(vms[0]["modules"], ["data.bin", "sub/more.bin"])
        self.assertEqual(vms[0]["paging"], "nested")
        self.assertEqual(vms[1]["memory"], "1G")

    def test_comments_follow_config_md(self):
        vms = lib.parse_config("[vm a]   # c\nkernel = a#b.elf # comment\n"
                               "module=x\t# c\n#module = no\n")
        self.assertEqual(vms[0]["kernel"], "a#b.elf")
        self.assertEqual(vms[0]["modules"], ["x"])

    def test_config_memory_plain_number_is_bytes(self):
        vms = lib.parse_config("[vm a]\nmemory = 33554432\n[vm b]\nmemory = 2g\n")
        self.assertEqual(lib.config_memory_mib(vms), 32 + 2048)

    def test_files_once_each_in_order(self):
        self.assertEqual(lib.config_files(lib.parse_config(CONFIG)),
                         ["hello.elf", "data.bin", "sub/more.bin", "exit.elf"])

    def test_memory(self):
        vms = lib.parse_config(CONFIG)
        self.assertEqual(lib.config_memory_mib(vms), 64 + 1024)
        self.assertEqual(lib.machine_memory_mib(64 + 1024), 64 + 1024 + 256)
        self.assertEqual(lib.machine_memory_mib(64), 512)
        self.assertEqual(lib.config_memory_mib(lib.parse_config("[vm a]\n")), 64)

    def test_memory_within_the_emulator(self):
        # Issue 28: one VM with memory = 64G must not stop the emulator, so the
        # machine holds only the VMs that fit; hv86 refuses the others itself.
        vms = lib.parse_config("[vm a]\nmemory = 16M\n[vm big]\nmemory = 64G\n"
                               "[vm c]\nmemory = 1G\n[vm d]\nmemory = 2G\n")
        self.assertEqual(lib.config_vm_mibs(vms), [16, 65536, 1024, 2048])
        self.assertEqual(lib.machine_memory_mib(lib.config_vm_mibs(vms), 2048),
                         256 + 16 + 1024)
        self.assertEqual(lib.machine_memory_mib(lib.config_vm_mibs(vms), 8192),
                         256 + 16 + 1024 + 2048)
        self.assertEqual(lib.machine_memory_mib([16], 2048), 512)
        self.assertEqual(lib.machine_memory_mib([65536], 2048), 512)
        self.assertEqual(lib.machine_memory_mib([1792], 2048), 2048)
        self.assertLessEqual(lib.machine_limit_mib("vmx"), 2048)
        self.assertLessEqual(lib.machine_limit_mib("svm"), 8192)
        self.assertGreaterEqual(lib.machine_limit_mib("svm"), 512)
        self.assertEqual(lib.config_vm_mibs(lib.parse_config("[vm a]\nmemory = lots\n")), [64])

    def test_resolve_config_folder_then_guests(self):
        cdir = os.path.join(self.dir, "cfg")
        gdir = os.path.join(self.dir, "guests")
        here = self.file("cfg/data.bin")
        both_cfg = self.file("cfg/hello.elf")
        self.file("guests/hello.elf")
        guest = self.file("guests/exit.elf")
        self.assertEqual(lib.resolve_config_file("data.bin", cdir, gdir), here)
        self.assertEqual(lib.resolve_config_file("hello.elf", cdir, gdir), both_cfg)
        self.assertEqual(lib.resolve_config_file("exit.elf", cdir, gdir), guest)
        self.assertIsNone(lib.resolve_config_file("nope.bin", cdir, gdir))
        self.assertEqual(lib.resolve_config_file(guest, cdir, "/nonexistent"), guest)
        ldir = os.path.dirname(self.file("linux/vmlinuz"))
        self.assertEqual(lib.resolve_config_file("vmlinuz", cdir, gdir, ldir),
                         os.path.join(ldir, "vmlinuz"))
        self.assertIsNone(lib.resolve_config_file("vmlinuz", cdir, gdir, "/nonexistent"))

    def test_missing_file_in_config_is_not_a_usage_error(self):
        self.file("cfg/hello.elf")
        self.file("cfg/data.bin")
        cfg = self.file("cfg/two.cfg", CONFIG.encode())
        o = lib.parse_args(["--hv86", self.fake_hv86, "--config", cfg])
        plan = lib.plan_from_options(o)
        names = [n for _, n in plan.modules]
        self.assertIn("hello.elf", names)
        self.assertIn("data.bin", names)
        self.assertNotIn("sub/more.bin", names)
        self.assertTrue(any("sub/more.bin" in w for w in plan.warnings))
        self.assertEqual(plan.cfg_text, CONFIG)     # passed as written

    def test_config_name_that_cannot_be_passed(self):
        self.file("cfg/a b.bin")
        cfg = self.file("cfg/x.cfg", b"[vm x]\nkernel = a'b.bin\nmodule = a\\b\n")
        self.file("cfg/a'b.bin")
        o = lib.parse_args(["--hv86", self.fake_hv86, "--config", cfg])
        with self.assertRaises(lib.UsageError):
            lib.plan_from_options(o)

    def test_one_kernel_makes_a_config(self):
        k = self.file("guests/my-guest.v2.elf")
        d = self.file("data one.bin")
        o = lib.parse_args(["--hv86", self.fake_hv86, "--mem", "128M", "--smp", "2",
                            "--append", "exit=5 x=y", "--initrd", d, k])
        plan = lib.plan_from_options(o)
        self.assertEqual(plan.modules, [(k, "my-guest.v2.elf"), (d, "data_one.bin")])
        self.assertEqual(plan.vm_mem_mib, 128)
        vms = lib.parse_config(plan.cfg_text)
        self.assertEqual(len(vms), 1)
        self.assertEqual(vms[0]["name"], "my-guest.v2")
        self.assertEqual(vms[0]["kernel"], "my-guest.v2.elf")
        self.assertEqual(vms[0]["modules"], ["data_one.bin"])
        self.assertEqual(vms[0]["memory"], "128M")
        self.assertEqual(vms[0]["cpus"], "2")
        self.assertIn("cmdline = exit=5 x=y\n", plan.cfg_text)

    def test_cpu_becomes_a_config_line(self):
        k = self.file("k.elf")
        o = lib.parse_args(["--hv86", self.fake_hv86, "--cpu", "host, -avx2,-pcid", k])
        self.assertEqual(o.cpu, "host,-avx2,-pcid")
        plan = lib.plan_from_options(o)
        self.assertIn("cpu     = host,-avx2,-pcid\n", plan.cfg_text)
        plan = lib.plan_from_options(lib.parse_args(["--hv86", self.fake_hv86, k]))
        self.assertNotIn("cpu ", plan.cfg_text)           # the default: host
        for bad in ("max", "host,avx2", "host,-", "host,-AVX", "host;-avx", "host,-a b"):
            with self.assertRaisesRegex(lib.UsageError, r"--cpu"):
                lib.parse_args(["--hv86", self.fake_hv86, "--cpu", bad, k])
        cfg = self.file("x.cfg", b"[vm x]\nkernel = k.elf\nmemory = 1M\n")
        with self.assertRaisesRegex(lib.UsageError, r"--config FILE cannot be combined"):
            lib.parse_args(["--hv86", self.fake_hv86, "--cpu", "host", "--config", cfg])

    def test_defaults(self):
        k = self.file("hello.elf")
        plan = lib.plan_from_options(lib.parse_args(["--hv86", self.fake_hv86, k]))
        vm = lib.parse_config(plan.cfg_text)[0]
        # 128M as QEMU's -m default, so an image boots with the RAM it gets there.
        self.assertEqual((vm["memory"], vm["cpus"], vm["paging"]), ("128M", "1", "nested"))

    def test_duplicate_module_names(self):
        k = self.file("a/x.elf")
        i = self.file("b/x.elf")
        o = lib.parse_args(["--hv86", self.fake_hv86, "--initrd", i, k])
        with self.assertRaises(lib.UsageError):
            lib.plan_from_options(o)


def bzimage(**over):
    """A minimal bzImage header (protocol 2.15, 64-bit entry) as bytes."""
    import struct
    img = bytearray(0x1000)
    img[0x1F1] = 1
    img[0x1FE:0x200] = b"\x55\xaa"
    img[0x202:0x206] = b"HdrS"
    struct.pack_into("<H", img, 0x206, over.get("version", 0x020F))
    img[0x211] = over.get("loadflags", 1)
    struct.pack_into("<H", img, 0x236, over.get("xloadflags", 1))
    if "setup_sects" in over:
        img[0x1F1] = over["setup_sects"]
    return bytes(img[:over.get("size", len(img))])


class KernelImage(TempDirCase):
    def test_accepted_kinds(self):
        self.assertIsNone(lib.kernel_image_problem(b"\x7fELF" + bytes(60)))
        mb = bytearray(64)
        mb[8:20] = (0x1BADB002).to_bytes(4, "little") + (0x10000).to_bytes(4, "little") + \
            ((-(0x1BADB002 + 0x10000)) & 0xFFFFFFFF).to_bytes(4, "little")
        self.assertIsNone(lib.kernel_image_problem(bytes(mb)))
        self.assertIsNone(lib.kernel_image_problem(bzimage()))

    def test_refused_with_the_reason(self):
        cases = [
            (b"just text\n", "neither an ELF"),
            (bzimage(size=0x240), "truncated"),
            (bzimage()[:0x202] + b"HdrZ" + bzimage()[0x206:], "HdrS"),
            (bzimage(version=0x020B), "older than 2.12"),
            (bzimage(loadflags=0), "LOADED_HIGH"),
            (bzimage(xloadflags=0), "XLF_KERNEL_64"),
            (bzimage(setup_sects=200), "setup_sects"),
        ]
        for data, why in cases:
            self.assertIn(why, lib.kernel_image_problem(data))

    def test_bad_kernel_is_a_usage_error_naming_the_file(self):
        k = self.file("notes.txt", b"not a kernel")
        with self.assertRaises(lib.UsageError) as cm:
            lib.parse_args(["--hv86", self.fake_hv86, k])
        self.assertIn("KERNEL %s: neither" % k, str(cm.exception))

    def test_bzimage_initrd_is_a_module(self):
        k = self.file("vmlinuz", bzimage())
        i = self.file("initramfs.cpio.gz")
        o = lib.parse_args(["--hv86", self.fake_hv86, "--append", "quiet", "--initrd", i, k])
        plan = lib.plan_from_options(o)
        self.assertEqual(plan.modules, [(k, "vmlinuz"), (i, "initramfs.cpio.gz")])
        vm = lib.parse_config(plan.cfg_text)[0]
        self.assertEqual(vm["modules"], ["initramfs.cpio.gz"])


class Names(unittest.TestCase):
    def test_vm_name(self):
        self.assertEqual(lib.vm_name_for("build/guests/hello.elf"), "hello")
        self.assertEqual(lib.vm_name_for("/x/long64.elf"), "long64")
        self.assertEqual(lib.vm_name_for("a/b c+d.elf"), "b_c_d")
        self.assertEqual(lib.vm_name_for("a/x.v2.elf"), "x.v2")
        self.assertEqual(lib.vm_name_for("noext"), "noext")
        self.assertEqual(lib.vm_name_for("x/.elf"), "elf")
        self.assertEqual(len(lib.vm_name_for("a" * 100 + ".elf")), 31)

    def test_sizes(self):
        self.assertEqual(lib.parse_size_mib("64M"), 64)
        self.assertEqual(lib.parse_size_mib("64m"), 64)
        self.assertEqual(lib.parse_size_mib("1G"), 1024)
        self.assertEqual(lib.parse_size_mib("1GiB"), 1024)
        self.assertEqual(lib.parse_size_mib("128"), 128)
        self.assertEqual(lib.parse_size_mib("1536K"), 2)
        for bad in ("", "M", "-1M", "0", "12X", "1.5G"):
            with self.assertRaises(ValueError, msg=bad):
                lib.parse_size_mib(bad)

    def test_passable_names(self):
        for ok in ("hello.elf", "sub/dir/x.bin", "../x", "a,b", "/abs/p"):
            lib.check_passable_name(ok)
        for bad in ("", "a b", "a'b", 'a"b', "a\\b", "a#b", "x" * 64):
            with self.assertRaises(lib.UsageError, msg=bad):
                lib.check_passable_name(bad)


# --- emulator command lines ------------------------------------------------------------

class CommandLines(TempDirCase):
    def test_qemu_svm(self):
        cmd = lib.qemu_command("svm", "/r/build/hv86.elf", ["hello.elf", "a,b", "hv86.cfg"],
                               576, 2)
        self.assertEqual(cmd[0], "qemu-system-x86_64")
        s = " ".join(cmd)
        self.assertIn("-accel tcg", s)
        cpu = cmd[cmd.index("-cpu") + 1]
        for flag in ("+svm", "+npt", "+xsave", "+pdpe1gb", "+smep", "+smap"):
            self.assertIn(flag, cpu.split(","))
        self.assertTrue(cpu.startswith("EPYC,"))
        self.assertEqual(cmd[cmd.index("-m") + 1], "576")
        self.assertEqual(cmd[cmd.index("-smp") + 1], "2")
        self.assertEqual(cmd[cmd.index("-kernel") + 1], "/r/build/hv86.elf")
        self.assertEqual(cmd[cmd.index("-append") + 1], "hv86.poweroff=1")
        self.assertEqual(cmd[cmd.index("-initrd") + 1], "hello.elf,a,,b,hv86.cfg")
        for opt in ("-nodefaults", "-no-reboot"):
            self.assertIn(opt, cmd)
        self.assertIn("isa-debug-exit,iobase=0xf4,iosize=0x4", cmd)
        self.assertEqual(cmd[cmd.index("-display") + 1], "none")

    def test_qemu_kvm(self):
        cmd = lib.qemu_command("kvm", "/h", ["hv86.cfg"], 512, 1)
        self.assertIn("kvm", cmd[cmd.index("-accel") + 1])
        self.assertEqual(cmd[cmd.index("-cpu") + 1], "host")

    def test_bochsrc(self):
        rc = lib.bochsrc_text("/t/hv86.iso", "/t/serial.out", "/t/bochs.log", 768, 2)
        self.assertIn("cpu: model=corei7_skylake_x, count=2, ips=50000000, "
                      "reset_on_triple_fault=0\n", rc)
        self.assertIn("memory: guest=768, host=768\n", rc)
        self.assertIn("clock: sync=none", rc)
        self.assertIn("com1: enabled=1, mode=file, dev=/t/serial.out\n", rc)
        self.assertIn('display_library: rfb, options="timeout=0"', rc)
        self.assertIn("ata0-master: type=cdrom, path=/t/hv86.iso", rc)
        self.assertIn("log: /t/bochs.log\n", rc)
        self.assertIn("sound: waveoutdrv=dummy", rc)

    def test_link_modules_name_equals_path(self):
        a = self.file("src/a.elf")
        b = self.file("src/b.bin")
        c = self.file("src/c.bin")
        root = os.path.join(self.dir, "w")
        cwd, names = lib.link_modules(root, [(a, "a.elf"), (b, "sub/b.bin"),
                                             (c, "../up/c.bin")])
        self.assertEqual(names, ["a.elf", "sub/b.bin", "../up/c.bin"])
        for n, src in zip(names, (a, b, c)):
            p = os.path.normpath(os.path.join(cwd, n))
            self.assertTrue(p.startswith(root + os.sep), p)
            self.assertEqual(os.path.realpath(p), os.path.realpath(src))


class BackendChoice(unittest.TestCase):
    def fake_fs(self, files, dev=True):
        def read(p):
            return files.get(p)
        return dict(read=read, exists=lambda p: dev, access=lambda p, m: dev)

    def test_no_dev_kvm(self):
        ok, why = lib.detect_kvm(**self.fake_fs({}, dev=False))
        self.assertFalse(ok)
        self.assertIn("/dev/kvm", why)

    def test_nested_intel(self):
        fs = self.fake_fs({"/proc/cpuinfo": "flags\t\t: fpu vmx lm\n",
                           "/sys/module/kvm_intel/parameters/nested": "Y\n"})
        self.assertTrue(lib.detect_kvm(**fs)[0])

    def test_nested_off(self):
        fs = self.fake_fs({"/proc/cpuinfo": "flags\t\t: fpu svm lm\n",
                           "/sys/module/kvm_amd/parameters/nested": "0\n"})
        ok, why = lib.detect_kvm(**fs)
        self.assertFalse(ok)
        self.assertIn("nested=0", why)

    def test_nested_but_no_cpu_flag(self):
        fs = self.fake_fs({"/proc/cpuinfo": "flags\t\t: fpu lm hypervisor\n",
                           "/sys/module/kvm_amd/parameters/nested": "1\n"})
        self.assertFalse(lib.detect_kvm(**fs)[0])

    def test_choose(self):
        self.assertEqual(lib.choose_backend("svm", (True, ""))[0], "svm")
        self.assertEqual(lib.choose_backend("vmx", (True, ""))[0], "vmx")
        self.assertEqual(lib.choose_backend("auto", (True, "ok"))[0], "kvm")
        b, note = lib.choose_backend("auto", (False, "no /dev/kvm"))
        self.assertEqual(b, "svm")
        self.assertIn("no /dev/kvm", note)


# --- bad usage ---------------------------------------------------------------------------

class BadUsage(TempDirCase):
    def main(self, *args):
        err = io.StringIO()
        out = io.StringIO()
        with contextlib.redirect_stderr(err), contextlib.redirect_stdout(out):
            st = lib.main(list(args))
        return st, err.getvalue()

    def assertUsage(self, args, message):
        st, err = self.main(*args)
        self.assertEqual(st, 2, err)
        self.assertRegex(err, message)

    def test_unknown_backend(self):
        k = self.file("k.elf")
        self.assertUsage(["--hv86", self.fake_hv86, "--backend", "nosuch", k],
                         r"--backend nosuch: unknown backend")

    def test_unknown_option(self):
        self.assertUsage(["--frobnicate", "x"], r"unknown option --frobnicate")
        self.assertUsage(["-x", "k"], r"unknown option -x")

    def test_missing_kernel(self):
        self.assertUsage(["--hv86", self.fake_hv86, os.path.join(self.dir, "nope.elf")],
                         r"KERNEL .*nope\.elf: no such file")

    def test_no_kernel(self):
        self.assertUsage(["--hv86", self.fake_hv86], r"no KERNEL")

    def test_two_kernels(self):
        a, b = self.file("a.elf"), self.file("b.elf")
        self.assertUsage(["--hv86", self.fake_hv86, a, b], r"one KERNEL only")

    def test_unreadable_kernel(self):
        k = self.file("k.elf")
        real_access = os.access
        # Root reads every file whatever its mode: pretend this one is unreadable.
        with mock.patch.object(lib.os, "access",
                               lambda p, m: False if p == k else real_access(p, m)):
            self.assertUsage(["--hv86", self.fake_hv86, k], r"k\.elf: not readable")

    def test_missing_initrd(self):
        k = self.file("k.elf")
        self.assertUsage(["--hv86", self.fake_hv86, "--initrd",
                          os.path.join(self.dir, "gone.bin"), k],
                         r"--initrd .*gone\.bin: no such file")

    def test_missing_config(self):
        self.assertUsage(["--hv86", self.fake_hv86, "--config",
                          os.path.join(self.dir, "gone.cfg")],
                         r"--config .*gone\.cfg: no such file")

    def test_config_with_kernel(self):
        k, c = self.file("k.elf"), self.file("c.cfg")
        self.assertUsage(["--hv86", self.fake_hv86, "--config", c, k], r"cannot be combined")
        self.assertUsage(["--hv86", self.fake_hv86, "--config", c, "--mem", "1G"],
                         r"cannot be combined")

    def test_unknown_paging(self):
        k = self.file("k.elf")
        self.assertUsage(["--hv86", self.fake_hv86, "--paging", "flat", k],
                         r"--paging flat: unknown paging mode")

    def test_no_nested_paging_cpu_models(self):
        o = lib.parse_args(["--no-nested-paging", self.file("k.elf")])
        self.assertTrue(o.no_nested_paging)
        cmd = lib.qemu_command("svm", "hv86.elf", ["hv86.cfg"], 64, 1, no_nested_paging=True)
        self.assertIn("-npt", cmd[cmd.index("-cpu") + 1].split(","))
        self.assertIn("cpu: model=" + lib.BOCHS_CPU_MODEL_NO_EPT,
                      lib.bochsrc_text("x.iso", "s", "l", 64, 1, no_nested_paging=True))

    def test_bad_values(self):
        k = self.file("k.elf")
        for args, msg in ((["--mem", "lots"], r"--mem lots"),
                          (["--smp", "0"], r"--smp 0"),
                          (["--host-cpus", "x"], r"--host-cpus x"),
                          (["--timeout", "-1"], r"--timeout -1"),
                          (["--append", "a # b"], r"--append"),
                          (["--append", "#b"], r"--append"),
                          (["--append", "a\nb"], r"--append"),
                          (["--append", "x" * 256], r"--append"),
                          (["--timeout"], r"needs a value")):
            self.assertUsage(["--hv86", self.fake_hv86] + args + ([k] if len(args) > 1 else []),
                             msg)

    def test_missing_hv86_image(self):
        k = self.file("k.elf")
        self.assertUsage(["--hv86", os.path.join(self.dir, "no-hv86.elf"), k],
                         r"hv86 image .*: no such file")

    def test_append_kept(self):
        k = self.file("k.elf")
        o = lib.parse_args(["--hv86", self.fake_hv86, "--append", " a#b  c=d ", k])
        self.assertEqual(o.append, "a#b  c=d")

    def test_equals_form(self):
        k = self.file("k.elf")
        o = lib.parse_args(["--hv86=" + self.fake_hv86, "--backend=vmx", "--mem=1G", k])
        self.assertEqual((o.backend, o.mem), ("vmx", 1024))

    def test_the_script_itself(self):
        # The executable exits 2 too (not only main()).
        p = subprocess.run([sys.executable, HV86_RUN, "--backend", "nosuch", "k.elf"],
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        self.assertEqual(p.returncode, 2)
        self.assertIn(b"--backend nosuch", p.stderr)
        p = subprocess.run([sys.executable, HV86_RUN, "--backend", "svm",
                            os.path.join(self.dir, "missing.elf")],
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        self.assertEqual(p.returncode, 2)
        self.assertIn(b"missing.elf: no such file", p.stderr)


# --- the runner's parsers ---------------------------------------------------------------

class RunnerParsing(unittest.TestCase):
    def test_tests_list_parses(self):
        with open(runner.TESTS_LIST) as f:
            specs = runner.parse_list(f.read())
        names = [s.name for s in specs]
        self.assertIn("banner", names)
        self.assertEqual(len(names), len(set(names)))

    def test_line_format(self):
        specs = runner.parse_list(
            "run t svm,vmx slow 60 11 'expect=^a b$' 'reject.vmx=x' -- --append 'exit=5' k.elf\n"
            "# comment\n\n"
            "compare c svm fast 30 1 -- k.elf\n")
        t = specs[0]
        self.assertEqual((t.kind, t.name, t.backends, t.tier, t.timeout, t.status),
                         ("run", "t", ["svm", "vmx"], "slow", 60.0, 11))
        self.assertEqual(t.args, ["--append", "exit=5", "k.elf"])
        self.assertEqual([(b, r.pattern) for b, r in t.expect], [(None, "^a b$")])
        self.assertEqual([(b, r.pattern) for b, r in t.reject], [("vmx", "x")])
        ids = [i for i, _, _ in runner.expand(specs, "all")]
        self.assertEqual(ids, ["t[svm]", "t[vmx]", "c[svm]"])
        self.assertEqual([i for i, _, _ in runner.expand(specs, "fast")], ["c[svm]"])

    def test_timeout_per_backend(self):
        t = runner.parse_list("run t svm,vmx slow svm=60,vmx=420 11 -- k.elf\n")[0]
        self.assertEqual((t.timeout_for("svm"), t.timeout_for("vmx"), t.timeout),
                         (60.0, 420.0, 420.0))
        self.assertIn("--timeout", runner.hv86_cmd(t, "vmx"))
        self.assertEqual(runner.hv86_cmd(t, "vmx")[-3:], ["--timeout", "420", "k.elf"])
        for bad in ("run t svm,vmx slow svm=60 11 -- k",          # vmx has none
                    "run t svm slow svm=60,vmx=9 11 -- k",        # vmx not run
                    "run t svm slow svm=sixty 11 -- k"):
            with self.assertRaises(runner.ListError, msg=bad):
                runner.parse_list(bad)

    def test_kvm_unit_tests_skip_without_build(self):
        plain = runner.parse_list("run h svm fast 60 1 -- build/guests/hello.elf\n")[0]
        kvm = (True, "")
        old = runner.KUT_DIR
        try:
            runner.KUT_DIR = "build/no-such-kvm-unit-tests/"
            spec = runner.parse_list(
                "run k svm slow 60 1 -- build/no-such-kvm-unit-tests/x86/smap.flat\n")[0]
            self.assertIn("kvm-unit-tests", runner.skip_reason("svm", kvm, spec))
            self.assertIsNone(runner.skip_reason("svm", kvm, plain))
        finally:
            runner.KUT_DIR = old

    def test_bad_lines(self):
        for bad in ("run t svm fast 60 0 k.elf",            # no --
                    "walk t svm fast 60 0 -- k",             # kind
                    "run t svm,xen fast 60 0 -- k",           # backend
                    "run t svm quick 60 0 -- k",              # tier
                    "run t svm fast sixty 0 -- k",            # timeout
                    "run t svm fast 60 0 'expect=(' -- k",    # regex
                    "run t svm fast 60 0 'want=x' -- k",      # pattern kind
                    "compare t - fast 60 0 -- k",             # compare without backends
                    "run t svm fast 60 0 'ignore=x' -- k",    # ignore outside compare
                    "compare t svm fast 60 0 'ignore.svm=x' -- k",
                    "run t svm fast 60 0 -- k\nrun t vmx fast 60 0 -- k"):  # twice
            with self.assertRaises(runner.ListError, msg=bad):
                runner.parse_list(bad)

    def test_patterns(self):
        spec = runner.parse_list("run t svm,vmx fast 1 0 'expect=^hv86 0\\.1:' "
                                 "'expect.vmx=vmx=yes' 'reject=^hv86: panic' -- k")[0]
        self.assertIsNone(runner.check_patterns(spec, "svm", "x\nhv86 0.1: svm=yes\n"))
        self.assertIn("vmx=yes", runner.check_patterns(spec, "vmx", "hv86 0.1: svm=yes\n"))
        self.assertIn("panic", runner.check_patterns(spec, "svm",
                                                     "hv86 0.1:\nhv86: panic: x\n"))
        self.assertIn("lacks", runner.check_patterns(spec, "svm", "nothing\n"))
        # A panic fails a test that does not ask for one, whatever its patterns.
        plain = runner.parse_list("run t svm fast 1 0 'expect=^ok$' -- k")[0]
        self.assertIn("panicked", runner.check_patterns(plain, "svm", "ok\nhv86: panic: x\n"))
        self.assertIsNone(runner.check_patterns(plain, "svm", "ok\n"))
        wanted = runner.parse_list("run t svm fast 1 0 'expect=^hv86: panic: x$' -- k")[0]
        self.assertIsNone(runner.check_patterns(wanted, "svm", "hv86: panic: x\n"))

    def test_guest_lines(self):
        hv = ("hv86 0.1: cpu=x\n[hello] hello from hv86 guest\r\n[other] no\n"
              "[hello] \n[hello]\nhv86: vm hello exit 1\n[hello] PASS hello\n")
        self.assertEqual(runner.guest_lines_hv86(hv, "hello"),
                         ["hello from hv86 guest", "", "", "PASS hello"])
        self.assertEqual(runner.guest_lines_direct("a\r\nb\n"), ["a", "b"])
        self.assertIsNone(runner.first_difference(["a"], ["a"]))
        spec = runner.parse_list("compare c svm fast 1 1 'ignore=^memtest: \\d+ KiB ok$' -- k")[0]
        self.assertEqual(runner.drop_lines(["memtest: 32223 KiB ok", "PASS memtest"],
                                           spec.ignore), ["PASS memtest"])
        self.assertIn("line 2", runner.first_difference(["a", "b"], ["a"]))

    def test_cmocka_counting(self):
        out = ("[==========] Running 3 test(s).\n"
               "[ RUN      ] test_a\n[       OK ] test_a\n"
               "[ RUN      ] test_b\nsomething\n[  FAILED  ] test_b\n"
               "[ RUN      ] test_c\n[  SKIPPED ] test_c\n"
               "[==========] 3 test(s) run.\n[  PASSED  ] 1 test(s).\n"
               "[  FAILED  ] 1 test(s), listed below:\n[  FAILED  ] test_b\n"
               "\n 1 FAILED TEST(S)\n")
        res, unfinished = runner.parse_cmocka(out)
        self.assertEqual(res, {"test_a": "OK", "test_b": "FAILED", "test_c": "SKIPPED"})
        self.assertIsNone(unfinished)
        res, unfinished = runner.parse_cmocka("[ RUN      ] test_x\n==1==ERROR: ASan\n")
        self.assertEqual((res, unfinished), ({}, "test_x"))


if __name__ == "__main__":
    unittest.main()

"""hv86-run's logic: option parsing, config scanning, emulator command lines, the
serial-console watcher and the status mapping. Python 3 standard library only.

tools/hv86-run is a thin wrapper around main() here; tests/system/test_launcher.py
imports this module to test the pure parts. docs/launcher.md describes the behaviour,
docs/result-protocol.md the lines hv86 prints.
"""

import os
import re
import shutil
import signal
import struct
import subprocess
import sys
import tempfile
import time

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
GUESTS_DIR = os.path.join(REPO, "build", "guests")
LINUX_DIR = os.path.join(REPO, "build", "linux")
DISK_DIR = os.path.join(REPO, "build", "disk")
HV86_ELF = os.path.join(REPO, "build", "hv86.elf")
MKISO = os.path.join(REPO, "scripts", "mkiso")

# --- exit statuses (docs/result-protocol.md) --------------------------------------
STATUS_USAGE = 2        # bad usage of hv86-run itself
STATUS_PANIC = 118      # hv86 printed "hv86: panic:"
STATUS_STOPPED = 120    # hv86 stopped a VM itself ("hv86: vm NAME stopped: REASON")
STATUS_DIED = 122       # the emulator ended without a halt or panic line
STATUS_TIMEOUT = 124    # no halt or panic line within --timeout seconds
STATUS_INTERRUPTED = 130  # Ctrl-C / SIGTERM to hv86-run

DEFAULT_TIMEOUT = 300.0
DEFAULT_MEM_MIB = 128        # --mem's default: QEMU's -m default, so images boot alike
HV86_CONFIG_MEM_MIB = 64     # a config [vm] with no (readable) memory line: hv86 refuses
                             # it; the machine is sized as if it had this much
PANIC_GRACE = 1.0       # seconds of output collected after a panic line (the dump)
HALT_GRACE = 1.0        # seconds the emulator gets to power off by itself after halt

BACKENDS = ("svm", "vmx", "auto")
PAGING_MODES = ("nested", "shadow")
# Paging modes hv86 implements today. The single place that refuses the others.
PAGING_IMPLEMENTED = ("nested", "shadow")

# QEMU 7.2 TCG offers on EPYC everything hv86 needs (checked by CPUID: SVM with NPT
# and 16 ASIDs, XSAVE, 1 GiB pages, SMEP, SMAP); the '+' flags state that need.
# The '-' flags are those EPYC names but TCG cannot give: TCG drops them anyway with a
# warning each on stderr; turning them off keeps stderr clean and CPUID the same.
QEMU_SVM_CPU = ",".join([
    "EPYC",
    "+svm", "+npt", "+xsave", "+pdpe1gb", "+smep", "+smap",
    "-rdseed", "-sha-ni", "-fxsr-opt", "-misalignsse", "-3dnowprefetch", "-osvw",
    "-topoext", "-nrip-save", "-xsavec",
])

BOCHS_CPU_MODEL = "corei7_skylake_x"
# --no-nested-paging: a CPU without EPT/NPT, so hv86 falls back to shadow paging.
# QEMU: the same EPYC without NPT. Bochs 2.7: no model has VT-x without EPT and
# with the EFER/PAT load controls hv86 needs (core2_penryn_t9600 lacks those); the
# Nehalem model has EPT but not unrestricted guest, which hv86's EPT mode requires,
# so hv86 runs it on shadow tables (banner: vmx=yes ept=no ug=no).
QEMU_SVM_CPU_NO_NPT = QEMU_SVM_CPU.replace("+npt", "-npt")
BOCHS_CPU_MODEL_NO_EPT = "corei5_lynnfield_750"
BOCHS_IPS = 50000000


class UsageError(Exception):
    """Bad usage of hv86-run: exit STATUS_USAGE with the message."""


# --- the status mapping -------------------------------------------------------------

HALT_RE = re.compile(r"^hv86: halt status=(\d+)\s*$")
PANIC_RE = re.compile(r"^hv86: panic:")


def classify_line(line):
    """One serial line (without its newline) -> ("halt", S), ("panic", None) or None."""
    line = line.rstrip("\r")
    m = HALT_RE.match(line)
    if m:
        return ("halt", int(m.group(1)))
    if PANIC_RE.match(line):
        return ("panic", None)
    return None


def final_status(halt_status=None, panic=False, timed_out=False, died=False):
    """How a run ends -> hv86-run's exit status. The one place that maps it.

    halt_status: S of the "hv86: halt status=S" line, if one was seen; it wins over
    everything else (the run completed). panic: a "hv86: panic:" line was seen.
    timed_out: --timeout expired first. died: the emulator ended by itself.
    """
    if halt_status is not None:
        return halt_status & 0xFF
    if panic:
        return STATUS_PANIC
    if timed_out:
        return STATUS_TIMEOUT
    if died:
        return STATUS_DIED
    # Nothing ended the run (cannot happen in the watcher): treat as died.
    return STATUS_DIED


def check_paging(mode):
    """Refuse paging modes hv86 does not implement yet (UsageError)."""
    if mode not in PAGING_MODES:
        raise UsageError("--paging %s: unknown paging mode (nested | shadow)" % mode)
    if mode not in PAGING_IMPLEMENTED:
        raise UsageError("--paging %s: %s paging is not implemented yet" % (mode, mode))


# --- sizes and names ---------------------------------------------------------------

_SIZE_RE = re.compile(r"^\s*(\d+)\s*([KMGT]?)(I?B)?\s*$", re.IGNORECASE)


def parse_size_mib(text, plain="M"):
    """'64M', '1G', '512k' -> MiB, rounded up. A plain number is in MiB for --mem (as
    QEMU's -m) and in bytes in a config file (plain="B", docs/config.md)."""
    m = _SIZE_RE.match(text or "")
    if not m:
        raise ValueError("bad size %r" % text)
    n = int(m.group(1))
    unit = m.group(2).upper() or plain
    mult = {"B": 1, "K": 1 << 10, "M": 1 << 20, "G": 1 << 30, "T": 1 << 40}[unit]
    mib = (n * mult + (1 << 20) - 1) >> 20
    if mib <= 0:
        raise ValueError("size %r is zero" % text)
    return mib


def vm_name_for(path):
    """VM name from a kernel path: basename without extension, with only the
    characters a config allows in a name ([A-Za-z0-9_.-], at most 31)."""
    stem = os.path.splitext(os.path.basename(path))[0].lstrip(".")
    name = re.sub(r"[^A-Za-z0-9_.-]", "_", stem)[:31]
    return name or "vm"


def module_name_for(path):
    """Name under which a file of hv86-run's own command line is passed: its
    basename, made one word of safe characters (the config and GRUB need that)."""
    name = re.sub(r"[^A-Za-z0-9_.+-]", "_", os.path.basename(path))
    return name or "module"


MAX_NAME = 63   # docs/config.md: kernel and module names
MAX_CMDLINE = 255


def check_passable_name(name):
    """A module string must be one word without quotes, backslashes or '#': GRUB
    re-escapes quotes and spaces, and a config cannot hold them. (Commas are fine:
    QEMU's -initrd takes ",," for a literal comma.)"""
    if not name or re.search(r"[\s'\"\\#]", name) or len(name) > MAX_NAME:
        raise UsageError("module name %r cannot be passed (it must be one word of at "
                         "most %d characters without quotes, backslashes or '#')"
                         % (name, MAX_NAME))


# --- the VM configuration -----------------------------------------------------------

_SECTION_RE = re.compile(r"^\[\s*vm\s+([^\]\s]+)\s*\]$")
_KV_RE = re.compile(r"^([A-Za-z_][A-Za-z0-9_-]*)\s*=\s*(.*)$")


_COMMENT_RE = re.compile(r"(^|[ \t])#")


def strip_comment(line):
    """docs/config.md: '#' starts a comment at the start of a line or after a blank
    ('a#b' is kept)."""
    m = _COMMENT_RE.search(line)
    return line if m is None else line[:m.start()]


def parse_config(text):
    """Scan a hv86 VM configuration (docs/config.md) for what the launcher needs:
    -> list of dicts {name, kernel, modules[], memory, cpus, paging}. Lenient: lines
    it does not understand are left for hv86 to judge."""
    vms = []
    cur = None
    for raw in text.splitlines():
        line = strip_comment(raw).strip()
        if not line:
            continue
        m = _SECTION_RE.match(line)
        if m:
            cur = {"name": m.group(1), "kernel": None, "modules": [], "disks": [],
                   "memory": None, "cpus": None, "paging": None, "overlay": None}
            vms.append(cur)
            continue
        m = _KV_RE.match(line)
        if not m or cur is None:
            continue
        key, value = m.group(1).lower(), m.group(2).strip()
        if key == "kernel":
            cur["kernel"] = value
        elif key == "module":
            cur["modules"].append(value)
        elif key == "disk":
            # disk = SOURCE [ro] (docs/config.md): the file and whether it is written.
            words = value.split()
            if words:
                cur["disks"].append((words[0], words[1:] == ["ro"]))
        elif key in ("memory", "cpus", "paging", "overlay"):
            cur[key] = value
    return vms


def config_files(vms):
    """Every file a config names, in order, each once: kernels, modules, disks."""
    seen = []
    for vm in vms:
        for name in ([vm["kernel"]] if vm["kernel"] else []) + vm["modules"] + \
                [d[0] for d in vm.get("disks", [])]:
            if name and name not in seen:
                seen.append(name)
    return seen


def resolve_config_file(name, config_dir, guests_dir=GUESTS_DIR, linux_dir=LINUX_DIR,
                        disk_dir=DISK_DIR):
    """A file named in a config: absolute as is; else relative to the config's folder,
    then to build/guests/, then to build/linux/ (the Linux test kernel and
    initramfs, docs/linux.md), then to build/disk/ (the test disk images). -> path
    or None."""
    if os.path.isabs(name):
        return name if os.path.isfile(name) else None
    for base in (config_dir, guests_dir, linux_dir, disk_dir):
        p = os.path.join(base, name)
        if os.path.isfile(p):
            return p
    return None


def config_memory_mib(vms):
    """RAM all VMs of a config ask for together (64M for a VM that names none,
    which hv86 refuses)."""
    total = 0
    for vm in vms:
        try:
            total += parse_size_mib(vm["memory"], plain="B") if vm["memory"] \
                else HV86_CONFIG_MEM_MIB
        except ValueError:
            total += HV86_CONFIG_MEM_MIB
    return total


OVERLAY_DEFAULT_MIB = 64      # lib/config.h CONFIG_OVERLAY_DEFAULT


def overlay_mib(vm):
    """hv86 memory a VM's writable disks may take for their private writes."""
    try:
        each = parse_size_mib(vm["overlay"], plain="B") if vm.get("overlay") \
            else OVERLAY_DEFAULT_MIB
    except ValueError:
        each = OVERLAY_DEFAULT_MIB
    return each * sum(1 for _, ro in vm.get("disks", []) if not ro)


def config_vm_mibs(vms):
    """RAM each VM of a config asks for, in config order (default 64M; a value
    the launcher cannot read counts as the default: hv86 judges it), with its
    disks' overlays."""
    out = []
    for vm in vms:
        try:
            mib = parse_size_mib(vm["memory"], plain="B") if vm["memory"] \
                else HV86_CONFIG_MEM_MIB
        except ValueError:
            mib = HV86_CONFIG_MEM_MIB
        out.append(mib + overlay_mib(vm))
    return out


def files_mib(paths):
    """Boot modules are in the machine's RAM too (disk images above all)."""
    return sum((os.path.getsize(p) + (1 << 20) - 1) >> 20 for p in paths)


HV86_MEM_MIB = 256          # hv86 itself, its tables and each VM's hypervisor memory
MACHINE_MIN_MIB = 512
# The most RAM each emulator's machine is given (issue 28: one VM's memory = 64G
# made the emulator fail to start, and so stopped every VM). QEMU (svm, auto)
# allocates guest RAM lazily, but not beyond what the host can back; Bochs 2.7
# allocates its host= memory up front.
MACHINE_MAX_MIB = {"svm": 8192, "kvm": 8192, "vmx": 2048}


def host_mem_mib():
    """This machine's RAM in MiB, or None."""
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemTotal:"):
                    return int(line.split()[1]) // 1024
    except (OSError, ValueError, IndexError):
        pass
    return None


def machine_limit_mib(backend):
    """The most RAM the backend's emulator gets: its own limit, and at most half
    of this machine's RAM."""
    limit = MACHINE_MAX_MIB.get(backend, MACHINE_MAX_MIB["vmx"])
    host = host_mem_mib()
    if host:
        limit = min(limit, max(MACHINE_MIN_MIB, host // 2))
    return limit


def machine_memory_mib(vm_mibs, limit=None):
    """Emulated machine RAM for the VMs hv86 will start: 256M for hv86 plus, in
    config order, each VM that still fits under limit (one that does not is left
    out of the sum: hv86 refuses it with its figures, "hv86: vm NAME stopped: not
    enough host memory ...", and runs the others); at least 512M. vm_mibs: a list,
    or one total (no limit)."""
    if isinstance(vm_mibs, int):
        vm_mibs = [vm_mibs]
    total = HV86_MEM_MIB
    for m in vm_mibs:
        if limit is None or total + m <= limit:
            total += m
    size = max(MACHINE_MIN_MIB, total)
    return min(size, limit) if limit is not None else size


def make_config(name, kernel_name, module_names, cmdline, mem_mib, cpus, paging, cpu=None,
                disks=()):
    """The config hv86-run writes for one KERNEL on its command line; disks:
    [(module name, read_only)]."""
    lines = ["# written by tools/hv86-run", "[vm %s]" % name,
             "kernel  = %s" % kernel_name]
    for m in module_names:
        lines.append("module  = %s" % m)
    for d, ro in disks:
        lines.append("disk    = %s%s" % (d, " ro" if ro else ""))
    if cmdline:
        lines.append("cmdline = %s" % cmdline)
    lines += ["memory  = %dM" % mem_mib, "cpus    = %d" % cpus,
              "paging  = %s" % paging]
    if cpu is not None:
        lines.append("cpu     = %s" % cpu)
    lines.append("")
    return "\n".join(lines)


# --- command line -------------------------------------------------------------------

USAGE = """usage: hv86-run [--backend svm|vmx|auto] [--paging nested|shadow] [--no-nested-paging]
                [--host-cpus N]
                [--timeout SECONDS] [--keep] [--hv86 ELF] [--hv86-append ARGS]
                (--config FILE | [--mem SIZE] [--smp N] [--cpu SPEC]
                                 [--append CMDLINE] [--initrd FILE]... [--disk FILE[,ro]]... KERNEL)"""


class Options:
    def __init__(self):
        self.backend = "auto"
        self.paging = "nested"
        self.no_nested_paging = False   # emulate a CPU without EPT/NPT
        self.host_cpus = 1
        self.timeout = DEFAULT_TIMEOUT
        self.keep = False
        self.hv86 = HV86_ELF
        self.hv86_append = ""
        self.config = None
        self.mem = None
        self.smp = None
        self.cpu = None
        self.append = None
        self.initrd = []
        self.disks = []                 # [(path, read_only)]: /dev/vda, /dev/vdb, ...
        self.kernel = None


def _need_readable(path, what):
    if not os.path.exists(path):
        raise UsageError("%s %s: no such file" % (what, path))
    if os.path.isdir(path):
        raise UsageError("%s %s: is a folder" % (what, path))
    if not os.access(path, os.R_OK):
        raise UsageError("%s %s: not readable" % (what, path))


# The image kinds hv86 boots (docs/linux.md, docs/config.md): ELF or an a.out-kludge
# multiboot image, or a Linux bzImage with a 64-bit entry. vmm/hv.c makes the same
# choice (0xAA55 boot flag -> loader/linux_boot.c, else loader/multiboot_guest.c)
# and the same bzImage checks, so a bad image fails here before anything boots.
ELF_MAGIC = b"\x7fELF"
MB1_MAGIC = 0x1BADB002
MB1_SEARCH = 8192
BZ_MIN_VERSION = 0x020C       # xloadflags (2.12): the only sign of a 64-bit entry
BZ_HEADER_END = 0x264         # through init_size


def kernel_image_problem(data):
    """Why hv86 cannot boot this KERNEL image (bytes), or None if it can."""
    if len(data) >= 0x200 and data[0x1FE:0x200] == b"\x55\xaa":
        if len(data) < BZ_HEADER_END:
            return "truncated bzImage: smaller than its setup header"
        if data[0x202:0x206] != b"HdrS":
            return "no 'HdrS' signature at 0x202: not a bzImage"
        version, = struct.unpack_from("<H", data, 0x206)
        if version < BZ_MIN_VERSION:
            return ("bzImage boot protocol %d.%02d is older than 2.12 (no 64-bit entry "
                    "flag)" % (version >> 8, version & 0xFF))
        if not data[0x211] & 0x01:
            return "loadflags LOADED_HIGH clear: a zImage, not a bzImage"
        xloadflags, = struct.unpack_from("<H", data, 0x236)
        if not xloadflags & 0x1:
            return "bzImage has no 64-bit entry point (xloadflags XLF_KERNEL_64 clear)"
        sects = data[0x1F1] or 4
        if (sects + 1) * 512 >= len(data):
            return "bzImage setup_sects puts the kernel past the end of the file"
        return None
    if data[:4] == ELF_MAGIC:
        return None
    for off in range(0, min(len(data), MB1_SEARCH) - 11, 4):
        magic, flags, check = struct.unpack_from("<III", data, off)
        if magic == MB1_MAGIC and (magic + flags + check) & 0xFFFFFFFF == 0:
            return None
    return "neither an ELF or multiboot image nor a Linux bzImage"


def check_kernel_image(path):
    with open(path, "rb") as f:
        data = f.read()
    why = kernel_image_problem(data)
    if why:
        raise UsageError("KERNEL %s: %s" % (path, why))


def parse_args(argv):
    """argv (without the program name) -> Options; UsageError on bad usage."""
    o = Options()
    takes_value = {"--backend", "--paging", "--host-cpus", "--timeout", "--config",
                   "--mem", "--smp", "--cpu", "--append", "--initrd", "--disk", "--hv86",
                   "--hv86-append"}
    positional = []
    i = 0
    while i < len(argv):
        a = argv[i]
        if a == "--":
            positional += argv[i + 1:]
            break
        if a in ("-h", "--help"):
            raise UsageError(USAGE)
        if a.startswith("--"):
            key, eq, val = a.partition("=")
            if key == "--keep" and not eq:
                o.keep = True
                i += 1
                continue
            if key == "--no-nested-paging" and not eq:
                o.no_nested_paging = True
                i += 1
                continue
            if key not in takes_value:
                raise UsageError("unknown option %s" % key)
            if not eq:
                if i + 1 >= len(argv):
                    raise UsageError("option %s needs a value" % key)
                val = argv[i + 1]
                i += 1
            i += 1
            if key == "--backend":
                if val not in BACKENDS:
                    raise UsageError("--backend %s: unknown backend (svm | vmx | auto)" % val)
                o.backend = val
            elif key == "--paging":
                o.paging = val
            elif key == "--host-cpus":
                o.host_cpus = _positive_int(key, val)
            elif key == "--timeout":
                try:
                    o.timeout = float(val)
                except ValueError:
                    raise UsageError("--timeout %s: not a number of seconds" % val)
                if o.timeout <= 0:
                    raise UsageError("--timeout %s: must be positive" % val)
            elif key == "--config":
                o.config = val
            elif key == "--mem":
                try:
                    o.mem = parse_size_mib(val)
                except ValueError:
                    raise UsageError("--mem %s: bad size (e.g. 64M, 1G)" % val)
            elif key == "--smp":
                o.smp = _positive_int(key, val)
            elif key == "--cpu":
                # The config's cpu line (docs/config.md); hv86 judges the names.
                if not _CPU_SPEC_RE.fullmatch(val.strip()):
                    raise UsageError("--cpu %s: host, then ,-FEATURE for each feature to "
                                     "remove (/proc/cpuinfo names), e.g. host,-avx2" % val)
                o.cpu = re.sub(r"\s+", "", val)
            elif key == "--append":
                # It becomes the config's cmdline line (docs/config.md).
                if re.search(r"[\x00-\x08\x0a-\x1f\x7f]", val) or \
                        _COMMENT_RE.search(val.strip()) or len(val.strip()) > MAX_CMDLINE:
                    raise UsageError("--append: at most %d characters, no control "
                                     "characters, no '#' after a blank" % MAX_CMDLINE)
                o.append = val.strip()
            elif key == "--initrd":
                o.initrd.append(val)
            elif key == "--disk":
                path, _, flag = val.partition(",")
                if flag not in ("", "ro"):
                    raise UsageError("--disk %s: FILE or FILE,ro" % val)
                o.disks.append((path, flag == "ro"))
            elif key == "--hv86":
                o.hv86 = val
            elif key == "--hv86-append":
                # hv86's own command line (docs/launcher.md), after hv86.poweroff=1.
                if not re.fullmatch(r"[A-Za-z0-9_.=,:/-]+( [A-Za-z0-9_.=,:/-]+)*", val.strip()):
                    raise UsageError("--hv86-append %r: space-separated words of "
                                     "[A-Za-z0-9_.=,:/-] only" % val)
                o.hv86_append = val.strip()
            continue
        if a.startswith("-") and a != "-":
            raise UsageError("unknown option %s" % a)
        positional.append(a)
        i += 1

    check_paging(o.paging)
    if o.config is not None:
        if positional or o.mem is not None or o.smp is not None or \
                o.cpu is not None or o.append is not None or o.initrd or o.disks:
            raise UsageError("--config FILE cannot be combined with KERNEL, --mem, "
                             "--smp, --cpu, --append, --initrd or --disk")
        _need_readable(o.config, "--config")
    else:
        if not positional:
            raise UsageError("no KERNEL given (or --config FILE)\n" + USAGE)
        if len(positional) > 1:
            raise UsageError("one KERNEL only (got %s); use --config for more VMs"
                             % " ".join(positional))
        o.kernel = positional[0]
        _need_readable(o.kernel, "KERNEL")
        check_kernel_image(o.kernel)
        for f in o.initrd:
            _need_readable(f, "--initrd")
        for f, _ in o.disks:
            _need_readable(f, "--disk")
    if not os.path.isfile(o.hv86):
        raise UsageError("hv86 image %s: no such file (run make)" % o.hv86)
    _need_readable(o.hv86, "hv86 image")
    return o


# docs/config.md, `cpu`: host, then ,-NAME for each feature removed.
_CPU_SPEC_RE = re.compile(r"host(\s*,\s*-[a-z0-9_]+)*")


def _positive_int(key, val):
    try:
        n = int(val)
    except ValueError:
        raise UsageError("%s %s: not a number" % (key, val))
    if n < 1:
        raise UsageError("%s %s: must be at least 1" % (key, val))
    return n


# --- what to boot -------------------------------------------------------------------

class Plan:
    """The hv86.cfg text, the modules [(path, name)] and the machine's size."""

    def __init__(self, cfg_text, modules, vm_mem_mib, warnings=(), vm_mibs=None):
        self.cfg_text = cfg_text
        self.modules = modules
        self.vm_mem_mib = vm_mem_mib
        self.vm_mibs = vm_mibs if vm_mibs is not None else [vm_mem_mib]
        self.warnings = list(warnings)


def plan_from_options(o):
    if o.config:
        with open(o.config, encoding="utf-8", errors="replace") as f:
            text = f.read()
        vms = parse_config(text)
        cdir = os.path.dirname(os.path.abspath(o.config))
        modules, warnings = [], []
        for name in config_files(vms):
            path = resolve_config_file(name, cdir)
            if path is None:
                # Not a launcher error: hv86 must cope with a missing module and
                # report that VM itself.
                warnings.append("%s names %s, which does not exist: not passed"
                                % (o.config, name))
                continue
            check_passable_name(name)
            modules.append((path, name))
        return Plan(text, modules, config_memory_mib(vms), warnings,
                    config_vm_mibs(vms) + [files_mib(p for p, _ in modules)])

    mem = o.mem if o.mem is not None else DEFAULT_MEM_MIB
    smp = o.smp if o.smp is not None else 1
    kname = module_name_for(o.kernel)
    check_passable_name(kname)
    mods = [(o.kernel, kname)]
    mnames = []
    for f in o.initrd:
        n = module_name_for(f)
        check_passable_name(n)
        if n in [m[1] for m in mods] or n == "hv86.cfg":
            raise UsageError("--initrd %s: another file is already passed as %s" % (f, n))
        mods.append((f, n))
        mnames.append(n)
    disks = []
    for f, ro in o.disks:
        n = module_name_for(f)
        check_passable_name(n)
        if n not in [m[1] for m in mods]:
            mods.append((f, n))
        elif (f, n) not in mods:
            raise UsageError("--disk %s: another file is already passed as %s" % (f, n))
        disks.append((n, ro))
    cfg = make_config(vm_name_for(o.kernel), kname, mnames, o.append, mem, smp, o.paging,
                      o.cpu, disks)
    vm = {"disks": disks}
    return Plan(cfg, mods, mem, vm_mibs=[mem + overlay_mib(vm), files_mib(p for p, _ in mods)])


# --- KVM detection and backend choice ----------------------------------------------

def read_text(path):
    try:
        with open(path) as f:
            return f.read()
    except OSError:
        return None


def detect_kvm(read=read_text, exists=os.path.exists, access=os.access):
    """-> (usable, why). Usable only when /dev/kvm is there and nested virtualization
    really hands VMX or SVM to guests (module parameter nested on, CPU flag present)."""
    if not exists("/dev/kvm"):
        return False, "/dev/kvm does not exist"
    if not access("/dev/kvm", os.R_OK | os.W_OK):
        return False, "/dev/kvm is not accessible"
    cpuinfo = read("/proc/cpuinfo") or ""
    flags = set()
    for line in cpuinfo.splitlines():
        if line.startswith("flags"):
            flags = set(line.split(":", 1)[1].split())
            break
    for mod, flag in (("kvm_intel", "vmx"), ("kvm_amd", "svm")):
        nested = read("/sys/module/%s/parameters/nested" % mod)
        if nested is None:
            continue
        if nested.strip() not in ("Y", "y", "1"):
            return False, "%s is loaded with nested=%s" % (mod, nested.strip())
        if flag not in flags:
            return False, "the host CPU has no %s flag" % flag
        return True, "%s nested=%s, CPU has %s" % (mod, nested.strip(), flag)
    return False, "neither kvm_intel nor kvm_amd is loaded"


def choose_backend(requested, kvm=None):
    """-> (backend, note). backend in svm | vmx | kvm; note says why for auto."""
    if requested in ("svm", "vmx"):
        return requested, None
    usable, why = kvm if kvm is not None else detect_kvm()
    if usable:
        return "kvm", "auto: using KVM (%s)" % why
    return "svm", "auto: KVM not usable (%s); falling back to svm (QEMU TCG)" % why


# --- emulator command lines ----------------------------------------------------------

def qemu_initrd_arg(names):
    """-initrd value: QEMU's separator is ',' and ',,' is a literal comma."""
    return ",".join(n.replace(",", ",,") for n in names)


def qemu_command(backend, hv86_elf, module_names, mem_mib, host_cpus,
                 cmdline="hv86.poweroff=1", no_nested_paging=False):
    """QEMU argv. module_names are paths relative to QEMU's working folder, equal to
    the names: QEMU's multiboot module string is the whole -initrd entry, so a file
    whose path is its name gives hv86 exactly that name (as GRUB's module2 does)."""
    if backend == "kvm":
        accel = ["-accel", "kvm", "-cpu", "host"]
    else:
        accel = ["-accel", "tcg", "-cpu",
                 QEMU_SVM_CPU_NO_NPT if no_nested_paging else QEMU_SVM_CPU]
    cmd = ["qemu-system-x86_64"] + accel + [
        "-m", "%d" % mem_mib,
        "-smp", "%d" % host_cpus,
        "-kernel", hv86_elf,
        "-append", cmdline,
        "-initrd", qemu_initrd_arg(module_names),
        "-chardev", "stdio,id=com1,signal=off",
        "-serial", "chardev:com1",
        "-display", "none",
        "-nodefaults",
        "-no-reboot",
        "-device", "isa-debug-exit,iobase=0xf4,iosize=0x4",
    ]
    return cmd


def bochsrc_text(iso, serial_path, log_path, mem_mib, host_cpus, no_nested_paging=False):
    """A bochsrc after shared/emulators/bochsrc.example (Bochs 2.7, VT-x CPU)."""
    return "\n".join([
        "# written by tools/hv86-run",
        # Debian's bochs has no 'nogui'; rfb serves the screen on TCP 5900-5949 and
        # takes the first free port itself, so parallel runs do not collide.
        'display_library: rfb, options="timeout=0"',
        "romimage: file=/usr/share/bochs/BIOS-bochs-latest",
        "vgaromimage: file=/usr/share/vgabios/vgabios.bin",
        "cpu: model=%s, count=%d, ips=%d, reset_on_triple_fault=0"
        % (BOCHS_CPU_MODEL_NO_EPT if no_nested_paging else BOCHS_CPU_MODEL, host_cpus,
           BOCHS_IPS),
        "memory: guest=%d, host=%d" % (mem_mib, mem_mib),
        "clock: sync=none, time0=local",
        # Without a sound card on the host Bochs' default ALSA driver aborts at
        # start ("buffer overflow detected"); the dummy drivers need nothing.
        "sound: waveoutdrv=dummy, waveindrv=dummy, midioutdrv=dummy",
        "speaker: enabled=0",
        "mouse: enabled=0",
        "ata0: enabled=1, ioaddr1=0x1f0, ioaddr2=0x3f0, irq=14",
        "ata0-master: type=cdrom, path=%s, status=inserted" % iso,
        "boot: cdrom",
        "com1: enabled=1, mode=file, dev=%s" % serial_path,
        "port_e9_hack: enabled=1",
        "log: %s" % log_path,
        "panic: action=fatal",
        "error: action=report",
        "info: action=report",
        "debug: action=ignore",
        "",
    ])


# --- the watcher ----------------------------------------------------------------------

class Watcher:
    """Feeds serial bytes, splits lines, notes halt and panic. Pure: no I/O."""

    def __init__(self):
        self.buf = b""
        self.halt_status = None
        self.panic_at = None
        self.lines = []

    def feed(self, data, now):
        self.buf += data
        while b"\n" in self.buf:
            raw, self.buf = self.buf.split(b"\n", 1)
            self._line(raw, now)

    def flush(self, now):
        if self.buf:
            raw, self.buf = self.buf, b""
            self._line(raw, now)

    def _line(self, raw, now):
        line = raw.decode("utf-8", "replace").rstrip("\r")
        self.lines.append(line)
        ev = classify_line(line)
        if ev is None:
            return
        if ev[0] == "halt" and self.halt_status is None:
            self.halt_status = ev[1]
        elif ev[0] == "panic" and self.panic_at is None:
            self.panic_at = now


class Interrupted(Exception):
    pass


def _on_signal(signum, frame):
    raise Interrupted()


def _pdeathsig():
    """In the child: die with the launcher even if it is SIGKILLed (Linux)."""
    try:
        import ctypes
        libc = ctypes.CDLL(None, use_errno=True)
        PR_SET_PDEATHSIG = 1
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    except Exception:
        pass


def stop_process(proc):
    """Stop the emulator (its own process group): SIGTERM, then SIGKILL."""
    if proc is None or proc.poll() is not None:
        return
    for sig, wait in ((signal.SIGTERM, 2.0), (signal.SIGKILL, 5.0)):
        try:
            os.killpg(proc.pid, sig)
        except ProcessLookupError:
            return
        except PermissionError:
            proc.send_signal(sig)
        try:
            proc.wait(timeout=wait)
            return
        except subprocess.TimeoutExpired:
            continue


def tail_text(path, nlines=20):
    try:
        with open(path, "rb") as f:
            f.seek(0, 2)
            size = f.tell()
            f.seek(max(0, size - 16384))
            data = f.read()
    except OSError:
        return ""
    lines = data.decode("utf-8", "replace").splitlines()
    return "\n".join(lines[-nlines:])


def watch(proc, read_chunk, out, timeout, clock=time.monotonic, sleep=time.sleep):
    """Stream the serial console until a result: -> (Watcher, timed_out, died).

    read_chunk() -> bytes available now (b"" if none); out(bytes) streams them.
    Stops at: halt line (then lets the emulator end within HALT_GRACE), panic line
    (+ PANIC_GRACE seconds of dump), emulator exit (output drained), timeout."""
    w = Watcher()
    start = clock()
    halt_at = None
    while True:
        data = read_chunk()
        now = clock()
        if data:
            out(data)
            w.feed(data, now)
        if w.halt_status is not None and halt_at is None:
            halt_at = now
        exited = proc.poll() is not None
        if exited:
            # Take whatever is still buffered before judging.
            while True:
                data = read_chunk()
                if not data:
                    break
                out(data)
                w.feed(data, clock())
            w.flush(clock())
            return w, False, w.halt_status is None and w.panic_at is None
        if halt_at is not None and now - halt_at >= HALT_GRACE:
            return w, False, False
        if w.panic_at is not None and now - w.panic_at >= PANIC_GRACE:
            return w, False, False
        if now - start >= timeout:
            w.flush(now)
            return w, w.halt_status is None and w.panic_at is None, False
        if not data:
            sleep(0.05)


# --- running ------------------------------------------------------------------------

def err(msg):
    sys.stderr.write("hv86-run: %s\n" % msg)
    sys.stderr.flush()


def link_modules(workroot, modules):
    """Make every module reachable from QEMU's working folder by a relative path equal
    to its name (-> (cwd, [names])). Names may climb with '..': the working folder is
    then nested as deep as the deepest climb, so links stay inside workroot."""
    depth = 0
    for _, name in modules:
        if not os.path.isabs(name):
            parts = os.path.normpath(name).split(os.sep)
            climb = 0
            for p in parts:
                if p == "..":
                    climb += 1
                else:
                    break
            depth = max(depth, climb)
    cwd = os.path.join(workroot, *(["d"] * depth)) if depth else workroot
    os.makedirs(cwd, exist_ok=True)
    names = []
    for path, name in modules:
        if os.path.isabs(name):
            names.append(name)    # the file is that path itself
            continue
        link = os.path.normpath(os.path.join(cwd, name))
        os.makedirs(os.path.dirname(link), exist_ok=True)
        if not os.path.lexists(link):
            os.symlink(os.path.abspath(path), link)
        names.append(name)
    return cwd, names


def hv86_cmdline(o):
    """hv86's own command line: power off when done, plus --hv86-append."""
    return ("hv86.poweroff=1 " + o.hv86_append).strip()


def run(o):
    backend, note = choose_backend(o.backend)
    if note:
        err(note)
    plan = plan_from_options(o)
    for wmsg in plan.warnings:
        err("warning: " + wmsg)
    mem = machine_memory_mib(plan.vm_mibs, machine_limit_mib(backend))
    tmp = tempfile.mkdtemp(prefix="hv86-run.")
    proc = None
    files = []
    status = STATUS_DIED
    keep_logs = False
    emu_err = os.path.join(tmp, "emulator.err")
    bochs_log = os.path.join(tmp, "bochs.log")
    old_handlers = {}
    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        old_handlers[sig] = signal.signal(sig, _on_signal)
    try:
        cfg_path = os.path.join(tmp, "hv86.cfg")
        with open(cfg_path, "w") as f:
            f.write(plan.cfg_text)
        modules = plan.modules + [(cfg_path, "hv86.cfg")]
        errf = open(emu_err, "wb")
        files.append(errf)
        if backend in ("svm", "kvm"):
            cwd, names = link_modules(os.path.join(tmp, "q"), modules)
            cmd = qemu_command(backend, os.path.abspath(o.hv86), names, mem, o.host_cpus,
                               hv86_cmdline(o), o.no_nested_paging)
            proc = subprocess.Popen(cmd, cwd=cwd, stdin=subprocess.DEVNULL,
                                    stdout=subprocess.PIPE, stderr=errf,
                                    start_new_session=True, preexec_fn=_pdeathsig)
            fd = proc.stdout.fileno()
            os.set_blocking(fd, False)

            def read_chunk():
                try:
                    return os.read(fd, 65536) or b""
                except BlockingIOError:
                    return b""
        else:
            iso = os.path.join(tmp, "hv86.iso")
            mk = [MKISO, iso, o.hv86, "--cmdline", hv86_cmdline(o)]
            for path, name in modules:
                mk += ["--module", path, name]
            r = subprocess.run(mk, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
            if r.returncode != 0:
                err("scripts/mkiso failed:\n" + r.stdout.decode("utf-8", "replace"))
                return STATUS_USAGE if r.returncode == 2 else STATUS_DIED
            serial = os.path.join(tmp, "serial.out")
            open(serial, "wb").close()
            rc = os.path.join(tmp, "bochsrc")
            with open(rc, "w") as f:
                f.write(bochsrc_text(iso, serial, bochs_log, mem, o.host_cpus,
                                     o.no_nested_paging))
            dbg = os.path.join(tmp, "dbg.rc")
            with open(dbg, "w") as f:
                f.write("continue\nquit\n")
            proc = subprocess.Popen(["bochs", "-q", "-f", rc, "-rc", dbg], cwd=tmp,
                                    stdin=subprocess.DEVNULL, stdout=errf, stderr=errf,
                                    start_new_session=True, preexec_fn=_pdeathsig)
            sf = open(serial, "rb", buffering=0)
            files.append(sf)

            def read_chunk():
                return sf.read(65536) or b""

        last = [b"\n"]

        def out(data):
            sys.stdout.buffer.write(data)
            sys.stdout.flush()
            last[0] = data[-1:]

        w, timed_out, died = watch(proc, read_chunk, out, o.timeout)
        if last[0] != b"\n":
            out(b"\n")     # keep our own messages on lines of their own
        stop_process(proc)
        status = final_status(w.halt_status, w.panic_at is not None, timed_out, died)
        if status == STATUS_TIMEOUT:
            err("timeout: no 'hv86: halt' or 'hv86: panic' line within %gs" % o.timeout)
        elif status == STATUS_PANIC and w.halt_status is None:
            err("hv86 panicked")
        elif died:
            err("the emulator ended without a 'hv86: halt' line (exit code %s); "
                "the end of its output:" % proc.returncode)
            errf.flush()
            sys.stderr.write(indent(tail_text(emu_err) or "(nothing)") + "\n")
            if backend == "vmx":
                err("the end of bochs.log:")
                sys.stderr.write(indent(tail_text(bochs_log) or "(nothing)") + "\n")
        keep_logs = status in (STATUS_PANIC, STATUS_STOPPED, STATUS_DIED, STATUS_TIMEOUT)
        return status
    except Interrupted:
        err("interrupted")
        status = STATUS_INTERRUPTED
        return status
    except FileNotFoundError as e:
        # The emulator itself is missing: not a usage error, the machine lacks it.
        err("cannot start %s: %s (run scripts/deps)" % (e.filename, e.strerror))
        return STATUS_DIED
    finally:
        for sig in old_handlers:
            signal.signal(sig, signal.SIG_IGN)     # no second Ctrl-C mid-cleanup
        stop_process(proc)
        for f in files:
            f.close()
        if o.keep:
            err("kept %s" % tmp)
        elif keep_logs and backend == "vmx" and os.path.exists(bochs_log):
            for n in os.listdir(tmp):
                if n not in ("bochs.log", "serial.out", "bochsrc", "emulator.err"):
                    p = os.path.join(tmp, n)
                    if os.path.isdir(p):
                        shutil.rmtree(p, ignore_errors=True)
                    else:
                        os.unlink(p)
            err("Bochs log kept: %s" % bochs_log)
        else:
            shutil.rmtree(tmp, ignore_errors=True)
        for sig, h in old_handlers.items():
            signal.signal(sig, h)


def indent(text):
    return "\n".join("  | " + l for l in text.splitlines())


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    try:
        o = parse_args(argv)
        return run(o)
    except UsageError as e:
        err(str(e))
        return STATUS_USAGE

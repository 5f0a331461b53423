#!/usr/bin/env python3
"""hv86 benchmarks: `make bench` (or python3 bench/run.py [--backends svm,vmx]).

Emulators make absolute times meaningless, so every figure is either a ratio taken
within one run (the same workload as a guest of hv86 and directly on the same
emulator) or a deterministic count (exits by reason, bytes, Bochs instructions).
The results are written to bench/RESULTS.md together with the command.
"""
import argparse
import concurrent.futures
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
RUN = os.path.join(ROOT, "tools", "hv86-run")
GUESTS = os.path.join(ROOT, "build", "guests")
HV86 = os.path.join(ROOT, "build", "hv86.elf")
QEMU_CPU = "EPYC"
sys.path.insert(0, os.path.join(ROOT, "tools"))
import hv86run_lib  # noqa: E402  (the launcher's bochsrc, so both runs match)

# Test guests whose exits by reason are reported, with their arguments.
EXIT_GUESTS = [("hello", ""), ("cpuid", ""), ("faults", ""), ("ports", ""),
               ("memtest", ""), ("realmode", ""), ("sse", ""), ("long64", "")]


def hv86_run(backend, args, timeout=600):
    """Run tools/hv86-run; returns (status, output, seconds)."""
    t0 = time.monotonic()
    p = subprocess.run([RUN, "--backend", backend, "--timeout", str(timeout)] + args,
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                       errors="replace")
    return p.returncode, p.stdout, time.monotonic() - t0


def qemu_direct(kernel, append=""):
    """Boot a multiboot guest directly under QEMU TCG, as a test image made for it."""
    cmd = ["qemu-system-x86_64", "-accel", "tcg", "-cpu", QEMU_CPU, "-m", "64",
           "-kernel", kernel, "-append", append, "-serial", "stdio", "-display", "none",
           "-nodefaults", "-no-reboot", "-device", "isa-debug-exit,iobase=0xf4,iosize=0x4"]
    p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
                       errors="replace", timeout=600)
    return p.returncode, p.stdout


def bochs_direct(kernel, append=""):
    """Boot a multiboot guest directly under Bochs (GRUB's multiboot v1 loader), the
    VT-x machine hv86 runs on, without hv86. Returns the serial output."""
    tmp = tempfile.mkdtemp(prefix="hv86-bench.")
    try:
        iso = os.path.join(tmp, "direct.iso")
        subprocess.run([os.path.join(ROOT, "scripts", "mkiso"), iso, kernel, "--multiboot1",
                        "--cmdline", append], check=True)
        serial = os.path.join(tmp, "serial.out")
        with open(os.path.join(tmp, "bochsrc"), "w") as f:
            f.write(hv86run_lib.bochsrc_text(iso, serial, os.path.join(tmp, "bochs.log"), 64, 1))
        with open(os.path.join(tmp, "dbg.rc"), "w") as f:
            f.write("continue\nquit\n")
        # The guest's runtime ends Bochs through port 0x8900 when no exit port exists.
        subprocess.run(["bochs", "-q", "-f", "bochsrc", "-rc", "dbg.rc"], cwd=tmp,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=600)
        with open(serial, errors="replace") as f:
            return f.read()
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def direct(backend, kernel, append=""):
    """The same guest without hv86 on the emulator that plays `backend`."""
    if backend == "svm":
        return qemu_direct(kernel, append)[1]
    return bochs_direct(kernel, append)


def banner_time(backend):
    """Seconds from starting the launcher to hv86's banner line (no VMs)."""
    t0 = time.monotonic()
    p = subprocess.Popen([RUN, "--backend", backend, "--timeout", "300", "--config",
                          "/dev/null"], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                         text=True)
    seen = None
    for line in p.stdout:
        if seen is None and line.startswith("hv86 0."):
            seen = time.monotonic() - t0
    p.wait()
    return seen


LINUX = os.path.join(ROOT, "build", "linux")
LINUX_APPEND = "console=ttyS0,115200 panic=-1 quiet hv86.run=exit:5"
LINUX_INIT_RE = re.compile(r"hv86-init: cpus=\d+")


def time_to_line(cmd, pattern, timeout=900):
    """Run cmd; -> (seconds from start to the first output line matching pattern or
    None, the whole output, exit status)."""
    t0 = time.monotonic()
    p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                         errors="replace")
    seen, out = None, []
    for line in p.stdout:
        out.append(line)
        if seen is None and pattern.search(line):
            seen = time.monotonic() - t0
        if time.monotonic() - t0 > timeout:
            p.kill()
            break
    return seen, "".join(out), p.wait()


def linux_hv86(backend, smp=1):
    return time_to_line([RUN, "--backend", backend, "--timeout", "900", "--mem", "256M",
                         "--smp", str(smp), "--append", LINUX_APPEND, "--initrd",
                         os.path.join(LINUX, "initramfs.cpio.gz"),
                         os.path.join(LINUX, "vmlinuz")], LINUX_INIT_RE)


def linux_qemu_direct(smp=1):
    return time_to_line(["qemu-system-x86_64", "-accel", "tcg", "-cpu", QEMU_CPU, "-m", "256",
                         "-smp", str(smp), "-kernel", os.path.join(LINUX, "vmlinuz"),
                         "-initrd", os.path.join(LINUX, "initramfs.cpio.gz"),
                         "-append", LINUX_APPEND, "-serial", "stdio", "-display", "none",
                         "-nodefaults", "-no-reboot", "-device",
                         "isa-debug-exit,iobase=0xf4,iosize=0x4"], LINUX_INIT_RE)


def linux_bochs_direct(smp=2, timeout=900):
    """The same kernel and initramfs booted directly under Bochs by GRUB's Linux
    loader (Bochs has no -kernel): -> (seconds from starting Bochs to init's line or
    None, the serial output). Bochs is stopped once the line is there."""
    tmp = tempfile.mkdtemp(prefix="hv86-bench.")
    try:
        iso = os.path.join(tmp, "linux.iso")
        subprocess.run([os.path.join(ROOT, "scripts", "mkiso"), iso,
                        os.path.join(LINUX, "vmlinuz"), "--linux", "--cmdline", LINUX_APPEND,
                        "--module", os.path.join(LINUX, "initramfs.cpio.gz"), "initrd"],
                       check=True)
        serial = os.path.join(tmp, "serial.out")
        with open(os.path.join(tmp, "bochsrc"), "w") as f:
            f.write(hv86run_lib.bochsrc_text(iso, serial, os.path.join(tmp, "bochs.log"),
                                             256, smp))
        with open(os.path.join(tmp, "dbg.rc"), "w") as f:
            f.write("continue\nquit\n")
        t0 = time.monotonic()
        p = subprocess.Popen(["bochs", "-q", "-f", "bochsrc", "-rc", "dbg.rc"], cwd=tmp,
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        seen, text = None, ""
        while seen is None and p.poll() is None and time.monotonic() - t0 < timeout:
            time.sleep(0.5)
            if os.path.exists(serial):
                with open(serial, errors="replace") as f:
                    text = f.read()
                if LINUX_INIT_RE.search(text):
                    seen = time.monotonic() - t0
        p.kill()
        p.wait()
        return seen, text
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def linux_rows(backends, runs=3):
    """Debian's kernel booted to its init (docs/linux.md): exits by reason, and the
    wall time to init's line against the same kernel and initramfs booted directly
    on the same emulator (QEMU: -kernel/-initrd; Bochs: GRUB's Linux loader), same
    number of CPUs, best of `runs` alternating runs each. svm: 1 and 2 vCPUs; vmx (a
    Linux boot takes minutes under Bochs): one run of each with 2 vCPUs."""
    rows = ["## Linux boot to init (docs/linux.md)\n"]
    version = open(os.path.join(LINUX, "VERSION")).read().strip()
    rows.append(f"Debian's `{version}` with the project's busybox initramfs, 256 MiB, "
                f"command line `{LINUX_APPEND}`. Time: wall seconds from starting the "
                "emulator to init's `hv86-init: cpus=` line (hv86's own boot included), "
                f"best of {runs} alternating runs; directly = the same kernel and initramfs "
                "with QEMU's `-kernel`/`-initrd` and the same `-smp` (SeaBIOS included), or "
                "under Bochs from a GRUB ISO with the same CPU count (BIOS and GRUB included). "
                "Exits: hv86's summary line of the fastest run; the count depends on the "
                "wall time and on whether Linux kept the TSC as its clock (docs/linux.md).\n")
    rows.append("| backend | vCPUs | under hv86 s | directly s | ratio | exits by reason |")
    rows.append("| --- | --- | --- | --- | --- | --- |")
    for b in backends:
        for smp in ((1, 2) if b == "svm" else (2,)):
            best_h, best_out, best_d = None, "", None
            for _ in range(runs if b == "svm" else 1):
                h, out, _ = linux_hv86(b, smp)
                if h is not None and (best_h is None or h < best_h):
                    best_h, best_out = h, out
                d = linux_qemu_direct(smp)[0] if b == "svm" else linux_bochs_direct(smp)[0]
                if d is not None and (best_d is None or d < best_d):
                    best_d = d
            exits = re.sub(r" unclaimed_io=.*", "", summary_exits(best_out))
            hs = f"{best_h:.1f}" if best_h else "-"
            ds = f"{best_d:.1f}" if best_d else "-"
            ratio = f"{best_h / best_d:.2f}" if best_h and best_d else "-"
            rows.append(f"| {b} | {smp} | {hs} | {ds} | {ratio} | {exits} |")
            print(f"linux {b} smp={smp}: {hs} s (direct {ds}) {exits}", file=sys.stderr)
    rows.append("")
    return rows


def number(pattern, text):
    m = re.search(pattern, text)
    return int(m.group(1)) if m else None


def summary_exits(text):
    """The exits-by-reason part of hv86's summary line for the first VM."""
    m = re.search(r"^hv86: summary vm=\S+ status=\S+ (exits=.*?) unclaimed_io=", text, re.M)
    return m.group(1).strip() if m else "(no summary line)"


def image_sizes():
    out = subprocess.run(["size", HV86], stdout=subprocess.PIPE, text=True).stdout
    text, data, bss = out.splitlines()[1].split()[:3]
    iso = os.path.getsize(os.path.join(ROOT, "build", "hv86.iso"))
    return int(text), int(data), int(bss), os.path.getsize(HV86), iso


def paging_section(backends):
    """The shadow vs nested paging rows (guests/bench_paging.c)."""
    rows = []
    rows.append("## Shadow vs nested paging (guests/bench_paging.c, docs/shadow.md)\n")
    rows.append("Alone: `python3 bench/run.py --only paging` (replaces this section; "
                f"last on {time.strftime('%Y-%m-%d')}).\n")
    rows.append("The same guest in the same run under `--paging nested` and `--paging shadow`: "
                "1024 fresh 4 KiB mappings per round (8 rounds, page-fault heavy), then 2000 "
                "CR3 loads over 4 unchanged address spaces touching 16 pages each "
                "(context-switch heavy). Guest TSC cycles per phase (Bochs: instructions), "
                "wall seconds of the whole boot, exits by reason, and shadow memory "
                "(peak, and the bound) and the shadow MMU's counters from the summary line; "
                "the ratio rows are shadow / nested per phase (goals: 3 on the fault phase, "
                "1.5 on the switch phase). The vmx figures (Bochs instructions) repeat "
                "exactly from run to run; the svm ones are QEMU TCG's TSC, wall time, and "
                "vary several-fold with the host's load.\n")
    rows.append("| backend | paging | fault phase | switch phase | wall s | exits | shadow peak / bound bytes | shadow counters |")
    rows.append("| --- | --- | --- | --- | --- | --- | --- | --- |")
    kernel = os.path.join(GUESTS, "bench_paging.elf")
    for b in backends:
        phases = {}
        for paging in ("nested", "shadow"):
            _, out, secs = hv86_run(b, ["--paging", paging, kernel])
            fc = number(r"fault_cycles=(\d+)", out)
            sc = number(r"bench_paging: fault_cycles=\d+ switch_cycles=(\d+)", out)
            peak = number(r"sh_peak_bytes=(\d+)", out)
            bound = number(r"sh_bound_bytes=(\d+)", out)
            exits = re.sub(r" unclaimed_io=.*", "", summary_exits(out))
            mem = f"{peak} / {bound}" if peak is not None else "-"
            m = re.search(r" paging=shadow (sh_.*) sh_reclaimed_pages=", out)
            counters = m.group(1) if m else "-"
            phases[paging] = (fc, sc)
            rows.append(f"| {b} | {paging} | {fc} | {sc} | {secs:.1f} | {exits} | {mem} | {counters} |")
            print(f"paging {b} {paging}: faults={fc} switches={sc} {exits}", file=sys.stderr)
        (nf, ns), (sf, ss) = phases["nested"], phases["shadow"]
        ratio = [f"{x / y:.1f}" if x and y else "-" for x, y in ((sf, nf), (ss, ns))]
        rows.append(f"| {b} | shadow / nested | {ratio[0]} | {ratio[1]} | | | | |")
    rows.append("")
    return rows


def load_note():
    """The host's load averages, for sections whose QEMU figures follow wall time."""
    one, five, _ = os.getloadavg()
    return f"host load average {one:.1f} (1 min), {five:.1f} (5 min), {os.cpu_count()} cores"


def cpuid_section(backends):
    """The CPUID exit round trip rows (guests/bench_cpuid.c)."""
    rows = ["## CPUID exit round trip (guest TSC cycles per CPUID; Bochs: instructions)\n"]
    rows.append("Alone: `python3 bench/run.py --only cpuid` (replaces this section; "
                f"last on {time.strftime('%Y-%m-%d')}, {load_note()}).\n")
    rows.append("Measured like kvm-unit-tests' vmexit test: a loop of CPUIDs in a guest, the "
                "loop's own cost subtracted. Directly on the emulator CPUID does not exit, so "
                "the difference is the hypervisor's round trip. The vmx figures (Bochs "
                "instructions) repeat exactly from run to run; the svm ones are QEMU TCG's "
                "TSC, which follows wall time, and vary with the host's load.\n")
    rows.append("| backend | under hv86 | directly on the emulator | hypervisor cost per exit |")
    rows.append("| --- | --- | --- | --- |")
    for b in backends:
        kernel = os.path.join(GUESTS, "bench_cpuid.elf")
        _, out, _ = hv86_run(b, ["--append", "n=2000", kernel])
        hv = number(r"cycles_per_cpuid=(\d+)", out)
        d = number(r"cycles_per_cpuid=(\d+)", direct(b, kernel, "n=2000"))
        cost = f"{hv - d}" if hv is not None and d is not None else "-"
        rows.append(f"| {b} | {hv} | {d} | {cost} |")
        print(f"cpuid {b}: {hv} (direct {d})", file=sys.stderr)
    rows.append("")
    return rows


BUS_KINDS = ("pio", "unclaimed", "mmio", "msr")


def bus_section(backends, hv86=None):
    """Device accesses through the bus (guests/bench_bus.c): guest TSC cycles per
    access by kind; under Bochs, exact instruction counts. hv86: another image to
    compare (--hv86 of the launcher), e.g. one built before a change."""
    rows = ["## Device access round trips through the bus (guest TSC cycles; Bochs: instructions)\n"]
    rows.append("Alone: `python3 bench/run.py --only bus` (replaces this section; "
                f"last on {time.strftime('%Y-%m-%d')}, {load_note()}). guests/bench_bus.c: "
                "IN from COM1's scratch register (pio), IN from a port no device claims "
                "(unclaimed), a read of the IOAPIC's IOREGSEL (mmio: decoded and emulated), "
                "RDMSR of IA32_APIC_BASE (msr: the local APIC's, on the bus); per access, "
                "the loop's own cost subtracted. Each is one exit (docs/bus.md).\n")
    rows.append("| backend | " + " | ".join(BUS_KINDS) + " |")
    rows.append("| --- |" + " --- |" * len(BUS_KINDS))
    for b in backends:
        kernel = os.path.join(GUESTS, "bench_bus.elf")
        extra = ["--hv86", hv86] if hv86 else []
        _, out, _ = hv86_run(b, extra + ["--append", "n=1000", kernel])
        vals = [number(r"\b%s=(\d+)" % k, out) for k in BUS_KINDS]
        rows.append(f"| {b} | " + " | ".join(str(x) for x in vals) + " |")
        print(f"bus {b}: {vals}", file=sys.stderr)
    rows.append("")
    return rows


HSMP_SPIN = 30      # millions of iterations per spinner (docs/smp.md, "Measured")


def hsmp_config(tmp):
    """tests/system/configs/balance.cfg with n=HSMP_SPIN: two CPU-bound spinners and a
    short hello; the launcher finds the kernels in build/guests/."""
    with open(os.path.join(ROOT, "tests", "system", "configs", "balance.cfg")) as f:
        text = f.read()
    path = os.path.join(tmp, "hsmp-balance.cfg")
    with open(path, "w") as f:
        f.write(re.sub(r"^cmdline = n=\d+$", f"cmdline = n={HSMP_SPIN}", text, flags=re.M))
    return path


def hsmp_summaries(out):
    """{vm: (ended_tick, moves, pcpu)} from hv86's summary lines."""
    got = {}
    for m in re.finditer(r"^hv86: summary vm=(\S+) status=\S+ .*?ended_tick=(\d+) "
                         r".*?moves=(\d+) pcpu=(\S+)", out, re.M):
        got[m.group(1)] = (int(m.group(2)), int(m.group(3)), m.group(4))
    return got


def hsmp_section(backends):
    """Host SMP: two CPU-bound VMs (and a short one) on 1 and on 2 host CPUs."""
    rows = ["## Host SMP: two CPU-bound VMs on 1 vs 2 host CPUs (docs/smp.md)\n"]
    rows.append("Alone: `python3 bench/run.py --only hsmp` (replaces this section; "
                f"last on {time.strftime('%Y-%m-%d')}, {load_note()}).\n")
    rows.append("tests/system/configs/balance.cfg with `n=%d` (spin1 and spin2: %d million "
                "iterations each with interrupts off; hello ends at once), booted with "
                "`tools/hv86-run --backend B --host-cpus 1 --config CFG` and with "
                "`--host-cpus 2`, on each backend in the same run. ended_tick is when the VM "
                "ended, in 10 ms ticks of the machine's clock since the VMs started; pcpu the "
                "host CPUs that ran it, moves how often it was handed to another CPU (on 2 "
                "CPUs hello starts on CPU 1 and ends at once, and CPU 1 then takes one "
                "spinner from CPU 0); speed-up = 1-CPU ended_tick / 2-CPU "
                "ended_tick, and on the \"both\" row the same for the later of the two. "
                "The vmx figures (Bochs) count emulated time with both CPUs in lock step and "
                "repeat exactly from run to run; the svm figures are QEMU TCG's wall time and "
                "depend on the host's load: 2 emulated CPUs run in parallel only when 2 host "
                "cores are free.\n" % (HSMP_SPIN, HSMP_SPIN))
    rows.append("| backend | VM | 1 host CPU: ended_tick | pcpu | 2 host CPUs: ended_tick "
                "| pcpu | moves | speed-up |")
    rows.append("| --- | --- | --- | --- | --- | --- | --- | --- |")
    tmp = tempfile.mkdtemp(prefix="hv86-bench.")
    try:
        cfg = hsmp_config(tmp)
        for b in backends:
            res = {}
            for n in (1, 2):
                _, out, secs = hv86_run(b, ["--host-cpus", str(n), "--config", cfg])
                res[n] = hsmp_summaries(out)
                print(f"hsmp {b} host-cpus={n}: {res[n]} ({secs:.0f} s)", file=sys.stderr)
            for vm in ("spin1", "spin2"):
                one, two = res[1].get(vm), res[2].get(vm)
                if not one or not two:
                    rows.append(f"| {b} | {vm} | {one[0] if one else '-'} | "
                                f"{one[2] if one else '-'} | {two[0] if two else '-'} | "
                                f"{two[2] if two else '-'} | {two[1] if two else '-'} | - |")
                    continue
                ratio = f"{one[0] / two[0]:.2f}" if two[0] else "-"
                rows.append(f"| {b} | {vm} | {one[0]} | {one[2]} | {two[0]} | {two[2]} "
                            f"| {two[1]} | {ratio} |")
            ends = [max((res[n][vm][0] for vm in ("spin1", "spin2") if vm in res[n]),
                        default=None) for n in (1, 2)]
            ratio = f"{ends[0] / ends[1]:.2f}" if ends[0] and ends[1] else "-"
            rows.append(f"| {b} | both (the later) | {ends[0]} | | {ends[1]} | | | {ratio} |")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    rows.append("")
    return rows


# Issue 28: the victim's time next to each neighbour, before (merge16, measured
# 2026-12-07 with guests/fair.c built into that tree) and as this tree measures it.
FAIR_SCENARIOS = [("alone", None), ("a: spinner", "fair-spin.cfg"),
                  ("b: tick cheater", "fair-cheat.cfg"), ("c: 8-vCPU spinner", "fair-smp8.cfg")]
FAIR_BEFORE = {   # backend -> scenario -> (victim slowdown, victim ended_tick)
    "vmx": {"alone": ("1.00", 21), "a: spinner": ("2.00", 41),
            "b: tick cheater": ("8.26", 169), "c: 8-vCPU spinner": ("8.65", 190)},
    "svm": {"alone": ("3.03", 63), "a: spinner": ("5.21", 105),
            "b: tick cheater": ("5.42", 112), "c: 8-vCPU spinner": ("19.67", 405)},
}


def fair_section(backends):
    """The victim of issue 28 next to a spinner, the tick cheater and an 8-vCPU spinner."""
    rows = ["## Fair shares: a victim's slowdown next to a spinner, the tick cheater and "
            "an 8-vCPU spinner (docs/smp.md)\n"]
    rows.append("Alone: `python3 bench/run.py --only fair` (replaces this section; "
                f"last on {time.strftime('%Y-%m-%d')}, {load_note()}).\n")
    rows.append("One host CPU. The victim (guests/fair.c `mode=victim work=200`) does 200 ms of "
                "its own CPU time (its TSC: a step over 100 us is time it did not run) next to "
                "the neighbours of tests/system/configs/fair-*.cfg, here run for 6 s so that "
                "they outlast it before the change too. slowdown = the victim's wall time / its "
                "run time, from its TSC: exact on vmx (Bochs: emulated time); on svm QEMU TCG's "
                "TSC is host time and other load on the machine shows as time it did not run "
                "(even alone). ended_tick: when it ended, in 10 ms ticks since the VMs started; "
                "cpu_pct: its CPU time over its life by hv86's accounting (new in this change). "
                "Before = merge16 (round robin per vCPU, turns ending on the 10 ms tick), "
                "measured once on 2026-12-07; the svm cheater does not find the tick's phase "
                "under TCG (it was descheduled by host load ~450 times in 6 s), so (b) shows "
                "little there.\n")
    rows.append("| backend | neighbour | before: slowdown | before: ended_tick | after: slowdown "
                "| after: ended_tick | after: cpu_pct |")
    rows.append("| --- | --- | --- | --- | --- | --- | --- |")
    tmp = tempfile.mkdtemp(prefix="hv86-bench.")
    try:
        for b in backends:
            for name, cfg in FAIR_SCENARIOS:
                path = os.path.join(tmp, "fair.cfg")
                if cfg is None:
                    text = "[vm victim]\nkernel = fair.elf\nmemory = 16M\ncmdline = mode=victim work=200\n"
                else:
                    with open(os.path.join(ROOT, "tests", "system", "configs", cfg)) as f:
                        text = f.read().replace("ms=2000", "ms=6000")
                with open(path, "w") as f:
                    f.write(text)
                _, out, secs = hv86_run(b, ["--host-cpus", "1", "--config", path])
                slow = re.search(r"^\[victim\] fair: victim .* slowdown=(\S+)", out, re.M)
                summ = re.search(r"^hv86: summary vm=victim .*ended_tick=(\d+) .*cpu_pct=(\d+)",
                                 out, re.M)
                before = FAIR_BEFORE.get(b, {}).get(name, ("-", "-"))
                after = (slow.group(1) if slow else "-",
                         summ.group(1) if summ else "-", summ.group(2) if summ else "-")
                print(f"fair {b} {name}: {after} ({secs:.0f} s)", file=sys.stderr)
                rows.append(f"| {b} | {name} | {before[0]} | {before[1]} | {after[0]} "
                            f"| {after[1]} | {after[2]} |")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    rows.append("")
    return rows


ATTACK_SECONDS = 600           # per backend (issue 18: at least 10 minutes)
ATTACK_OPS = {"svm": 200000, "vmx": 100000}


def attack_runs(b, tmp):
    """Attack runs on one backend, nested and shadow paging in turn, seeds 1, 2, ...,
    until ATTACK_SECONDS have passed. Returns the table rows and the total seconds."""
    rows, total, seed = [], 0.0, 0
    while total < ATTACK_SECONDS:
        seed += 1
        cfg, paging = (("attack.cfg", "nested"), ("attack-shadow.cfg", "shadow"))[(seed - 1) % 2]
        ops = ATTACK_OPS.get(b, 100000)
        with open(os.path.join(ROOT, "tests", "system", "configs", cfg)) as f:
            text = re.sub(r"ops=20000 seed=\d+", f"ops={ops} seed={seed}", f.read())
        path = os.path.join(tmp, f"attack-{b}.cfg")
        with open(path, "w") as f:
            f.write(text)
        _, out, secs = hv86_run(b, ["--host-cpus", "1", "--config", path], 900)
        total += secs
        st = re.search(r"^hv86: summary vm=attack status=(\d+) exits=(\d+)", out, re.M)
        done = re.search(r"attack: total ops=(\d+)", out)
        ok = re.search(r"^\[checksum\] ok  checksum: ok ", out, re.M)
        panic = "yes" if re.search(r"hv86: panic", out) else "no"
        row = (f"| {b} | {paging} | {seed} | {done.group(1) if done else '-'} | "
               f"{st.group(1) if st else '-'} | {'ok' if ok else 'BAD'} | "
               f"{st.group(2) if st else '-'} | {panic} | {secs:.0f} |")
        print(f"attack {row}", file=sys.stderr)
        rows.append(row)
    return rows, total


def attack_section(backends):
    """Long runs of the attacker (guests/attack.c) next to its checksum neighbour,
    the backends side by side (one emulator process each)."""
    rows = ["## Attack: long runs of guests/attack.c next to a checksum neighbour (issue 18)\n"]
    rows.append("Alone: `python3 bench/run.py --only attack` (replaces this section; "
                f"last on {time.strftime('%Y-%m-%d')}, {load_note()}).\n")
    rows.append("tests/system/configs/attack.cfg (nested paging) and attack-shadow.cfg "
                "(shadow) in turn, on one host CPU, with `ops=` raised and seeds 1, 2, ... "
                f"until {ATTACK_SECONDS // 60} minutes have passed per backend (make test runs "
                "20000 ops with seeds 6 and 13). A run counts when hv86 does not panic, the "
                "neighbour's CRC is right and the attacker ends by itself (status 1 after "
                "its PASS line) or is stopped with a logged reason (120). `ops done` is the "
                "attacker's own count (a stopped attacker prints none).\n")
    rows.append("| backend | paging | seed | ops done | attacker status | neighbour | exits | "
                "panic | seconds |")
    rows.append("| --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    tmp = tempfile.mkdtemp(prefix="hv86-bench.")
    try:
        with concurrent.futures.ThreadPoolExecutor(max_workers=len(backends)) as pool:
            results = list(pool.map(lambda b: attack_runs(b, tmp), backends))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    for b, (brows, total) in zip(backends, results):
        rows += brows
    rows.append("")
    rows.append("Total per backend: " + ", ".join(
        f"{b} {len(r)} runs in {t / 60:.1f} min" for b, (r, t) in zip(backends, results)) + ".")
    rows.append("")
    return rows


# kvm-unit-tests' vmexit.flat (make kvm-unit-tests): its own exit benchmarks, in
# guest TSC cycles per iteration, and Linux KVM's figures nested in the same QEMU
# TCG (issue 19) for scale.
KUT_VMEXIT = os.path.join(ROOT, "build", "kvm-unit-tests", "x86", "vmexit.flat")
KUT_VMEXIT_TESTS = ["cpuid", "inl_from_pmtimer", "mov_from_cr8", "mov_to_cr8",
                    "tscdeadline_immed", "tscdeadline"]
KVM_NESTED_TCG = {"cpuid": 258262, "inl_from_pmtimer": 535016}


def kut_vmexit_figures(text):
    """vmexit.flat's lines "NAME CYCLES" -> {name: cycles}."""
    return {m.group(1): int(m.group(2))
            for m in re.finditer(r"^(?:\[\w+\] )?(\w+) (\d+)$", text, re.M)
            if m.group(1) in KUT_VMEXIT_TESTS}


def kut_vmexit_section(backends):
    rows = ["## kvm-unit-tests vmexit: guest cycles per exit round trip (issue 19)\n"]
    rows.append("Alone: `python3 bench/run.py --only kut-vmexit` (replaces this section; "
                f"last on {time.strftime('%Y-%m-%d')}, {load_note()}).\n")
    rows.append("build/kvm-unit-tests/x86/vmexit.flat with `" + " ".join(KUT_VMEXIT_TESTS) +
                "`: each test loops until 2^30 guest TSC cycles pass and prints cycles per "
                "iteration. hv86 against the same image directly under QEMU TCG (there the "
                "instruction exits nowhere), and Linux KVM nested in the same QEMU TCG "
                "(figures given in issue 19) for scale. Under Bochs alone the suite cannot "
                "end its run (no isa-debug-exit), so vmx has hv86's figures only; Bochs' "
                "TSC counts instructions, so there cycles are instructions.\n")
    if not os.path.exists(KUT_VMEXIT):
        rows.append("Not run: build/kvm-unit-tests is not built (no release tarball).\n")
        return rows
    rows.append("| backend | test | hv86 cycles | direct cycles | hv86 / direct | KVM nested in TCG |")
    rows.append("| --- | --- | --- | --- | --- | --- |")
    append = " ".join(KUT_VMEXIT_TESTS)
    for b in backends:
        _, out, _ = hv86_run(b, ["--mem", "128M", "--append", append, KUT_VMEXIT], 1800)
        hv = kut_vmexit_figures(out)
        # Under Bochs alone the suite cannot end the run (no isa-debug-exit at 0xf4):
        # there is no direct figure on vmx, hv86's is compared with svm's and KVM's.
        d = kut_vmexit_figures(qemu_direct(KUT_VMEXIT, append)[1]) if b == "svm" else {}
        for t in KUT_VMEXIT_TESTS:
            h, dd = hv.get(t), d.get(t)
            ratio = f"{h / dd:.1f}" if h and dd else "-"
            kvm = KVM_NESTED_TCG.get(t, "-") if b == "svm" else "-"
            row = f"| {b} | {t} | {h or '-'} | {dd or '-'} | {ratio} | {kvm} |"
            print(f"kut-vmexit {row}", file=sys.stderr)
            rows.append(row)
    rows.append("")
    return rows


# The disk benchmark (issue 20): Debian's 6.1 in a VM with a raw 64 MiB scratch
# disk; its init runs rio (guests/linux/rio.c): 1 MiB sequential and 4 KiB random
# direct reads and writes, random at queue depth 1 and 8.
DISK_IMG = os.path.join(ROOT, "build", "disk", "bench.img")
DISK_APPEND = "console=ttyS0,115200 panic=-1 quiet hv86.disk=bench hv86.run=exit:5"
RIO_RE = re.compile(r"hv86-bench: rio: (\w+) (\w+) bs=(\d+) jobs=(\d+) ops=\d+ ms=\d+ "
                    r"iops=(\d+) kbps=(\d+)")


def rio_figures(out):
    """{(dir, kind, bs, jobs): (iops, kbps)} from the guest's hv86-bench lines."""
    return {(m[0], m[1], int(m[2]), int(m[3])): (int(m[4]), int(m[5]))
            for m in RIO_RE.findall(out)}


def disk_hv86(backend, paging="nested", extra=""):
    _, out, _ = hv86_run(backend, ["--mem", "256M", "--paging", paging, "--disk", DISK_IMG,
                                   "--append", DISK_APPEND + extra, "--initrd",
                                   os.path.join(LINUX, "initramfs.cpio.gz"),
                                   os.path.join(LINUX, "vmlinuz")], 1800)
    return out


def disk_qemu_direct():
    """The same kernel, initramfs and image under QEMU's own virtio-blk, with an
    overlay like hv86's (snapshot=on)."""
    cmd = ["qemu-system-x86_64", "-accel", "tcg", "-cpu", QEMU_CPU, "-m", "256",
           "-kernel", os.path.join(LINUX, "vmlinuz"),
           "-initrd", os.path.join(LINUX, "initramfs.cpio.gz"), "-append", DISK_APPEND,
           "-serial", "stdio", "-display", "none", "-nodefaults", "-no-reboot",
           "-device", "isa-debug-exit,iobase=0xf4,iosize=0x4",
           "-drive", f"file={DISK_IMG},format=raw,if=none,id=d,snapshot=on",
           "-device", "virtio-blk-pci,drive=d,disable-legacy=on"]
    p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                       errors="replace", timeout=900)
    return p.stdout


def summary_counts(out):
    """Exits by reason (the keys between exits= and unclaimed_io=, in the summary's
    order) and everything else of the first VM's summary line."""
    m = re.search(r"^hv86: summary vm=\S+ status=\S+ (.*)$", out, re.M)
    counts = {k: int(v) for k, v in re.findall(r"(\w+)=(\d+)", m.group(1))} if m else {}
    kinds = re.findall(r"(\w+)=\d+", summary_exits(out))
    return counts, [k for k in kinds if k != "exits"]


def disk_section(backends):
    rows = ["## Disk: virtio-blk under Linux (issue 20)\n"]
    rows.append("Alone: `python3 bench/run.py --only disk` (replaces this section; last on "
                f"{time.strftime('%Y-%m-%d')}, {load_note()}).\n")
    rows.append("Debian's 6.1 kernel, 256 MiB, a raw 64 MiB scratch disk (build/disk/bench.img, "
                "through the VM's overlay); its init runs guests/linux/rio.c: 32 x 1 MiB "
                "sequential and 800 x 4 KiB random O_DIRECT reads, then writes, random at "
                "queue depth 1 (one job) and 8 (eight). Figures as the guest measures them "
                "(its kvm-clock). `direct` is the same kernel, initramfs and image under QEMU's "
                "own virtio-blk-pci on the same emulator (`snapshot=on`, an overlay like hv86's); "
                "Bochs has no virtio device, so vmx has no direct column.\n")
    rows.append("| backend | paging | test | hv86 | direct | hv86 / direct |")
    rows.append("| --- | --- | --- | --- | --- | --- |")
    direct = rio_figures(disk_qemu_direct()) if "svm" in backends else {}
    exit_rows = []
    for b in backends:
        for paging in (("nested", "shadow") if b == "svm" else ("nested",)):
            big = disk_hv86(b, paging)
            small = disk_hv86(b, paging, " hv86.bench_mb=1 hv86.bench_ops=16")
            figs = rio_figures(big)
            for key in sorted(figs):
                d = direct.get(key) if paging == "nested" and b == "svm" else None
                unit = 1 if key[1] == "seq" else 0      # MB/s for seq, IOPS for rand
                h = figs[key][1] // 1024 if unit else figs[key][0]
                dv = (d[1] // 1024 if unit else d[0]) if d else None
                what = f"{key[0]} {key[1]} {key[2] // 1024} KiB qd{key[3]} " + \
                    ("MB/s" if unit else "IOPS")
                ratio = f"{h / dv:.2f}" if dv else "-"
                row = f"| {b} | {paging} | {what} | {h} | {dv if dv else '-'} | {ratio} |"
                print(f"disk {row}", file=sys.stderr)
                rows.append(row)
            # Exits per request: the difference between the big and the small run.
            (cb, kinds), (cs, _) = summary_counts(big), summary_counts(small)
            reqs = (cb.get("disk_reads", 0) + cb.get("disk_writes", 0)) - \
                (cs.get("disk_reads", 0) + cs.get("disk_writes", 0))
            if reqs > 0:
                per = " ".join(f"{k}={(cb.get(k, 0) - cs.get(k, 0)) / reqs:.2f}"
                               for k in kinds if cb.get(k, 0) - cs.get(k, 0))
                total = (cb.get("exits", 0) - cs.get("exits", 0)) / reqs
                exit_rows.append(f"| {b} | {paging} | {reqs} | {total:.2f} | {per} |")
    rows.append("")
    rows.append("Exits per request: the difference between the run above and one with 1 MiB "
                "and 16 I/Os (same boot), over the difference in requests served.\n")
    rows.append("| backend | paging | requests | exits per request | by reason |")
    rows.append("| --- | --- | --- | --- | --- |")
    rows += exit_rows
    rows.append("")
    return rows


# The network benchmark (issue 21): two Linux VMs on one network, one sends
# NET_BYTES over TCP to the other (busybox nc, docs/linux.md), 1 vCPU each.
NET_BYTES = 16 << 20
NET_BASE = "console=ttyS0,115200 panic=-1 quiet"
NET_RX = f"{NET_BASE} hv86.net=10.0.0.1/24 hv86.serve={NET_BYTES} hv86.run=exit:3"
NET_TX = f"{NET_BASE} hv86.net=10.0.0.2/24 hv86.peer=10.0.0.1 hv86.send={NET_BYTES}"
NET_TIME_RE = re.compile(r"hv86-init: net transfer (\d+) bytes in ([\d.]+) s")


def net_hv86(backend, tmp):
    cfg = os.path.join(tmp, "net.cfg")
    with open(cfg, "w") as f:
        for name, line, mac in (("rx", NET_RX, "0a"), ("tx", NET_TX, "0b")):
            f.write(f"[vm {name}]\nkernel = vmlinuz\nmodule = initramfs.cpio.gz\n"
                    f"cmdline = {line}\nmemory = 256M\nnet = red mac=52:54:00:00:00:{mac}\n\n")
    _, out, _ = hv86_run(backend, ["--config", cfg], 1800)
    return out


def net_qemu_direct():
    """The same two VMs under QEMU's own virtio-net, joined by a socket netdev."""
    base = ["qemu-system-x86_64", "-accel", "tcg", "-cpu", QEMU_CPU, "-m", "256",
            "-kernel", os.path.join(LINUX, "vmlinuz"),
            "-initrd", os.path.join(LINUX, "initramfs.cpio.gz"), "-serial", "stdio",
            "-display", "none", "-nodefaults", "-no-reboot",
            "-device", "isa-debug-exit,iobase=0xf4,iosize=0x4"]
    port = 15600 + os.getpid() % 300
    rx = subprocess.Popen(base + ["-append", NET_RX, "-netdev",
                                  f"socket,id=n0,listen=127.0.0.1:{port}", "-device",
                                  "virtio-net-pci,netdev=n0,mac=52:54:00:00:00:0a,"
                                  "disable-legacy=on"],
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                          errors="replace")
    time.sleep(2)
    tx = subprocess.run(base + ["-append", NET_TX, "-netdev",
                                f"socket,id=n0,connect=127.0.0.1:{port}", "-device",
                                "virtio-net-pci,netdev=n0,mac=52:54:00:00:00:0b,"
                                "disable-legacy=on"],
                        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                        errors="replace", timeout=900)
    try:
        rx.wait(timeout=120)
    except subprocess.TimeoutExpired:
        rx.kill()
    return tx.stdout


def net_section(backends):
    rows = ["## Network: VM to VM over TCP (issue 21)\n"]
    rows.append("Alone: `python3 bench/run.py --only net` (replaces this section; last on "
                f"{time.strftime('%Y-%m-%d')}, {load_note()}).\n")
    rows.append(f"Two VMs of Debian's 6.1 (1 vCPU, 256 MiB) on one network; one sends "
                f"{NET_BYTES >> 20} MiB to the other with busybox nc (docs/linux.md), timed by "
                "the sender from /proc/uptime. `direct`: the same two VMs under QEMU's own "
                "virtio-net-pci joined by a socket netdev, on the same emulator (svm only: "
                "Bochs has no virtio). Per frame: the sender's and the receiver's exits over "
                "the frames their cards moved (the boots' exits included, so an upper bound).\n")
    rows.append("| backend | hv86 MB/s | direct MB/s | hv86 / direct | frames sent | "
                "exits per frame (sender, receiver) |")
    rows.append("| --- | --- | --- | --- | --- | --- |")
    tmp = tempfile.mkdtemp(prefix="hv86-bench.")
    try:
        for b in backends:
            out = net_hv86(b, tmp)
            m = NET_TIME_RE.search(out)
            mbs = int(m.group(1)) / float(m.group(2)) / 1e6 if m else None
            d = None
            if b == "svm":
                dm = NET_TIME_RE.search(net_qemu_direct())
                d = int(dm.group(1)) / float(dm.group(2)) / 1e6 if dm else None
            tx = re.search(r"^hv86: summary vm=tx .*?exits=(\d+) .* eth0=red tx=(\d+)/", out, re.M)
            rx = re.search(r"^hv86: summary vm=rx .*?exits=(\d+) .* eth0=red tx=\d+/\d+ "
                           r"rx=(\d+)/", out, re.M)
            per = (f"{int(tx.group(1)) / int(tx.group(2)):.2f}, "
                   f"{int(rx.group(1)) / int(rx.group(2)):.2f}") if tx and rx else "-"
            ratio = f"{mbs / d:.2f}" if mbs and d else "-"
            row = (f"| {b} | {mbs:.1f} | {d:.1f} | {ratio} | {tx.group(2) if tx else '-'} | {per} |"
                   if mbs and d else
                   f"| {b} | {f'{mbs:.1f}' if mbs else '-'} | - | - | "
                   f"{tx.group(2) if tx else '-'} | {per} |")
            print(f"net {row}", file=sys.stderr)
            rows.append(row)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    rows.append("")
    return rows


def replace_section(path, title, rows):
    """Replace the section starting with `title` in path (up to the next ## line)."""
    with open(path) as f:
        text = f.read()
    start = text.index(title)
    end = text.find("\n## ", start + len(title))
    end = len(text) if end < 0 else end + 1
    with open(path, "w") as f:
        f.write(text[:start] + "\n".join(rows) + "\n" + text[end:])


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--backends", default="svm,vmx")
    ap.add_argument("--out", default=os.path.join(ROOT, "bench", "RESULTS.md"))
    ap.add_argument("--only", choices=["cpuid", "bus", "paging", "linux", "hsmp", "fair", "attack",
                                       "kut-vmexit", "disk", "net"],
                    help="run one section and replace it in --out (appended when missing)")
    a = ap.parse_args()
    backends = a.backends.split(",")
    if a.only:
        title, section = {"cpuid": ("## CPUID exit round trip", cpuid_section),
                          "bus": ("## Device access round trips", bus_section),
                          "paging": ("## Shadow vs nested paging", paging_section),
                          "linux": ("## Linux boot to init", linux_rows),
                          "hsmp": ("## Host SMP: ", hsmp_section),
                          "fair": ("## Fair shares: ", fair_section),
                          "attack": ("## Attack: ", attack_section),
                          "kut-vmexit": ("## kvm-unit-tests vmexit", kut_vmexit_section),
                          "disk": ("## Disk: ", disk_section),
                          "net": ("## Network: ", net_section)}[a.only]
        rows = section(backends)
        with open(a.out) as f:
            text = f.read()
        if title in text:
            replace_section(a.out, title, rows)
        else:   # a new section goes last, as in a full run
            with open(a.out, "w") as f:
                f.write(text.rstrip("\n") + "\n\n" + "\n".join(rows) + "\n")
        print(f"wrote {a.out}", file=sys.stderr)
        return
    cmd = "make bench" if a.backends == "svm,vmx" else "python3 bench/run.py --backends " + a.backends
    rows = []

    text, data, bss, elf, iso = image_sizes()
    rows.append("## Image\n")
    rows.append("| what | bytes |\n| --- | --- |")
    rows.append(f"| build/hv86.elf text | {text} |\n| data | {data} |\n| bss | {bss} |")
    rows.append(f"| build/hv86.elf file (with debug info) | {elf} |\n| build/hv86.iso | {iso} |\n")

    rows.append("## Boot to banner (wall time, launcher start to the banner line)\n")
    rows.append("| backend | seconds |\n| --- | --- |")
    for b in backends:
        t = banner_time(b)
        rows.append(f"| {b} | {t:.1f} |" if t else f"| {b} | no banner |")
        print(f"banner {b}: {t}", file=sys.stderr)
    rows.append("")

    rows += cpuid_section(backends)
    rows += bus_section(backends)

    rows.append("## Compute-bound guest: time under hv86 / time directly on the emulator\n")
    rows.append("The same image and arguments, best of 3 alternating runs each (TSC cycles "
                "of the workload as the guest measures it).\n")
    rows.append("| backend | cycles under hv86 | cycles direct | ratio |\n| --- | --- | --- | --- |")
    for b in backends:
        kernel = os.path.join(GUESTS, "bench_compute.elf")
        rounds = "rounds=200" if b == "svm" else "rounds=4"
        hs, ds = [], []
        for _ in range(3):
            _, out, _ = hv86_run(b, ["--append", rounds, kernel])
            hs.append(number(r"cycles=(\d+)", out))
            ds.append(number(r"cycles=(\d+)", direct(b, kernel, rounds)))
        h = min(x for x in hs if x) if any(hs) else None
        d = min(x for x in ds if x) if any(ds) else None
        ratio = f"{h / d:.3f}" if h and d else "-"
        rows.append(f"| {b} | {h} | {d} | {ratio} |")
        print(f"compute {b}: {h} / {d} = {ratio}", file=sys.stderr)
    rows.append("")

    rows.append("## Hypervisor memory per VM and VM-switch cost\n")
    rows.append("From hv86's summary line for two VMs (tests/system/configs/isolate.cfg): "
                "hv_bytes is every byte hv86 allocated for the VM (VM and vCPU structures, "
                "VMCB/VMCS, nested page tables, FPU area, devices), guest RAM excluded; "
                "switch_cycles is the host TSC spent handing the CPU to the VM (scheduler "
                "and FPU state), the backend's VMCS/VMCB activation excluded.\n")
    rows.append("| backend | hv_bytes per VM | switches | TSC per switch |\n| --- | --- | --- | --- |")
    for b in backends:
        _, out, _ = hv86_run(b, ["--config", os.path.join(ROOT, "tests", "system", "configs",
                                                          "isolate.cfg")])
        m = re.search(r"^hv86: summary vm=iso1 .*hv_bytes=(\d+) switches=(\d+) switch_cycles=(\d+)",
                      out, re.M)
        rows.append(f"| {b} | {m.group(1)} | {m.group(2)} | {m.group(3)} |" if m else f"| {b} | - | - | - |")
    rows.append("")

    rows.append("## Exits by reason per test guest\n")
    rows.append("| guest | " + " | ".join(backends) + " |")
    rows.append("| --- | " + " | ".join("---" for _ in backends) + " |")
    for g, args in EXIT_GUESTS:
        cells = []
        for b in backends:
            extra = ["--append", args] if args else []
            _, out, _ = hv86_run(b, extra + [os.path.join(GUESTS, g + ".elf")])
            cells.append(summary_exits(out))
        rows.append(f"| {g} | " + " | ".join(cells) + " |")
        print(f"exits {g}: {cells}", file=sys.stderr)
    rows.append("")

    rows.append("## Local APIC timer: ticks per second against exits per second\n")
    rows.append("guests/bench_apictimer.c runs a periodic LAPIC timer at the requested rate for "
                "0.2 s of guest time (hz / 5 ticks), halting between ticks (idle) or computing "
                "with interrupts on (busy: hv86 must interrupt the running guest for each "
                "tick, by programming the host's one-shot for the guest's deadline). achieved "
                "is the rate the ticks came at, by the guest's TSC calibrated on a 50 ms "
                "one-shot; exits/tick and exits/s leave out the guest's console I/O (io).\n")
    rows.append("| backend | mode | hz | achieved hz | exits/tick | exits/s | exits by reason |")
    rows.append("| --- | --- | --- | --- | --- | --- | --- |")
    for b in backends:
        for mode in ("idle", "busy"):
            for hz in (100, 1000, 4000):
                kernel = os.path.join(GUESTS, "bench_apictimer.elf")
                _, out, _ = hv86_run(b, ["--append", f"hz={hz} mode={mode}", kernel])
                got = re.search(r"ticks=(\d+) ms=(\d+) achieved_hz=(\d+)", out)
                exits = summary_exits(out)
                total, io = number(r"exits=(\d+)", exits), number(r"\bio=(\d+)", exits) or 0
                if not got or total is None:
                    rows.append(f"| {b} | {mode} | {hz} | - | - | - | {exits} |")
                    continue
                ticks, ms, achieved = (int(x) for x in got.groups())
                per_tick = (total - io) / ticks
                per_s = (total - io) * 1000 / ms if ms else 0
                rows.append(f"| {b} | {mode} | {hz} | {achieved} | {per_tick:.2f} | {per_s:.0f} "
                            f"| {exits} |")
                print(f"apictimer {b} {mode} {hz}: {achieved} Hz, {per_tick:.2f} exits/tick",
                      file=sys.stderr)
    rows += paging_section(backends)

    rows += linux_rows(backends)

    rows += hsmp_section(backends)
    rows += fair_section(backends)
    rows += attack_section(backends)
    rows += kut_vmexit_section(backends)
    rows += disk_section(backends)
    rows += net_section(backends)

    with open(a.out, "w") as f:
        f.write("# hv86 benchmark results\n\n")
        f.write(f"Produced by `{cmd}` on {time.strftime('%Y-%m-%d')} "
                "(2-core machine, QEMU 7.2 TCG `-cpu EPYC` for svm, Bochs 2.7 "
                "`corei7_skylake_x` for vmx).\n\n")
        f.write("\n".join(rows) + "\n")
    print(f"wrote {a.out}", file=sys.stderr)


if __name__ == "__main__":
    main()

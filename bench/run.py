#!/usr/bin/env python3
"""hv86 benchmarks: `make bench` (or python3 bench/run.py [--backends svm,vmx]).

Emulators make absolute times meaningless, so every figure is either a ratio taken
within one run (the same workload as a guest of hv86 and directly on the same
emulator) or a deterministic count (exits by reason, bytes, Bochs instructions).
The results are written to bench/RESULTS.md together with the command.
"""
import argparse
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
    ap.add_argument("--only", choices=["paging"],
                    help="run one section and replace it in --out")
    a = ap.parse_args()
    backends = a.backends.split(",")
    if a.only == "paging":
        replace_section(a.out, "## Shadow vs nested paging", paging_section(backends))
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

    rows.append("## CPUID exit round trip (guest TSC cycles per CPUID; Bochs: instructions)\n")
    rows.append("Measured like kvm-unit-tests' vmexit test: a loop of CPUIDs in a guest, the "
                "loop's own cost subtracted. Directly on the emulator CPUID does not exit, so "
                "the difference is the hypervisor's round trip.\n")
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

    with open(a.out, "w") as f:
        f.write("# hv86 benchmark results\n\n")
        f.write(f"Produced by `{cmd}` on {time.strftime('%Y-%m-%d')} "
                "(2-core machine, QEMU 7.2 TCG `-cpu EPYC` for svm, Bochs 2.7 "
                "`corei7_skylake_x` for vmx).\n\n")
        f.write("\n".join(rows) + "\n")
    print(f"wrote {a.out}", file=sys.stderr)


if __name__ == "__main__":
    main()

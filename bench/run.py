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
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
RUN = os.path.join(ROOT, "tools", "hv86-run")
GUESTS = os.path.join(ROOT, "build", "guests")
HV86 = os.path.join(ROOT, "build", "hv86.elf")
QEMU_CPU = "EPYC"

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
    m = re.search(r"^hv86: summary vm=\S+ status=\S+ (exits=.*)$", text, re.M)
    return m.group(1).strip() if m else "(no summary line)"


def image_sizes():
    out = subprocess.run(["size", HV86], stdout=subprocess.PIPE, text=True).stdout
    text, data, bss = out.splitlines()[1].split()[:3]
    iso = os.path.getsize(os.path.join(ROOT, "build", "hv86.iso"))
    return int(text), int(data), int(bss), os.path.getsize(HV86), iso


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--backends", default="svm,vmx")
    ap.add_argument("--out", default=os.path.join(ROOT, "bench", "RESULTS.md"))
    a = ap.parse_args()
    backends = a.backends.split(",")
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
    rows.append("| backend | under hv86 | directly on the emulator | hypervisor cost per exit |")
    rows.append("| --- | --- | --- | --- |")
    direct = None
    if "svm" in backends:
        _, out = qemu_direct(os.path.join(GUESTS, "bench_cpuid.elf"), "n=2000")
        direct = number(r"cycles_per_cpuid=(\d+)", out)
    for b in backends:
        _, out, _ = hv86_run(b, ["--append", "n=2000", os.path.join(GUESTS, "bench_cpuid.elf")])
        hv = number(r"cycles_per_cpuid=(\d+)", out)
        d = direct if b == "svm" else None
        cost = f"{hv - d}" if hv is not None and d is not None else "-"
        rows.append(f"| {b} | {hv} | {d if d is not None else 'not measured'} | {cost} |")
        print(f"cpuid {b}: {hv} (direct {d})", file=sys.stderr)
    rows.append("")

    rows.append("## Compute-bound guest: time under hv86 / time directly on the emulator\n")
    rows.append("| backend | cycles under hv86 | cycles direct | ratio |\n| --- | --- | --- | --- |")
    if "svm" in backends:
        _, out = qemu_direct(os.path.join(GUESTS, "bench_compute.elf"), "rounds=200")
        d = number(r"cycles=(\d+)", out)
        _, out, _ = hv86_run("svm", ["--append", "rounds=200",
                                     os.path.join(GUESTS, "bench_compute.elf")])
        h = number(r"cycles=(\d+)", out)
        ratio = f"{h / d:.3f}" if h and d else "-"
        rows.append(f"| svm | {h} | {d} | {ratio} |")
        print(f"compute svm: {h} / {d} = {ratio}", file=sys.stderr)
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

    with open(a.out, "w") as f:
        f.write("# hv86 benchmark results\n\n")
        f.write(f"Produced by `{cmd}` on {time.strftime('%Y-%m-%d')} "
                "(2-core machine, QEMU 7.2 TCG `-cpu EPYC` for svm, Bochs 2.7 "
                "`corei7_skylake_x` for vmx).\n\n")
        f.write("\n".join(rows) + "\n")
    print(f"wrote {a.out}", file=sys.stderr)


if __name__ == "__main__":
    main()

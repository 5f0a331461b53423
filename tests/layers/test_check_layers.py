#!/usr/bin/env python3
"""Tests of scripts/check-layers: small fake trees in a temporary folder, each with
one kind of fault, must fail naming the file and line; a clean one must pass.

    python3 -m unittest discover -s tests/layers       (make layers runs it)
"""

import os
import shutil
import subprocess
import sys
import tempfile
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
SCRIPT = os.path.join(REPO, "scripts", "check-layers")

# A clean miniature of hv86's layout: one file or two per layer, includes as allowed.
CLEAN = {
    "arch/x86.h": "#pragma once\n#include <stdint.h>\n#define CR0_PG (1u << 31)\n",
    "lib/format.h": "#pragma once\n#include <stdarg.h>\n",
    "lib/format.c": '#include "lib/format.h"\n#include "arch/x86.h"\n',
    "dev/bus.h": '#pragma once\n#include <stdint.h>\n',
    "dev/bus.c": '#include "dev/bus.h"\n#include "lib/format.h"\n',
    "dev/lapic.h": '#pragma once\n#include "dev/bus.h"\n',
    "dev/lapic.c": '#include "dev/lapic.h"\n#include "arch/x86.h"\n',
    "loader/multiboot_guest.c": '#include "lib/format.h"\n',
    "vmm/emulate/decode.h": "#pragma once\n",
    "vmm/emulate/emulate.h": '#pragma once\n#include "vmm/emulate/decode.h"\n',
    "vmm/gpt_walk.h": '#pragma once\n#include "arch/x86.h"\n',
    "vmm/gpt_walk.c": '#include "vmm/gpt_walk.h"\n',
    "vmm/shadow_pure.c": '#include "vmm/gpt_walk.h"\n',
    "vmm/svm/svm_defs.h": "#pragma once\n",
    "vmm/svm/vmcb_check.h": '#pragma once\n#include "vmm/svm/svm_defs.h"\n',
    "vmm/vmx/vmx_defs.h": "#pragma once\n",
    "vmm/vmx/vmcs_check.c": '#include "vmm/vmx/vmx_defs.h"\n',
    "vmm/hv.h": "#pragma once\nvoid hv_main(void);\n",
    "vmm/vcpu.h": "#pragma once\nstruct vm;\n",
    "vmm/vm.h": '#pragma once\n#include "vmm/vcpu.h"\n',
    "vmm/vmm_ops.h": '#pragma once\n#include "vmm/vcpu.h"\n',
    "vmm/platform.c": ('#include "dev/lapic.h"\n#include "kernel/console.h"\n'
                       '#include "vmm/vm.h"\n#include "loader/multiboot_guest.h"\n'),
    "loader/multiboot_guest.h": "#pragma once\n",
    "vmm/mmio.c": '#include "vmm/emulate/emulate.h"\n#include "vmm/gpt_walk.h"\n',
    "vmm/svm/svm.h": '#pragma once\n#include "vmm/vm.h"\n#include "vmm/svm/svm_defs.h"\n',
    "vmm/svm/svm.c": ('#include "vmm/svm/svm.h"\n#include "vmm/svm/vmcb_check.h"\n'
                      '#include "kernel/x86.h"\n'),
    "vmm/vmx/vmx.h": '#pragma once\n#include "vmm/vmm_ops.h"\n',
    "vmm/vmx/vmx_exit.c": ('#include "vmm/vmx/vmx.h"\n'
                           '#include "vmm/emulate/decode.h"\n'),
    "vmm/vmx/vmx_entry.S": '#include "vmm/vmx/vmx_defs.h"\n',
    "kernel/x86.h": '#pragma once\n#include "arch/x86.h"\n',
    "kernel/console.h": "#pragma once\n",
    "kernel/main.c": '#include "kernel/console.h"\n#include "vmm/hv.h"\n',
    "boot/multiboot.h": "#pragma once\n",
    "boot/entry.S": '#include "kernel/x86.h"\n',
    "guests/rt/rt.h": "#pragma once\n",
    "guests/hello.c": '#include "guests/rt/rt.h"\n',
    "tests/unit/test_lapic.c": ('#include <cmocka.h>\n#include "dev/lapic.h"\n'
                                '#include "kernel/console.h"\n'),
    # Not sources: never read.
    "docs/architecture.md": '#include "nowhere.h"\n',
    "build/hv/junk.c": '#include "nowhere.h"\n',
}


class CheckLayersTest(unittest.TestCase):

    def setUp(self):
        self.root = tempfile.mkdtemp(prefix="check-layers.")
        self.addCleanup(shutil.rmtree, self.root, ignore_errors=True)

    def write(self, files):
        for path, text in files.items():
            full = os.path.join(self.root, path)
            os.makedirs(os.path.dirname(full), exist_ok=True)
            with open(full, "w") as f:
                f.write(text)

    def run_check(self, extra=None, drop=()):
        files = dict(CLEAN)
        for p in drop:
            del files[p]
        files.update(extra or {})
        self.write(files)
        p = subprocess.run([sys.executable, SCRIPT, "--root", self.root],
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        return p.returncode, p.stdout.decode()

    def assertFails(self, rc, out, *wanted):
        self.assertEqual(rc, 1, out)
        for w in wanted:
            self.assertIn(w, out)
        self.assertRegex(out.splitlines()[-1], r"^check-layers: .*FAILED")

    def test_clean_tree_passes(self):
        rc, out = self.run_check()
        self.assertEqual(rc, 0, out)
        last = out.splitlines()[-1]
        self.assertRegex(last, r"^check-layers: %d files, \d+ includes, 15 layers .*"
                         r"0 of more than one file: OK$" % (len(CLEAN) - 2))
        self.assertEqual(len(out.splitlines()), 1, out)

    def test_clean_tree_without_arch_passes(self):
        """hv86 before arch/ existed."""
        rc, out = self.run_check(
            extra={"lib/format.c": '#include "lib/format.h"\n',
                   "dev/lapic.c": '#include "dev/lapic.h"\n',
                   "vmm/gpt_walk.h": "#pragma once\n",
                   "kernel/x86.h": "#pragma once\n"},
            drop=["arch/x86.h"])
        self.assertEqual(rc, 0, out)

    def test_docs_list_every_file(self):
        """docs/architecture.md's Files tables: a file missing, a stale row."""
        listing = "# x\n\n## Files\n"
        folders = {}
        for path in CLEAN:
            if path.startswith(("docs/", "build/")):
                continue
            folder, name = path.rsplit("/", 1)
            folders.setdefault(folder, []).append(name)
        for folder, names in sorted(folders.items()):
            listing += "\n### %s/\n\n| file | layer | what |\n|---|---|---|\n" % folder
            listing += "".join("| %s | x | y |\n" % n for n in names)
        rc, out = self.run_check(extra={"docs/architecture.md": listing})
        self.assertEqual(rc, 0, out)
        rc, out = self.run_check(extra={
            "docs/architecture.md": listing.replace("| svm.c | x | y |\n", "")
                                    + "\n### dev/\n\n| gone.c | x | y |\n"})
        self.assertFails(rc, out,
                         "vmm/svm/svm.c: not listed in docs/architecture.md's Files tables",
                         "dev/gone.c: docs/architecture.md lists it, but there is no such file")

    def test_pure_device_includes_kernel(self):
        rc, out = self.run_check(extra={
            "dev/pit.c": '#include "dev/bus.h"\n\n#include "kernel/timer.h"\n',
            "kernel/timer.h": "#pragma once\n"})
        self.assertFails(rc, out, "dev/pit.c:3: includes kernel/timer.h: "
                                  "layer dev may not include layer host")

    def test_device_includes_core(self):
        rc, out = self.run_check(extra={"dev/bus.c": '#include "vmm/vm.h"\n'})
        self.assertFails(rc, out, "dev/bus.c:1: includes vmm/vm.h: "
                                  "layer dev may not include layer core")

    def test_pure_core_file_includes_core_header(self):
        rc, out = self.run_check(extra={
            "vmm/shadow_pure.c": '#include "vmm/gpt_walk.h"\n#include "vmm/vcpu.h"\n'})
        self.assertFails(rc, out, "vmm/shadow_pure.c:2: includes vmm/vcpu.h: "
                                  "layer core-pure may not include layer core")

    def test_arch_includes_nothing(self):
        rc, out = self.run_check(extra={
            "arch/x86.h": '#pragma once\n#include "lib/format.h"\n'})
        self.assertFails(rc, out, "arch/x86.h:2: includes lib/format.h: "
                                  "layer arch may not include layer lib")

    def test_core_includes_backend(self):
        rc, out = self.run_check(extra={
            "vmm/sched.c": '#include "vmm/vm.h"\n#include "vmm/vmx/vmx.h"\n'})
        self.assertFails(rc, out, "vmm/sched.c:2: includes vmm/vmx/vmx.h: "
                                  "layer core may not include layer vmx")

    def test_backend_includes_other_backend(self):
        rc, out = self.run_check(extra={
            "vmm/svm/npt.c": '#include "vmm/svm/svm.h"\n#include "vmm/vmx/vmx_defs.h"\n'})
        self.assertFails(rc, out, "vmm/svm/npt.c:2: includes vmm/vmx/vmx_defs.h: "
                                  "layer svm may not include layer vmx-pure")

    def test_host_includes_core(self):
        rc, out = self.run_check(extra={
            "kernel/main.c": '#include "vmm/hv.h"\n#include "vmm/vm.h"\n'})
        self.assertFails(rc, out, "kernel/main.c:2: includes vmm/vm.h: "
                                  "layer host may not include layer core")

    def test_guest_includes_device(self):
        rc, out = self.run_check(extra={
            "guests/hello.c": '#include "guests/rt/rt.h"\n#include "dev/lapic.h"\n'})
        self.assertFails(rc, out, "guests/hello.c:2: includes dev/lapic.h: "
                                  "layer guests may not include layer dev")

    def test_two_file_cycle(self):
        rc, out = self.run_check(extra={
            "vmm/vcpu.h": '#pragma once\n#include "vmm/vm.h"\n'})
        self.assertFails(rc, out, "include cycle: strongly connected component "
                                  "of 2 files: vmm/vcpu.h vmm/vm.h",
                         "1 of more than one file")

    def test_three_file_cycle_named_in_order(self):
        rc, out = self.run_check(extra={
            "lib/a.h": '#include "lib/b.h"\n',
            "lib/b.h": '#include "lib/c.h"\n',
            "lib/c.h": '#include "lib/a.h"\n'})
        self.assertFails(rc, out, "lib/a.h lib/b.h lib/c.h",
                         "e.g. lib/a.h -> lib/b.h -> lib/c.h -> lib/a.h")

    def test_missing_include(self):
        rc, out = self.run_check(extra={
            "dev/bus.c": '#include "dev/bus.h"\n/* a comment */\n#include "dev/gone.h"\n'})
        self.assertFails(rc, out, "dev/bus.c:3: includes dev/gone.h: "
                                  "no such file in the tree")

    def test_include_outside_tree(self):
        rc, out = self.run_check(extra={"lib/format.c": '#include "../x.h"\n'})
        self.assertFails(rc, out, "lib/format.c:1: includes ../x.h: no such file")

    def test_include_next_to_file_resolves(self):
        rc, out = self.run_check(extra={
            "dev/bus.c": '#include "bus.h"\n'})
        self.assertEqual(rc, 0, out)

    def test_hosted_header_in_freestanding_code(self):
        rc, out = self.run_check(extra={
            "dev/bus.c": '#include "dev/bus.h"\n#include <stdio.h>\n'})
        self.assertFails(rc, out, "dev/bus.c:2: includes stdio.h: "
                                  "layer dev is freestanding")

    def test_file_in_no_layer(self):
        rc, out = self.run_check(extra={"virtio/blk.c": "int x;\n"})
        self.assertFails(rc, out, "virtio/blk.c: belongs to no layer")

    def test_commented_include_ignored(self):
        rc, out = self.run_check(extra={
            "dev/bus.c": ('#include "dev/bus.h"\n/* #include "kernel/x86.h"\n'
                          '#include "vmm/vm.h" */\n// #include "vmm/vm.h"\n')})
        self.assertEqual(rc, 0, out)

    def test_every_fault_reported_at_once(self):
        rc, out = self.run_check(extra={
            "dev/bus.c": '#include "kernel/x86.h"\n#include "dev/nope.h"\n',
            "vmm/vcpu.h": '#pragma once\n#include "vmm/vm.h"\n'})
        self.assertFails(rc, out, "dev/bus.c:1:", "dev/bus.c:2:", "include cycle",
                         "FAILED, 3 problems")


if __name__ == "__main__":
    unittest.main()

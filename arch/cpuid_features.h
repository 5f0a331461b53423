/* CPUID feature bits by name: the "feature words" (one leaf/subleaf/register each)
 * that hold them, and the names Linux gives them in /proc/cpuinfo (Linux 6.1
 * arch/x86/include/asm/cpufeatures.h, lower case). Architectural facts only: which
 * of them hv86 offers is vmm/policy/cpuid_model.c's decision (docs/cpuid.md). The
 * list names the bits a VM's config may remove (`cpu = host,-avx2`, docs/config.md);
 * it is an X-macro so that lib/config.c and the policy expand the same table. */
#ifndef ARCH_CPUID_FEATURES_H
#define ARCH_CPUID_FEATURES_H

/* The feature words: (leaf, subleaf, register). */
enum cpuid_word {
    CPUID_W_1_EDX,          /* leaf 1 EDX */
    CPUID_W_1_ECX,          /* leaf 1 ECX */
    CPUID_W_6_EAX,          /* leaf 6 EAX: thermal and power management */
    CPUID_W_7_0_EBX,        /* leaf 7 subleaf 0 EBX */
    CPUID_W_7_0_ECX,
    CPUID_W_7_0_EDX,
    CPUID_W_7_1_EAX,        /* leaf 7 subleaf 1 EAX */
    CPUID_W_D_1_EAX,        /* leaf 0xD subleaf 1 EAX: XSAVE extensions */
    CPUID_W_80000001_EDX,
    CPUID_W_80000001_ECX,
    CPUID_W_80000007_EDX,   /* advanced power management: invariant TSC */
    CPUID_W_80000008_EBX,
    CPUID_WORDS
};

/* X(name, word, bit): a name of /proc/cpuinfo for one bit. The names of the bits
 * hv86 may offer (the allow-list, vmm/policy/cpuid_model.c); the others cannot be
 * removed because a guest never sees them. */
#define CPUID_FEATURES(X) \
    X("fpu", CPUID_W_1_EDX, 0) X("vme", CPUID_W_1_EDX, 1) X("de", CPUID_W_1_EDX, 2) \
    X("pse", CPUID_W_1_EDX, 3) X("tsc", CPUID_W_1_EDX, 4) X("msr", CPUID_W_1_EDX, 5) \
    X("pae", CPUID_W_1_EDX, 6) X("mce", CPUID_W_1_EDX, 7) X("cx8", CPUID_W_1_EDX, 8) \
    X("apic", CPUID_W_1_EDX, 9) X("sep", CPUID_W_1_EDX, 11) X("mtrr", CPUID_W_1_EDX, 12) \
    X("pge", CPUID_W_1_EDX, 13) X("mca", CPUID_W_1_EDX, 14) X("cmov", CPUID_W_1_EDX, 15) \
    X("pat", CPUID_W_1_EDX, 16) X("pse36", CPUID_W_1_EDX, 17) \
    X("clflush", CPUID_W_1_EDX, 19) X("mmx", CPUID_W_1_EDX, 23) \
    X("fxsr", CPUID_W_1_EDX, 24) X("sse", CPUID_W_1_EDX, 25) X("sse2", CPUID_W_1_EDX, 26) \
    X("ss", CPUID_W_1_EDX, 27) X("ht", CPUID_W_1_EDX, 28) \
    X("pni", CPUID_W_1_ECX, 0) X("pclmulqdq", CPUID_W_1_ECX, 1) \
    X("ssse3", CPUID_W_1_ECX, 9) X("fma", CPUID_W_1_ECX, 12) X("cx16", CPUID_W_1_ECX, 13) \
    X("pcid", CPUID_W_1_ECX, 17) X("sse4_1", CPUID_W_1_ECX, 19) \
    X("sse4_2", CPUID_W_1_ECX, 20) X("x2apic", CPUID_W_1_ECX, 21) \
    X("movbe", CPUID_W_1_ECX, 22) X("popcnt", CPUID_W_1_ECX, 23) \
    X("tsc_deadline_timer", CPUID_W_1_ECX, 24) X("aes", CPUID_W_1_ECX, 25) \
    X("xsave", CPUID_W_1_ECX, 26) X("avx", CPUID_W_1_ECX, 28) X("f16c", CPUID_W_1_ECX, 29) \
    X("rdrand", CPUID_W_1_ECX, 30) X("hypervisor", CPUID_W_1_ECX, 31) \
    X("arat", CPUID_W_6_EAX, 2) \
    X("fsgsbase", CPUID_W_7_0_EBX, 0) X("bmi1", CPUID_W_7_0_EBX, 3) \
    X("avx2", CPUID_W_7_0_EBX, 5) X("fdp_excptn_only", CPUID_W_7_0_EBX, 6) \
    X("smep", CPUID_W_7_0_EBX, 7) X("bmi2", CPUID_W_7_0_EBX, 8) X("erms", CPUID_W_7_0_EBX, 9) \
    X("invpcid", CPUID_W_7_0_EBX, 10) X("zero_fcs_fds", CPUID_W_7_0_EBX, 13) \
    X("avx512f", CPUID_W_7_0_EBX, 16) X("avx512dq", CPUID_W_7_0_EBX, 17) \
    X("rdseed", CPUID_W_7_0_EBX, 18) X("adx", CPUID_W_7_0_EBX, 19) \
    X("smap", CPUID_W_7_0_EBX, 20) X("avx512ifma", CPUID_W_7_0_EBX, 21) \
    X("clflushopt", CPUID_W_7_0_EBX, 23) X("clwb", CPUID_W_7_0_EBX, 24) \
    X("avx512pf", CPUID_W_7_0_EBX, 26) X("avx512er", CPUID_W_7_0_EBX, 27) \
    X("avx512cd", CPUID_W_7_0_EBX, 28) X("sha_ni", CPUID_W_7_0_EBX, 29) \
    X("avx512bw", CPUID_W_7_0_EBX, 30) X("avx512vl", CPUID_W_7_0_EBX, 31) \
    X("avx512vbmi", CPUID_W_7_0_ECX, 1) X("umip", CPUID_W_7_0_ECX, 2) \
    X("avx512_vbmi2", CPUID_W_7_0_ECX, 6) X("gfni", CPUID_W_7_0_ECX, 8) \
    X("vaes", CPUID_W_7_0_ECX, 9) X("vpclmulqdq", CPUID_W_7_0_ECX, 10) \
    X("avx512_vnni", CPUID_W_7_0_ECX, 11) X("avx512_bitalg", CPUID_W_7_0_ECX, 12) \
    X("avx512_vpopcntdq", CPUID_W_7_0_ECX, 14) X("cldemote", CPUID_W_7_0_ECX, 25) \
    X("movdiri", CPUID_W_7_0_ECX, 27) X("movdir64b", CPUID_W_7_0_ECX, 28) \
    X("avx512_4vnniw", CPUID_W_7_0_EDX, 2) X("avx512_4fmaps", CPUID_W_7_0_EDX, 3) \
    X("fsrm", CPUID_W_7_0_EDX, 4) X("avx512_vp2intersect", CPUID_W_7_0_EDX, 8) \
    X("md_clear", CPUID_W_7_0_EDX, 10) X("serialize", CPUID_W_7_0_EDX, 14) \
    X("avx512_fp16", CPUID_W_7_0_EDX, 23) \
    X("avx_vnni", CPUID_W_7_1_EAX, 4) X("avx512_bf16", CPUID_W_7_1_EAX, 5) \
    X("xsaveopt", CPUID_W_D_1_EAX, 0) X("xsavec", CPUID_W_D_1_EAX, 1) \
    X("xgetbv1", CPUID_W_D_1_EAX, 2) \
    X("syscall", CPUID_W_80000001_EDX, 11) X("nx", CPUID_W_80000001_EDX, 20) \
    X("mmxext", CPUID_W_80000001_EDX, 22) X("fxsr_opt", CPUID_W_80000001_EDX, 25) \
    X("pdpe1gb", CPUID_W_80000001_EDX, 26) X("lm", CPUID_W_80000001_EDX, 29) \
    X("3dnowext", CPUID_W_80000001_EDX, 30) X("3dnow", CPUID_W_80000001_EDX, 31) \
    X("lahf_lm", CPUID_W_80000001_ECX, 0) X("abm", CPUID_W_80000001_ECX, 5) \
    X("sse4a", CPUID_W_80000001_ECX, 6) X("misalignsse", CPUID_W_80000001_ECX, 7) \
    X("3dnowprefetch", CPUID_W_80000001_ECX, 8) X("xop", CPUID_W_80000001_ECX, 11) \
    X("fma4", CPUID_W_80000001_ECX, 16) X("tbm", CPUID_W_80000001_ECX, 21) \
    X("constant_tsc", CPUID_W_80000007_EDX, 8) X("nonstop_tsc", CPUID_W_80000007_EDX, 8) \
    X("clzero", CPUID_W_80000008_EBX, 0) X("xsaveerptr", CPUID_W_80000008_EBX, 2)

#endif

/* The VM's CPU model, an allow-list (vmm/policy/cpuid_model.h, docs/cpuid.md: each
 * offered bit there with its reason). */
#include "arch/x86.h"
#include "vmm/policy/cpuid_model.h"

enum { EAX, EBX, ECX, EDX };
#define B(n) (1u << (n))

/* Leaf 1 EDX: FPU VME DE PSE TSC MSR PAE MCE CX8 APIC (0-9), SEP MTRR PGE MCA
 * CMOV PAT PSE36 (11-17), CLFSH (19), MMX FXSR SSE SSE2 SS (23-27). Not PSN (18),
 * DS (21), ACPI (22, thermal MSRs), TM (29), PBE (31). */
#define L1_EDX (0x3FFu | 0x7Fu << 11 | B(19) | 0x1Fu << 23)
/* Leaf 1 ECX: SSE3 PCLMULQDQ SSSE3 FMA CX16 PCID SSE4.1 SSE4.2 MOVBE POPCNT AES
 * XSAVE AVX F16C RDRAND. Not DTES64, MONITOR, DS-CPL, VMX, SMX, EIST, TM2, CNXT-ID,
 * SDBG, xTPR, PDCM, DCA; OSXSAVE is the guest's CR4.OSXSAVE. */
#define L1_ECX (B(0) | B(1) | B(9) | B(12) | B(13) | B(17) | B(19) | B(20) | B(22) | \
                B(23) | B(25) | B(26) | B(28) | B(29) | B(30))
#define L1_ECX_FMA B(12)
#define L1_ECX_AVX B(28)
#define L1_ECX_F16C B(29)
/* Leaf 7.0 EBX: FSGSBASE BMI1 AVX2 FDP_EXCPTN_ONLY SMEP BMI2 ERMS INVPCID
 * FPU-CS/DS-deprecated AVX512F AVX512DQ RDSEED ADX SMAP AVX512IFMA CLFLUSHOPT CLWB
 * AVX512PF AVX512ER AVX512CD SHA AVX512BW AVX512VL. Not TSC_ADJUST (MSR 0x3B), SGX,
 * HLE/RTM (TSX), PQM/PQE (RDT MSRs), MPX (BNDCFGS, XCR0 3-4), Intel PT. */
#define L7_EBX (B(0) | B(3) | B(5) | B(6) | B(7) | B(8) | B(9) | B(10) | B(13) | B(16) | \
                B(17) | B(18) | B(19) | B(20) | B(21) | B(23) | B(24) | B(26) | B(27) | \
                B(28) | B(29) | B(30) | B(31))
#define L7_EBX_AVX2 B(5)
#define L7_EBX_AVX512F B(16)
#define L7_EBX_AVX512 (B(16) | B(17) | B(21) | B(26) | B(27) | B(28) | B(30) | B(31))
/* Leaf 7.0 ECX: AVX512_VBMI UMIP AVX512_VBMI2 GFNI VAES VPCLMULQDQ AVX512_VNNI
 * AVX512_BITALG AVX512_VPOPCNTDQ CLDEMOTE MOVDIRI MOVDIR64B. Not PREFETCHWT1, PKU
 * and OSPKE (the shadow walker has no protection keys), WAITPKG (UMWAIT_CONTROL MSR),
 * CET, TME, LA57 (CR4.LA57 is not offered), KL, ENQCMD, SGX_LC. RDPID: its
 * IA32_TSC_AUX is per vCPU (vmm/msr.c). */
#define L7_ECX (B(1) | B(2) | B(6) | B(8) | B(9) | B(10) | B(11) | B(12) | B(14) | B(22) | \
                B(25) | B(27) | B(28))
#define L7_ECX_AVX (B(9) | B(10))
#define L7_ECX_AVX512 (B(1) | B(6) | B(11) | B(12) | B(14))
/* Leaf 7.0 EDX: AVX512_4VNNIW AVX512_4FMAPS FSRM AVX512_VP2INTERSECT MD_CLEAR
 * SERIALIZE AVX512_FP16. Not HYBRID, TSXLDTRK, PCONFIG, ARCH_LBR, IBT, AMX, nor the
 * speculation-control bits 26-31 (SPEC_CTRL, PRED_CMD, FLUSH_CMD, ARCH_CAPABILITIES,
 * CORE_CAPABILITIES: MSRs hv86 does not have). */
#define L7_EDX (B(2) | B(3) | B(4) | B(8) | B(10) | B(14) | B(23))
#define L7_EDX_AVX512 (B(2) | B(3) | B(8) | B(23))
/* Leaf 7.1 EAX: AVX_VNNI AVX512_BF16. */
#define L71_EAX (B(4) | B(5))
#define L71_EAX_AVX B(4)
#define L71_EAX_AVX512 B(5)
/* Leaf 0xD.1 EAX: XSAVEOPT XSAVEC XGETBV with ECX=1. Not XSAVES (IA32_XSS). */
#define LD1_EAX (B(0) | B(1) | B(2))
#define LD1_EAX_XSAVEC B(1)
/* 0x80000001 EDX: AMD's copies of leaf 1's bits (0-9, 12-17, 23-24) and SYSCALL NX
 * MMXEXT FFXSR PDPE1GB RDTSCP (IA32_TSC_AUX per vCPU, vmm/msr.c) LM 3DNOWEXT 3DNOW.
 * Not MP. */
#define E1_EDX_MIRROR (0x3FFu | 0x3Fu << 12 | B(23) | B(24))
#define E1_EDX ((L1_EDX & E1_EDX_MIRROR) | B(11) | B(20) | B(22) | B(25) | B(26) | B(27) | \
                B(29) | B(30) | B(31))
/* 0x80000001 ECX: LAHF_LM ABM SSE4A MISALIGNSSE 3DNOWPREFETCH XOP FMA4 TBM. Not
 * CMP_LEGACY, SVM, EXTAPIC, CR8_LEGACY, OSVW, IBS, SKINIT, WDT, LWP, TCE, NODEID,
 * TOPOEXT (0x8000001E is not offered), the PERFCTR extensions (their MSRs), MWAITX. */
#define E1_ECX (B(0) | B(5) | B(6) | B(7) | B(8) | B(11) | B(16) | B(21))
#define E1_ECX_AVX (B(11) | B(16))
/* 0x80000007 EDX: the invariant TSC (the guest's TSC is the host's, docs/platform.md). */
#define E7_EDX B(8)
/* 0x80000008 EBX: CLZERO XSAVEERPTR. Not INSTRETCNT, WBNOINVD, the AMD speculation
 * controls (IBPB, IBRS, STIBP, SSBD: MSRs hv86 does not have). */
#define E8_EBX (B(0) | B(2))

#define XCR0_AVX512 (XCR0_OPMASK | XCR0_ZMM_HI256 | XCR0_HI16_ZMM)
#define XSAVE_LEGACY_AND_HEADER 576u   /* the legacy area and the XSAVE header */
#define XSAVE_COMP_ALIGNED B(1)        /* leaf 0xD.i ECX[1]: 64-byte aligned if compacted */

static const uint32_t zero4[4];

uint32_t cpuid_model_allowed(enum cpuid_word w, bool shadow)
{
    switch (w) {
    case CPUID_W_1_EDX: return L1_EDX;
    case CPUID_W_1_ECX: return shadow ? L1_ECX & ~CPUID_1_ECX_PCID : L1_ECX;
    case CPUID_W_6_EAX: return 0;
    case CPUID_W_7_0_EBX: return L7_EBX;
    case CPUID_W_7_0_ECX: return L7_ECX;
    case CPUID_W_7_0_EDX: return L7_EDX;
    case CPUID_W_7_1_EAX: return L71_EAX;
    case CPUID_W_D_1_EAX: return LD1_EAX;
    case CPUID_W_80000001_EDX: return E1_EDX;
    case CPUID_W_80000001_ECX: return E1_ECX;
    case CPUID_W_80000007_EDX: return E7_EDX;
    case CPUID_W_80000008_EBX: return E8_EBX;
    case CPUID_WORDS: break;
    }
    return 0;
}

uint32_t cpuid_model_forced(enum cpuid_word w)
{
    switch (w) {
    /* HTT: EBX[23:16] holds the VM's logical processors. */
    case CPUID_W_1_EDX: return CPUID_1_EDX_HTT;
    /* The virtual local APIC's x2APIC mode and TSC-deadline timer (dev/lapic.c),
     * and "hypervisor present". */
    case CPUID_W_1_ECX:
        return CPUID_1_ECX_X2APIC | CPUID_1_ECX_TSC_DEADLINE | CPUID_1_ECX_HYPERVISOR;
    /* ARAT: the virtual APIC timer runs in every C-state (it is hv86's). */
    case CPUID_W_6_EAX: return B(2);
    default: return 0;
    }
}

static uint32_t *word(struct cpuid_model *m, enum cpuid_word w)
{
    switch (w) {
    case CPUID_W_1_EDX: return &m->basic[1][EDX];
    case CPUID_W_1_ECX: return &m->basic[1][ECX];
    case CPUID_W_6_EAX: return &m->basic[6][EAX];
    case CPUID_W_7_0_EBX: return &m->leaf7[0][EBX];
    case CPUID_W_7_0_ECX: return &m->leaf7[0][ECX];
    case CPUID_W_7_0_EDX: return &m->leaf7[0][EDX];
    case CPUID_W_7_1_EAX: return &m->leaf7[1][EAX];
    case CPUID_W_D_1_EAX: return &m->xsave[1][EAX];
    case CPUID_W_80000001_EDX: return &m->ext[1][EDX];
    case CPUID_W_80000001_ECX: return &m->ext[1][ECX];
    case CPUID_W_80000007_EDX: return &m->ext[7][EDX];
    case CPUID_W_80000008_EBX: return &m->ext[8][EBX];
    case CPUID_WORDS: break;
    }
    return &m->basic[0][EAX];     /* not reached */
}

uint32_t cpuid_model_word(const struct cpuid_model *m, enum cpuid_word w)
{
    return *word((struct cpuid_model *)m, w);
}

static void copy4(uint32_t dst[4], const uint32_t src[4])
{
    dst[0] = src[0];
    dst[1] = src[1];
    dst[2] = src[2];
    dst[3] = src[3];
}

/* Bits of the APIC ID that number n cores: ceil(log2(n)). */
static uint32_t id_bits(unsigned n)
{
    uint32_t b = 0;
    while (b < 31 && (1u << b) < n)
        b++;
    return b;
}

#define VENDOR_AMD_B   0x68747541u   /* "AuthenticAMD" */
#define VENDOR_AMD_C   0x444D4163u
#define VENDOR_AMD_D   0x69746E65u
#define VENDOR_HYGON_B 0x6F677948u   /* "HygonGenuine" */
#define VENDOR_HYGON_C 0x656E6975u
#define VENDOR_HYGON_D 0x6E65476Eu

#define CACHE_TYPE_MASK 0x1Fu                /* leaf 4 EAX[4:0]: 0 = no more caches */
#define CACHE_LEVEL(eax) (((eax) >> 5) & 7u)
#define CACHE_SHARING_MASK (0xFFFu << 14)    /* EAX[25:14]: IDs sharing it, - 1 */
#define CACHE_CORES_MASK (0x3Fu << 26)       /* EAX[31:26]: core IDs in the package, - 1 */
#define AMD_NC_MASK 0xFFu                    /* 0x80000008 ECX[7:0]: cores - 1 */
#define AMD_APIC_ID_SIZE_SHIFT 12            /* ECX[15:12]: APIC ID bits for cores */
#define ADDR_SIZES_MASK 0x00FFFFFFu          /* 0x80000008 EAX: phys, linear, guest phys */
#define CPUID_1_EBX_KEEP 0x0000FFFFu         /* brand index, CLFLUSH line size */
#define CPUID_1_EBX_COUNT_SHIFT 16

/* Leaf 4 (SDM Vol. 2A): the host's caches, described for the VM's package of
 * ncpus single-thread cores: L1 and L2 per core, L3 and above shared by all. */
static void build_caches(struct cpuid_model *m, cpuid_host_fn host)
{
    uint32_t ids = (1u << id_bits(m->ncpus)) - 1;
    for (uint32_t sub = 0; sub < CPUID_MODEL_CACHE_SUBLEAVES; sub++) {
        uint32_t r[4];
        host(4, sub, r);
        if (!(r[EAX] & CACHE_TYPE_MASK))
            break;
        r[EAX] &= ~(CACHE_SHARING_MASK | CACHE_CORES_MASK);
        r[EAX] |= ids << 26;
        if (CACHE_LEVEL(r[EAX]) >= 3)
            r[EAX] |= ids << 14;
        r[EDX] &= 7u;                     /* WBINVD scope, inclusive, complex index */
        copy4(m->cache[sub], r);
    }
}

/* The XSAVE area's size for the components of xcr0, standard or compacted. */
static uint32_t xsave_size(const struct cpuid_model *m, uint64_t xcr0, bool compacted)
{
    uint32_t size = XSAVE_LEGACY_AND_HEADER;
    for (unsigned i = 2; i < CPUID_MODEL_XSAVE_SUBLEAVES; i++) {
        if (!(xcr0 & m->xcr0 & (1ull << i)))
            continue;
        const uint32_t *c = m->xsave[i];
        if (compacted) {
            if (c[ECX] & XSAVE_COMP_ALIGNED)
                size = (size + 63) & ~63u;
            size += c[EAX];
        } else if (c[EBX] + c[EAX] > size) {
            size = c[EBX] + c[EAX];
        }
    }
    return size;
}

/* XSAVE (leaf 0xD) and what depends on the state it offers: x87 and SSE always,
 * AVX if the host's XCR0 has it and AVX is offered, AVX-512's three components
 * together if the host has all three and AVX512F is offered. A feature whose
 * state is not offered is not offered either. */
static void build_xsave(struct cpuid_model *m, cpuid_host_fn host)
{
    uint32_t *l1c = word(m, CPUID_W_1_ECX);
    uint64_t host_xcr0 = 0;
    if ((*l1c & CPUID_1_ECX_XSAVE) && m->max_basic >= CPUID_LEAF_XSAVE) {
        uint32_t r[4];
        host(CPUID_LEAF_XSAVE, 0, r);
        host_xcr0 = (uint64_t)r[EDX] << 32 | r[EAX];
    }
    if ((host_xcr0 & (XCR0_X87 | XCR0_SSE)) == (XCR0_X87 | XCR0_SSE)) {
        m->xcr0 = XCR0_X87 | XCR0_SSE;
        if ((host_xcr0 & XCR0_AVX) && (*l1c & L1_ECX_AVX))
            m->xcr0 |= XCR0_AVX;
        if ((m->xcr0 & XCR0_AVX) && (host_xcr0 & XCR0_AVX512) == XCR0_AVX512 &&
            (*word(m, CPUID_W_7_0_EBX) & L7_EBX_AVX512F))
            m->xcr0 |= XCR0_AVX512;
    } else {
        *l1c &= ~CPUID_1_ECX_XSAVE;
        *word(m, CPUID_W_D_1_EAX) = 0;
    }
    if (!(m->xcr0 & XCR0_AVX)) {
        *l1c &= ~(L1_ECX_AVX | L1_ECX_FMA | L1_ECX_F16C);
        *word(m, CPUID_W_7_0_EBX) &= ~L7_EBX_AVX2;
        *word(m, CPUID_W_7_0_ECX) &= ~L7_ECX_AVX;
        *word(m, CPUID_W_7_1_EAX) &= ~L71_EAX_AVX;
        *word(m, CPUID_W_80000001_ECX) &= ~E1_ECX_AVX;
    }
    if (!(m->xcr0 & XCR0_AVX512)) {
        *word(m, CPUID_W_7_0_EBX) &= ~L7_EBX_AVX512;
        *word(m, CPUID_W_7_0_ECX) &= ~L7_ECX_AVX512;
        *word(m, CPUID_W_7_0_EDX) &= ~L7_EDX_AVX512;
        *word(m, CPUID_W_7_1_EAX) &= ~L71_EAX_AVX512;
    }
    if (!m->xcr0) {
        for (unsigned i = 0; i < CPUID_MODEL_XSAVE_SUBLEAVES; i++)
            copy4(m->xsave[i], zero4);
        return;
    }
    for (unsigned i = 2; i < CPUID_MODEL_XSAVE_SUBLEAVES; i++) {
        if (m->xcr0 & (1ull << i)) {
            host(CPUID_LEAF_XSAVE, i, m->xsave[i]);
            m->xsave[i][ECX] &= XSAVE_COMP_ALIGNED;    /* a user component */
            m->xsave[i][EDX] = 0;
        }
    }
    /* Subleaf 0: EBX, the size for the XCR0 in force, is the vCPU's (answer). */
    m->xsave[0][EAX] = (uint32_t)m->xcr0;
    m->xsave[0][ECX] = xsave_size(m, m->xcr0, false);
    m->xsave[0][EDX] = (uint32_t)(m->xcr0 >> 32);
    m->xsave[1][ECX] = m->xsave[1][EDX] = 0;           /* no IA32_XSS components */
}

void cpuid_model_build(struct cpuid_model *m, cpuid_host_fn host,
                       const struct cpuid_model_params *p)
{
    uint32_t r[4];
    *m = (struct cpuid_model){ 0 };
    m->ncpus = p->ncpus ? p->ncpus : 1;

    host(0, 0, r);
    m->amd = (r[EBX] == VENDOR_AMD_B && r[ECX] == VENDOR_AMD_C && r[EDX] == VENDOR_AMD_D) ||
             (r[EBX] == VENDOR_HYGON_B && r[ECX] == VENDOR_HYGON_C && r[EDX] == VENDOR_HYGON_D);
    m->max_basic = r[EAX] < CPUID_MODEL_MAX_BASIC ? r[EAX] : CPUID_MODEL_MAX_BASIC;
    r[EAX] = m->max_basic;
    copy4(m->basic[0], r);
    for (uint32_t leaf = 1; leaf <= m->max_basic; leaf++) {
        switch (leaf) {
        case 1:       /* signature, features (masked below) */
        case 2:       /* cache and TLB descriptors */
        case 0x15:    /* TSC and crystal clock ratio: the guest's TSC is the host's */
        case 0x16:    /* processor frequencies, informational */
            host(leaf, 0, m->basic[leaf]);
            break;
        case 4:
            build_caches(m, host);
            break;
        case 6:       /* EAX only, masked below */
            host(leaf, 0, r);
            m->basic[leaf][EAX] = r[EAX];
            break;
        case 7:
            host(7, 0, m->leaf7[0]);
            m->leaf7[0][EAX] = m->leaf7[0][EAX] ? 1 : 0;   /* the highest subleaf */
            if (m->leaf7[0][EAX])
                host(7, 1, m->leaf7[1]);
            m->leaf7[1][EBX] = m->leaf7[1][ECX] = m->leaf7[1][EDX] = 0;
            break;
        case CPUID_LEAF_XSAVE:
            host(CPUID_LEAF_XSAVE, 1, r);
            m->xsave[1][EAX] = r[EAX];                     /* masked below */
            break;
        default:      /* 3, 5 (MONITOR), 8-0xA (no PMU), 0xB (the answer's), 0xC-0x14 */
            break;
        }
    }

    host(CPUID_MODEL_EXT_BASE, 0, r);
    m->max_ext = CPUID_MODEL_EXT_BASE;
    if (r[EAX] > CPUID_MODEL_EXT_BASE)
        m->max_ext = r[EAX] < CPUID_MODEL_MAX_EXT ? r[EAX] : CPUID_MODEL_MAX_EXT;
    m->ext[0][EAX] = m->max_ext;
    if (m->amd) {                                       /* AMD repeats its vendor */
        m->ext[0][EBX] = m->basic[0][EBX];
        m->ext[0][ECX] = m->basic[0][ECX];
        m->ext[0][EDX] = m->basic[0][EDX];
    }
    for (uint32_t i = 1; i <= m->max_ext - CPUID_MODEL_EXT_BASE; i++) {
        uint32_t *e = m->ext[i];
        host(CPUID_MODEL_EXT_BASE + i, 0, e);
        switch (i) {
        case 1:          /* signature, brand id, features (masked below) */
        case 2: case 3: case 4:   /* the brand string */
        case 5: case 6:  /* AMD's L1, L2 and L3 caches and TLBs */
            break;
        case 7:
            e[EAX] = e[EBX] = e[ECX] = 0;
            break;
        case 8:
            e[EAX] &= ADDR_SIZES_MASK;
            e[ECX] = (m->ncpus - 1) | id_bits(m->ncpus) << AMD_APIC_ID_SIZE_SHIFT;
            e[EDX] = 0;
            break;
        }
    }

    /* The allow-list: the host is the upper bound, hv86's own bits are added,
     * the config's removed. */
    for (unsigned w = 0; w < CPUID_WORDS; w++) {
        uint32_t *x = word(m, (enum cpuid_word)w);
        *x = (*x & cpuid_model_allowed((enum cpuid_word)w, p->shadow)) |
             cpuid_model_forced((enum cpuid_word)w);
        if (p->clear)
            *x &= ~p->clear[w];
    }
    /* AMD's copies in 0x80000001 EDX follow leaf 1's. */
    *word(m, CPUID_W_80000001_EDX) &= ~E1_EDX_MIRROR | *word(m, CPUID_W_1_EDX);
    build_xsave(m, host);

    /* Leaf 1 EBX: the VM's logical processors (HTT); the APIC ID is the answer's. */
    m->basic[1][EBX] = (m->basic[1][EBX] & CPUID_1_EBX_KEEP) |
                       (m->ncpus & 0xFFu) << CPUID_1_EBX_COUNT_SHIFT;
}

#define TOPO_LEVEL_SMT 1u                     /* leaf 0xB ECX[15:8] level types */
#define TOPO_LEVEL_CORE 2u
#define TOPO_LEVEL_TYPE_SHIFT 8

/* Leaf 0xB (SDM Vol. 2A CPUID): level 0 the thread (one per core), level 1 the
 * cores of the package (the VM's vCPUs), then the invalid level. */
static void x2apic_topology(unsigned ncpus, uint32_t sub, uint32_t out[4])
{
    out[EAX] = out[EBX] = 0;
    out[ECX] = sub & 0xFFu;
    if (sub == 0) {
        out[EBX] = 1;
        out[ECX] |= TOPO_LEVEL_SMT << TOPO_LEVEL_TYPE_SHIFT;
    } else if (sub == 1) {
        out[EAX] = id_bits(ncpus);
        out[EBX] = ncpus;
        out[ECX] |= TOPO_LEVEL_CORE << TOPO_LEVEL_TYPE_SHIFT;
    }
}

void cpuid_model_answer(const struct cpuid_model *m, uint32_t leaf, uint32_t sub,
                        uint32_t apic_id, uint64_t xcr0, uint32_t out[4])
{
    const uint32_t *src = zero4;
    if (leaf <= m->max_basic) {
        switch (leaf) {
        case 1:
            copy4(out, m->basic[1]);
            out[EBX] |= apic_id << 24;                /* the initial APIC ID */
            return;
        case 4:
            if (sub < CPUID_MODEL_CACHE_SUBLEAVES)
                src = m->cache[sub];
            break;
        case 7:
            if (sub < CPUID_MODEL_LEAF7_SUBLEAVES)
                src = m->leaf7[sub];
            break;
        case 0xB:
            x2apic_topology(m->ncpus, sub, out);
            out[EDX] = apic_id;                       /* the x2APIC ID */
            return;
        case CPUID_LEAF_XSAVE:
            if (sub >= CPUID_MODEL_XSAVE_SUBLEAVES)
                break;
            copy4(out, m->xsave[sub]);
            if (sub == 0 && m->xcr0)                  /* the size for the XCR0 in force */
                out[EBX] = xsave_size(m, xcr0, false);
            else if (sub == 1 && (out[EAX] & LD1_EAX_XSAVEC))
                out[EBX] = xsave_size(m, xcr0, true);
            return;
        default:
            src = m->basic[leaf];
        }
    } else if (leaf - CPUID_MODEL_EXT_BASE <= m->max_ext - CPUID_MODEL_EXT_BASE) {
        src = m->ext[leaf - CPUID_MODEL_EXT_BASE];
    }
    copy4(out, src);
}

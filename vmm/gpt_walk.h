/* Guest page-table walker (pure logic): translates a guest-virtual (linear) address
 * through the guest's own page tables, as the CPU would, in every paging mode:
 * paging off, 32-bit paging (4 KiB, and 4 MiB pages with CR4.PSE, PSE-36), PAE (4 KiB,
 * 2 MiB), 4-level and 5-level (4 KiB, 2 MiB, 1 GiB). It checks the access rights
 * (R/W with CR0.WP, U/S, NX with EFER.NXE, SMEP, SMAP) and reserved bits, and gives
 * the #PF error code the CPU would deliver. Guest memory is reached through
 * callbacks, so the module needs neither the VM nor the host's mappings.
 *
 * Reference: Intel SDM Vol. 3A ch. 4: 4.1.1 (paging modes), 4.3 (32-bit paging), 4.4
 * (PAE), 4.5 (4-level and 5-level), 4.6 (access rights), 4.7 (#PF error code), 4.8
 * (accessed and dirty flags). AMD APM Vol. 2 ch. 5 says the same for AMD-V guests.
 *
 * Not modelled: protection keys (CR4.PKE/PKS), the PDPTE registers' load-time #GP (a
 * reserved bit in a PAE PDPTE is reported as a RSVD #PF here), HLAT, CET shadow-stack
 * pages, A20 masking, and atomicity of A/D updates (see GPT_SET_AD).
 */
#ifndef VMM_GPT_WALK_H
#define VMM_GPT_WALK_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Read or write len bytes of guest-physical memory. Return false if [gpa, gpa+len)
 * is not guest RAM (the walk then ends with GPT_BAD_GPA). */
typedef bool (*gpt_read_fn)(void *ctx, uint64_t gpa, void *buf, unsigned len);
typedef bool (*gpt_write_fn)(void *ctx, uint64_t gpa, const void *buf, unsigned len);

struct gpt_mem {
    gpt_read_fn read;
    gpt_write_fn write;     /* may be NULL: then A/D bits are never set */
    void *ctx;
};

/* The guest's paging state. maxphyaddr is the guest's CPUID.80000008H:EAX[7:0];
 * physical-address bits at and above it are reserved in table entries (0: 52, none
 * reserved below bit 52). pdptes: for PAE paging, the four PDPTE registers if the
 * caller has them (VMX's guest PDPTE fields), else NULL to read them from CR3. */
struct gpt_regs {
    uint64_t cr0, cr3, cr4, efer;
    unsigned maxphyaddr;
    unsigned flags;         /* GPT_F_* */
    const uint64_t *pdptes;
};

/* gpt_regs.flags */
#define GPT_F_NO_1G_PAGES 1u    /* CPUID.80000001H:EDX.Page1GB=0: PDPTE.PS is reserved */

/* Access kinds for gpt_walk(), OR-ed. A data read is 0. */
#define GPT_WRITE    1u     /* a write (read-modify-write counts as a write) */
#define GPT_USER     2u     /* an explicit access at CPL 3 */
#define GPT_EXEC     4u     /* an instruction fetch */
#define GPT_IMPLICIT 8u     /* an implicit supervisor access (GDT/LDT/IDT/TSS, ...):
                               supervisor whatever the CPL, SMAP ignores EFLAGS.AC */
#define GPT_AC       16u    /* EFLAGS.AC is 1 (lets explicit supervisor data accesses
                               reach user pages under SMAP) */
#define GPT_SET_AD   32u    /* on success set the A bits, and D in the leaf for a
                               write, through gpt_mem.write (SDM 4.8). Not atomic: the
                               caller must keep other vCPUs from racing on the tables */

/* The #PF error code (SDM Vol. 3A 4.7). */
#define GPT_PF_P    (1u << 0)   /* 0: not present; 1: protection or reserved bit */
#define GPT_PF_W    (1u << 1)
#define GPT_PF_U    (1u << 2)
#define GPT_PF_RSVD (1u << 3)
#define GPT_PF_I    (1u << 4)   /* instruction fetch (with NXE in PAE/4-level, or SMEP) */

enum gpt_result {
    GPT_OK,
    GPT_PAGE_FAULT,         /* the guest gets #PF with xlat.pf_error, CR2 = the gva */
    GPT_BAD_GPA,            /* a table entry lies outside guest memory (xlat.fault_gpa) */
    GPT_NON_CANONICAL,      /* 4/5-level: the address is not canonical (#GP/#SS) */
};

/* Paging modes (SDM Vol. 3A 4.1.1), as gpt_mode() classifies the registers. */
enum gpt_mode { GPT_MODE_NONE, GPT_MODE_32, GPT_MODE_PAE, GPT_MODE_4LEVEL, GPT_MODE_5LEVEL };

struct gpt_xlat {
    uint64_t gpa;           /* GPT_OK: the guest-physical address */
    uint64_t page_size;     /* GPT_OK: 4K, 2M, 4M or 1G (4K with paging off) */
    uint32_t pf_error;      /* GPT_PAGE_FAULT: the error code */
    uint64_t fault_gpa;     /* GPT_BAD_GPA: the entry whose read (or A/D write) failed */
    uint64_t leaf;          /* GPT_OK with paging on: the leaf entry (PAT, G, ...) */
    unsigned level;         /* the level of the leaf or of the failing entry (1 = PTE) */
    /* GPT_OK with paging on: the rights accumulated over every level (4.6), for a
     * shadow MMU that copies them into its own entries. */
    bool user, writable, nx;
};

/* CR0.PG=0: none; EFER.LMA=1: 4-level, or 5-level with CR4.LA57; else CR4.PAE picks
 * PAE or 32-bit paging. */
enum gpt_mode gpt_mode(const struct gpt_regs *r);

/* Translate gva for an access of kind `access`. *out is always written. */
enum gpt_result gpt_walk(const struct gpt_regs *r, uint64_t gva, unsigned access,
                         const struct gpt_mem *mem, struct gpt_xlat *out);

/* Copy len bytes of guest-virtual memory at gva into buf, page by page (the bytes
 * may cross any number of page boundaries), with the access rights of `access`
 * (GPT_EXEC | GPT_USER at CPL 3 to fetch instruction bytes at CS.base + RIP).
 * *copied (if not NULL) gets how many leading bytes were copied: on a failure the
 * bytes before the failing page are still there, which is what an instruction
 * decoder needs. On failure, *fault (if not NULL) describes it and *fault_gva (if
 * not NULL) gets the first address that could not be read (CR2 for a #PF). Outside
 * 4/5-level paging the linear address wraps at 4 GiB. */
enum gpt_result gpt_read_virt(const struct gpt_regs *r, uint64_t gva, void *buf,
                              unsigned len, unsigned access, const struct gpt_mem *mem,
                              unsigned *copied, struct gpt_xlat *fault,
                              uint64_t *fault_gva);

#endif

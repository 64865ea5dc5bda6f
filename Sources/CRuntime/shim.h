// glibc's allocator controls (mallopt), which the Glibc module does not import, and the x86 CPU
// feature queries (cpuid, xgetbv) that Swift has no syntax for. Wrappers only; no logic here.
#include <malloc.h>

#if defined(__x86_64__) || defined(__i386__)
#include <cpuid.h>
/// cpuid(leaf, subleaf) into regs[0..3] = eax, ebx, ecx, edx; 0 when the CPU lacks the leaf.
static inline int gpd_cpuid(unsigned leaf, unsigned subleaf, unsigned regs[4]) {
    return __get_cpuid_count(leaf, subleaf, &regs[0], &regs[1], &regs[2], &regs[3]);
}
/// XCR0: which register states the OS saves (bits 1–2 SSE/AVX, 5–7 AVX-512). Call only when
/// cpuid(1).ecx bit 27 (OSXSAVE) is set.
static inline unsigned long long gpd_xgetbv0(void) {
    unsigned lo, hi;
    __asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
    return ((unsigned long long)hi << 32) | lo;
}
#else
static inline int gpd_cpuid(unsigned leaf, unsigned subleaf, unsigned regs[4]) { (void)leaf; (void)subleaf; (void)regs; return 0; }
static inline unsigned long long gpd_xgetbv0(void) { return 0; }
#endif

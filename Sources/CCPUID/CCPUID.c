#include "CCPUID.h"
#include <string.h>

#if defined(__x86_64__) || defined(__i386__)
#include <cpuid.h>

static unsigned long long xgetbv0(void) {
    unsigned int eax, edx;
    __asm__ volatile("xgetbv" : "=a"(eax), "=d"(edx) : "c"(0));
    return ((unsigned long long)edx << 32) | eax;
}

void ccpuid_read(ccpuid_features *out) {
    memset(out, 0, sizeof *out);
    unsigned int eax, ebx, ecx, edx;
    if (!__get_cpuid(0, &eax, &ebx, &ecx, &edx)) return;
    unsigned int max_leaf = eax;
    memcpy(out->vendor + 0, &ebx, 4);
    memcpy(out->vendor + 4, &edx, 4);
    memcpy(out->vendor + 8, &ecx, 4);

    __get_cpuid(1, &eax, &ebx, &ecx, &edx);
    int osxsave = (ecx >> 27) & 1;
    out->sse42 = (ecx >> 20) & 1;
    unsigned long long xcr0 = osxsave ? xgetbv0() : 0;
    int ymm_enabled = (xcr0 & 0x6) == 0x6;          // XMM and YMM state
    int zmm_enabled = (xcr0 & 0xE6) == 0xE6;        // plus opmask and ZMM state
    out->avx = ymm_enabled && ((ecx >> 28) & 1);
    out->fma = ymm_enabled && ((ecx >> 12) & 1);

    if (max_leaf >= 7) {
        __cpuid_count(7, 0, eax, ebx, ecx, edx);
        out->avx2 = ymm_enabled && ((ebx >> 5) & 1);
        out->avx512f = zmm_enabled && ((ebx >> 16) & 1);
        out->avx512dq = zmm_enabled && ((ebx >> 17) & 1);
        out->avx512bw = zmm_enabled && ((ebx >> 30) & 1);
        out->avx512vl = zmm_enabled && ((ebx >> 31) & 1);
    }

    __get_cpuid(0x80000000, &eax, &ebx, &ecx, &edx);
    if (eax >= 0x80000004) {
        unsigned int words[12];
        for (unsigned int i = 0; i < 3; i++) {
            __get_cpuid(0x80000002 + i, &words[4 * i], &words[4 * i + 1], &words[4 * i + 2], &words[4 * i + 3]);
        }
        memcpy(out->brand, words, 48);
        out->brand[48] = 0;
    }
}
#else
void ccpuid_read(ccpuid_features *out) { memset(out, 0, sizeof *out); }
#endif

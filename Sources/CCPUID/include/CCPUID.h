#pragma once
// What this x86-64 CPU offers and the operating system has enabled, read once with cpuid/xgetbv.
// On other architectures every flag is 0.

typedef struct {
    int sse42, avx, avx2, fma, avx512f, avx512bw, avx512vl, avx512dq;
    char vendor[13];  // "GenuineIntel", "AuthenticAMD", … (NUL-terminated)
    char brand[49];   // "Intel(R) Xeon(R) …" (NUL-terminated, may be empty)
} ccpuid_features;

/// Fills `out`. An instruction set counts only if the OS saves its registers (XCR0), so AVX is 0
/// under a kernel or hypervisor that disabled it even when cpuid advertises it.
void ccpuid_read(ccpuid_features *out);

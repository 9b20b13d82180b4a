// The avx2 level: 8-lane vectors. Elsewhere than x86 it compiles without the target
// attributes (the dispatcher never picks it there: cpuid reports nothing), so the package links.
#include "kernels_internal.h"
#if defined(__x86_64__) || defined(__i386__)
#pragma clang attribute push(__attribute__((target("avx2,fma"))), apply_to = function)
#endif
#define LANES 8
#define SUFFIX avx2
#include "kernels_template.h"
#if defined(__x86_64__) || defined(__i386__)
#pragma clang attribute pop
#endif

// The avx512 level: 16-lane vectors.
#include "kernels_internal.h"
#pragma clang attribute push(__attribute__((target("avx512f,avx512bw,avx512vl,avx512dq,avx2,fma"))), apply_to = function)
#define LANES 16
#define SUFFIX avx512
#include "kernels_template.h"
#pragma clang attribute pop

// The avx2 level: 8-lane vectors.
#include "kernels_internal.h"
#pragma clang attribute push(__attribute__((target("avx2,fma"))), apply_to = function)
#define LANES 8
#define SUFFIX avx2
#include "kernels_template.h"
#pragma clang attribute pop

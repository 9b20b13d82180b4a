// The portable level: 4-lane vectors.
#define LANES 4
#define SUFFIX portable
#include "kernels_template.h"

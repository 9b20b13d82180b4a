// The OpenBLAS CBLAS interface. Debian puts it under openblas-pthread/, which pkg-config adds to the
// include path; only the BLAS module imports this target.
#include <cblas.h>

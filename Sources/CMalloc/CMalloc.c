#include "CMalloc.h"

#if defined(__GLIBC__)
#include <malloc.h>

int cmalloc_set_mmap_threshold(int bytes) { return mallopt(M_MMAP_THRESHOLD, bytes); }
int cmalloc_trim(void) { return malloc_trim(0); }
#else
int cmalloc_set_mmap_threshold(int bytes) { (void)bytes; return 0; }
int cmalloc_trim(void) { return 0; }
#endif

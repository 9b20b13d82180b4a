#pragma once
// glibc's allocator knobs (malloc.h is not part of Swift's Glibc module). Each returns what the
// libc call returned: 1 on success for mallopt, 1 if memory was released for malloc_trim.

/// Fixes the mmap threshold at `bytes` (which also stops glibc from raising it dynamically).
int cmalloc_set_mmap_threshold(int bytes);

/// Returns free heap memory to the system.
int cmalloc_trim(void);

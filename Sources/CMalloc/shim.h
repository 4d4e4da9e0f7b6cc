// Potluck — the real cloud, made of everyone's idle machines. AGPL-3.0-or-later.
// glibc's allocator controls (malloc_trim, mallopt), which Swift's Glibc module does not export:
// a node returns the memory an attack made it allocate (spec 0009 §4).
#include <malloc.h>

#ifndef IMAGING_CTURBOJPEG_SHIM_H
#define IMAGING_CTURBOJPEG_SHIM_H
/* Only the TurboJPEG API is exposed: unlike jpeglib.h it reports errors via
   return codes (its internal setjmp never unwinds through Swift frames). */
#include <stddef.h>
#include <turbojpeg.h>
#endif

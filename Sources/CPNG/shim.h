#ifndef IMAGING_CPNG_SHIM_H
#define IMAGING_CPNG_SHIM_H
/* Only libpng's simplified png_image_* API is used from Swift: it catches
   libpng's longjmp internally and reports failure through return values. */
#include <png.h>

/* Composite format macros are re-exported as plain constants because the
   Swift importer does not reliably import macros built from other macros. */
static const png_uint_32 imaging_png_format_gray = PNG_FORMAT_GRAY;
static const png_uint_32 imaging_png_format_ga = PNG_FORMAT_GA;
static const png_uint_32 imaging_png_format_rgb = PNG_FORMAT_RGB;
static const png_uint_32 imaging_png_format_rgba = PNG_FORMAT_RGBA;
static const png_uint_32 imaging_png_format_flag_alpha = PNG_FORMAT_FLAG_ALPHA;
static const png_uint_32 imaging_png_image_version = PNG_IMAGE_VERSION;
static const png_uint_32 imaging_png_flag_16bit_srgb = PNG_IMAGE_FLAG_16BIT_sRGB;
#endif

/* SPDX-License-Identifier: MIT
 * Portable GEMM micro-kernels in plain C (4 x 8 tile): the fallback on CPUs
 * without AVX2, and the reference path the tests force. Constant trip
 * counts let the compiler keep the tile in registers and vectorise rows. */
#include "gemm_kernels.h"

#include "cpu.h"

#include <stdbool.h>
#include <string.h>

#define GMR 4
#define GNR 8

#define KG_NAME kern_f32
#define KG_T    float
#include "gemm_generic_tmpl.h"
#define KG_NAME kern_f64
#define KG_T    double
#include "gemm_generic_tmpl.h"

#define PK_ATTR
#define PK_T   float
#define PK_SUF f32
#define PMR    4
#define PNR    8
#include "gemm_pack.h"
#undef PK_T
#undef PK_SUF
#undef PMR
#undef PNR
#define PK_T   double
#define PK_SUF f64
#define PMR    4
#define PNR    8
#include "gemm_pack.h"
#undef PK_T
#undef PK_SUF
#undef PMR
#undef PNR
#undef PK_ATTR

/* scalar "vectors" of one lane for the dot path */
#define FMA1(x, y, s) ((x) * (y) + (s))
#define ZERO1()       0
#define DOT_ATTR
#define DOT_WIDE                 0
#define HSUM4_1(a, b, c, d, out) ((out)[0] = (a), (out)[1] = (b), (out)[2] = (c), (out)[3] = (d))
#define DOT_T                    float
#define DOT_SUF                  f32
#define DV                       float
#define DW                       1
#define DLOAD                    *
#define DFMA                     FMA1
#define DZERO                    ZERO1
#define DHSUM4                   HSUM4_1
#include "gemm_dot.h"
#define DOT_T   double
#define DOT_SUF f64
#define DV      double
#define DW      1
#define DLOAD   *
#define DFMA    FMA1
#define DZERO   ZERO1
#define DHSUM4  HSUM4_1
#include "gemm_dot.h"
#undef DOT_ATTR

const ad_gemm_impl_f32 ad_gemm_generic_f32 = {GMR,      GNR,        256,        256,      256,
                                              kern_f32, pack_a_f32, pack_b_f32, rows_f32, dot_f32};
const ad_gemm_impl_f64 ad_gemm_generic_f64 = {GMR,      GNR,        256,        256,      128,
                                              kern_f64, pack_a_f64, pack_b_f64, rows_f64, dot_f64};

/* SPDX-License-Identifier: MIT
 * The register-tiled GEMM micro-kernel shared by the SIMD kernel files: an
 * MR x 2-vector tile of C held in accumulators. The including file defines
 * ISA (the target attribute string), MR and ROWS(X) (X applied to
 * 0 .. MR-1) once, then includes this once per dtype with MK_NAME (the
 * function to define), MK_T (the element type) and the vector macros V,
 * W (lanes), VSET1, VLOAD, VSTORE, VFMA, VMUL, VZERO defined; the per-dtype
 * parameters are undefined at the end. */

/* one row i of the tile: its two accumulators, a step of k, the stores */
#define DECL(i) V c##i##0 = VZERO(), c##i##1 = VZERO();
#define STEP(i)                                                                                    \
    {                                                                                              \
        V ai = VSET1(a[i]);                                                                        \
        c##i##0 = VFMA(ai, b0, c##i##0);                                                           \
        c##i##1 = VFMA(ai, b1, c##i##1);                                                           \
    }
#define SAVE1(i)                                                                                   \
    VSTORE(c + (i)*ldc, c##i##0);                                                                  \
    VSTORE(c + (i)*ldc + W, c##i##1);
#define SAVE0(i)                                                                                   \
    VSTORE(c + (i)*ldc, VMUL(va, c##i##0));                                                        \
    VSTORE(c + (i)*ldc + W, VMUL(va, c##i##1));
#define SAVEB(i)                                                                                   \
    VSTORE(c + (i)*ldc, VFMA(vb, VLOAD(c + (i)*ldc), VMUL(va, c##i##0)));                          \
    VSTORE(c + (i)*ldc + W, VFMA(vb, VLOAD(c + (i)*ldc + W), VMUL(va, c##i##1)));

AD_TARGET(ISA)
static void MK_NAME(size_t kc, const MK_T *a, const MK_T *b, size_t bs, MK_T *c, size_t ldc,
                    MK_T alpha, MK_T beta)
{
    ROWS(DECL)
    for (size_t p = 0; p < kc; p++) {
        V b0 = VLOAD(b), b1 = VLOAD(b + W);
        ROWS(STEP)
        a += MR;
        b += bs;
    }
    if (alpha == (MK_T)1 && beta == (MK_T)0) { /* short k: the stores are much of the work */
        ROWS(SAVE1)
        return;
    }
    V va = VSET1(alpha);
    if (beta == (MK_T)0) {
        ROWS(SAVE0)
    } else {
        V vb = VSET1(beta);
        ROWS(SAVEB)
    }
}

#undef DECL
#undef STEP
#undef SAVE1
#undef SAVE0
#undef SAVEB
#undef MK_NAME
#undef MK_T
#undef V
#undef W
#undef VSET1
#undef VLOAD
#undef VSTORE
#undef VFMA
#undef VMUL
#undef VZERO

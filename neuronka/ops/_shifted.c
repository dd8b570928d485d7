/* Register-blocked kernels for the two sums of shifted products behind a stride-1 convolution
 * (neuronka/ops/blas.py: shifted_matmul, shifted_matmul_t; convolution.py: _Grid explains the layout).
 *
 *   forward / input gradient:  y[p, o]    (+)= Σ_t Σ_c  x[p + off_t, c] · w[t, c, o]      p < M
 *   weight gradient:           dw[t, c, o] (+)= Σ_p     x[p + off_t, c] · g[p, o]
 *
 * x is the padded images laid end to end, one row per grid pixel; a kernel tap is a row offset off_t.
 * OpenBLAS runs these as one GEMM per tap and packs the (M, C) operand nine times; with C and O of 16-64
 * that packing costs as much as the arithmetic. Here a tile of outputs stays in vector registers across all
 * taps and channels instead:
 *
 *   forward: PT pixels × CB vectors of output channels; per (tap, channel) CB weight loads and PT broadcasts
 *            of x feed PT·CB fused multiply-adds;
 *   weight gradient: CT input channels × CB vectors of output channels, summed over a block of pixels that
 *            fits in L1 (x rows and g rows), then added into dw.
 *
 * With a 3-wide kernel (taps in rows of three neighbouring offsets) and up to 64 (forward) or 32 (weight
 * gradient) output channels, the fwd3 / wgt3 tiles take a whole kernel row at once, so that one broadcast of
 * x serves three taps (one thread, `benchmarks/paths.py --only tiles`: forward 115 → 158 GFLOP/s at 16
 * channels, 138 → 156 at 32; weight gradient 153 → 163 at 16 channels, none at 32).
 *
 * Plain C with GCC/Clang vector extensions (no intrinsics): the vector is 64 bytes where the compiler
 * targets AVX-512 and 32 bytes otherwise, and the tile sizes follow the register count (32 or 16).
 * O must be a multiple of the vector's lanes (shifted_vector_bytes() / itemsize); the caller checks shapes
 * and bounds (blas._checked_offsets) and falls back to BLAS otherwise. Loaded through ctypes: no Python API,
 * the GIL is released during the call, so the convolution's worker threads run concurrently.
 */
#include <stdint.h>

#if defined(__AVX512F__)
#define VBYTES 64
#define FWD_PT1 16
#define FWD_PT2 12
#define FWD_PT4 6
#define FWD3_PT1 16
#define FWD3_PT2 8
#define WGT3_CT1 8
#define WGT3_CT2 4
#define WGT_CT1 16
#define WGT_CT2 8
#define WGT_CT4 4
#else
#define VBYTES 32
#define FWD_PT1 12
#define FWD_PT2 6
#define FWD_PT4 3
#define FWD3_PT1 8
#define FWD3_PT2 4
#define WGT3_CT1 3
#define WGT3_CT2 1
#define WGT_CT1 12
#define WGT_CT2 6
#define WGT_CT4 3
#endif

int shifted_vector_bytes(void) { return VBYTES; }

/* 2: built for AVX-512, 1: for AVX2 + FMA, 0: neither (there the tiles lose to BLAS and are not used) */
int shifted_simd_level(void) {
#if defined(__AVX512F__)
    return 2;
#elif defined(__AVX2__) && defined(__FMA__)
    return 1;
#else
    return 0;
#endif
}

#define INLINE static inline __attribute__((always_inline))

/* The tile sizes are compile-time constants (one function per size, made by these macros), so that the
 * accumulators live in registers: a variable-length array of vectors would live on the stack. */

/* A tile's accumulators: loaded from y (add) or zero; stored with the epilogue (last tap group only):
 * y = max(acc + bias, 0) with relu (NaN stays NaN). */
#define TILE_LOAD(S, CB, PT)                                                                                \
    vec_##S acc[PT][CB];                                                                                    \
    for (int p = 0; p < PT; p++)                                                                            \
        for (int b = 0; b < CB; b++)                                                                        \
            acc[p][b] = add ? *(const uvec_##S*)(y + p * YS + b * LANES_##S) : (vec_##S){0};
#define TILE_STORE(S, CB, PT)                                                                               \
    if (bias)                                                                                               \
        for (int p = 0; p < PT; p++)                                                                        \
            for (int b = 0; b < CB; b++) acc[p][b] += *(const uvec_##S*)(bias + b * LANES_##S);             \
    if (relu)                                                                                               \
        for (int p = 0; p < PT; p++)                                                                        \
            for (int b = 0; b < CB; b++) acc[p][b] = (vec_##S)((ivec_##S)acc[p][b]                           \
                                                 & ((acc[p][b] > 0) | (acc[p][b] != acc[p][b])));           \
    for (int p = 0; p < PT; p++)                                                                            \
        for (int b = 0; b < CB; b++) *(uvec_##S*)(y + p * YS + b * LANES_##S) = acc[p][b];

/* y[p·s', 0:CB·L] (+)= Σ_t Σ_c x[off_t + p·s, c] · w[t, c, 0:CB·L] for p < PT; x and y at the tile's first pixel,
 * XS = s·C and YS = s'·O the steps between the x and y pixels of neighbouring outputs (s the convolution's
 * stride along the row; s' > 1 for one phase of a strided convolution's input gradient) */
#define FWD_TILE(S, T, CB, PT)                                                                              \
INLINE void fwd_##S##_##CB##_##PT(const T* x, int64_t C, int64_t XS, const int64_t* offs, int64_t taps,  \
                                  const T* w, int64_t O, T* y, int64_t YS, int add, const T* bias, int relu, \
                                  int edges) {                                                              \
    (void)edges;                                                                                            \
    TILE_LOAD(S, CB, PT)                                                                                    \
    for (int64_t t = 0; t < taps; t++) {                                                                    \
        const T* xt = x + offs[t] * C;                                                                      \
        const T* wt = w + t * C * O;                                                                        \
        for (int64_t c = 0; c < C; c++) {                                                                   \
            vec_##S wv[CB];                                                                                 \
            for (int b = 0; b < CB; b++) wv[b] = *(const uvec_##S*)(wt + c * O + b * LANES_##S);            \
            for (int p = 0; p < PT; p++) {                                                                  \
                const T xs = xt[p * XS + c];                                                                \
                for (int b = 0; b < CB; b++) acc[p][b] += xs * wv[b];                                       \
            }                                                                                               \
        }                                                                                                   \
    }                                                                                                       \
    TILE_STORE(S, CB, PT)                                                                                   \
}

/* The same for taps that come in rows of three neighbours (a 3-wide kernel: offsets o, o + 1, o + 2): one
 * broadcast of x[o + q, c] feeds the three taps of the row, into outputs q, q − 1 and q − 2, so each x
 * value is loaded once per kernel row instead of three times (with 16 or 32 channels the per-tap tile
 * loaded about one value per multiply-add; this one a third as many). */
#define FWD3_TILE(S, T, CB, PT)                                                                             \
INLINE void fwd3_##S##_##CB##_##PT(const T* x, int64_t C, int64_t XS, const int64_t* offs, int64_t taps, \
                                   const T* w, int64_t O, T* y, int64_t YS, int add, const T* bias,         \
                                   int relu, int edges) {                                                   \
    (void)XS;  /* stride 1 only: XS = C */                                                                  \
    TILE_LOAD(S, CB, PT)                                                                                    \
    for (int64_t t = 0; t < taps; t += 3) {                                                                 \
        const T* xt = x + offs[t] * C;                                                                      \
        const T* wt = w + t * C * O;                                                                        \
        for (int64_t c = 0; c < C; c++) {                                                                   \
            vec_##S w0[CB], w1[CB], w2[CB];                                                                 \
            for (int b = 0; b < CB; b++) {                                                                  \
                w0[b] = *(const uvec_##S*)(wt + c * O + b * LANES_##S);                                     \
                w1[b] = *(const uvec_##S*)(wt + (C + c) * O + b * LANES_##S);                               \
                w2[b] = *(const uvec_##S*)(wt + (2 * C + c) * O + b * LANES_##S);                           \
            }                                                                                               \
            _Pragma("GCC unroll 64")                                                                        \
            for (int q = 0; q < PT + 2; q++) {                                                              \
                /* at an image's left / right border (edges 1 / 2, unpadded x) the column is a zero: unread */ \
                if ((q == 0 && (edges & 1)) || (q == PT + 1 && (edges & 2))) continue;                      \
                const T xs = xt[q * C + c];                                                                 \
                for (int b = 0; b < CB; b++) {                                                              \
                    if (q < PT) acc[q][b] += xs * w0[b];                                                    \
                    if (q >= 1 && q <= PT) acc[q - 1][b] += xs * w1[b];                                     \
                    if (q >= 2) acc[q - 2][b] += xs * w2[b];                                                \
                }                                                                                           \
            }                                                                                               \
        }                                                                                                   \
    }                                                                                                       \
    TILE_STORE(S, CB, PT)                                                                                   \
}

/* one row of cols output pixels for one block of CB vectors of output channels: tiles of PT pixels (K the
 * tile kind: fwd, or fwd3 for rows of three taps), then of 4, 2 and 1 (per tap; the tile sizes are never 4,
 * 2 or 1 themselves) */
#define FWD_ROW(S, K, CB, PT)                                                                               \
    {                                                                                                       \
        int64_t j = 0;                                                                                      \
        for (; j + PT <= cols; j += PT) K##_##S##_##CB##_##PT(xr + j * XS, C, XS, og, tg, wg, O, yr + j * YS, YS, addg, bg, rg, 0); \
        for (; j + 4 <= cols; j += 4) fwd_##S##_##CB##_4(xr + j * XS, C, XS, og, tg, wg, O, yr + j * YS, YS, addg, bg, rg, 0); \
        if (j + 2 <= cols) { fwd_##S##_##CB##_2(xr + j * XS, C, XS, og, tg, wg, O, yr + j * YS, YS, addg, bg, rg, 0); j += 2; } \
        if (j < cols) fwd_##S##_##CB##_1(xr + j * XS, C, XS, og, tg, wg, O, yr + j * YS, YS, addg, bg, rg, 0);      \
        o0 += CB * LANES_##S;                                                                               \
    }

/* dw[0:CT, 0:CB·L] (+)= Σ_{p<M} x[p, 0:CT] ⊗ g[p, 0:CB·L]; x at the tap's row and the tile's channel */
#define WGT_TILE(S, T, CB, CT)                                                                              \
INLINE void wgt_##S##_##CB##_##CT(const T* x, int64_t C, const T* g, int64_t O, int64_t M, T* dw, int add) { \
    vec_##S acc[CT][CB];                                                                                    \
    for (int i = 0; i < CT; i++)                                                                            \
        for (int b = 0; b < CB; b++)                                                                        \
            acc[i][b] = add ? *(const uvec_##S*)(dw + i * O + b * LANES_##S) : (vec_##S){0};                \
    for (int64_t p = 0; p < M; p++) {                                                                       \
        vec_##S gv[CB];                                                                                     \
        for (int b = 0; b < CB; b++) gv[b] = *(const uvec_##S*)(g + p * O + b * LANES_##S);                 \
        for (int i = 0; i < CT; i++) {                                                                      \
            const T xs = x[p * C + i];                                                                      \
            for (int b = 0; b < CB; b++) acc[i][b] += xs * gv[b];                                           \
        }                                                                                                   \
    }                                                                                                       \
    for (int i = 0; i < CT; i++)                                                                            \
        for (int b = 0; b < CB; b++) *(uvec_##S*)(dw + i * O + b * LANES_##S) = acc[i][b];                  \
}

/* every input channel of one block of CB vectors of output channels: whole tiles, then single channels */
#define WGT_BLOCK(S, CB, CT)                                                                                \
    {                                                                                                       \
        int64_t c = 0;                                                                                      \
        for (; c + CT <= C; c += CT) wgt_##S##_##CB##_##CT(xt + c, C, gp + o0, O, m, dwt + c * O + o0, acc); \
        for (; c < C; c++) wgt_##S##_##CB##_1(xt + c, C, gp + o0, O, m, dwt + c * O + o0, acc);             \
        o0 += CB * LANES_##S;                                                                               \
    }

/* dw[k, 0:CT, 0:CB·L] (+)= Σ_{p<M} x[p + k, 0:CT] ⊗ g[p, 0:CB·L] for the three taps k = 0, 1, 2 of a kernel row
 * (offsets o, o + 1, o + 2; x at o and the tile's channel, dw at the row's first tap, taps C·O apart).
 * Summed over q = p + k instead, one broadcast of x[q, c] meets g[q], g[q − 1] and g[q − 2]: a third of the
 * broadcasts of the per-tap tile. The first two and last two q lack some of the three. */
#define WGT3_TILE(S, T, CB, CT)                                                                             \
INLINE void wgt3_##S##_##CB##_##CT(const T* x, int64_t C, const T* g, int64_t O, int64_t M, T* dw, int add, \
                                   int edges, int64_t rows, int64_t x_row, int64_t g_row) {                 \
    vec_##S acc[3][CT][CB];                                                                                 \
    const int64_t tap = C * O;                                                                              \
    for (int k = 0; k < 3; k++)                                                                             \
        for (int i = 0; i < CT; i++)                                                                        \
            for (int b = 0; b < CB; b++)                                                                    \
                acc[k][i][b] = add ? *(const uvec_##S*)(dw + k * tap + i * O + b * LANES_##S) : (vec_##S){0}; \
    /* rows of M pixels, x_row and g_row pixels apart (one row: the grid form); edges as in fwd3 */         \
    for (int64_t r = 0; r < rows; r++, x += x_row * C, g += g_row * O)                                      \
    for (int64_t q = 0; q < M + 2; q++) {                                                                   \
        const T* xq = x + q * C;                                                                            \
        if (q >= 2 && q < M) {                                                                              \
            vec_##S g0[CB], g1[CB], g2[CB];                                                                 \
            for (int b = 0; b < CB; b++) {                                                                  \
                g0[b] = *(const uvec_##S*)(g + q * O + b * LANES_##S);                                      \
                g1[b] = *(const uvec_##S*)(g + (q - 1) * O + b * LANES_##S);                                \
                g2[b] = *(const uvec_##S*)(g + (q - 2) * O + b * LANES_##S);                                \
            }                                                                                               \
            for (int i = 0; i < CT; i++) {                                                                  \
                const T xs = xq[i];                                                                         \
                for (int b = 0; b < CB; b++) {                                                              \
                    acc[0][i][b] += xs * g0[b];                                                             \
                    acc[1][i][b] += xs * g1[b];                                                             \
                    acc[2][i][b] += xs * g2[b];                                                             \
                }                                                                                           \
            }                                                                                               \
        } else {                                                                                            \
            if ((q == 0 && (edges & 1)) || (q == M + 1 && (edges & 2))) continue;                           \
            for (int k = 0; k < 3; k++) {                                                                   \
                const int64_t p = q - k;                                                                    \
                if (p < 0 || p >= M) continue;                                                              \
                vec_##S gv[CB];                                                                             \
                for (int b = 0; b < CB; b++) gv[b] = *(const uvec_##S*)(g + p * O + b * LANES_##S);         \
                for (int i = 0; i < CT; i++)                                                                \
                    for (int b = 0; b < CB; b++) acc[k][i][b] += xq[i] * gv[b];                             \
            }                                                                                               \
        }                                                                                                   \
    }                                                                                                       \
    for (int k = 0; k < 3; k++)                                                                             \
        for (int i = 0; i < CT; i++)                                                                        \
            for (int b = 0; b < CB; b++) *(uvec_##S*)(dw + k * tap + i * O + b * LANES_##S) = acc[k][i][b]; \
}

/* one channel at a time, for the channels a C not divisible by the tile's CT leaves over (the 2-vector tile
 * already has CT = 1 where the registers are few: AVX2) */
#if WGT3_CT2 == 1
#define WGT3_TILE_2_1(S, T)
#else
#define WGT3_TILE_2_1(S, T) WGT3_TILE(S, T, 2, 1)
#endif

/* the three taps of a kernel row for one block of CB vectors of output channels: tiles of CT channels, then
 * the channels left over tap by tap */
#define WGT3_BLOCK(S, CB, CT)                                                                               \
    {                                                                                                       \
        int64_t c = 0;                                                                                      \
        for (; c + CT <= C; c += CT) wgt3_##S##_##CB##_##CT(xt + c, C, gp + o0, O, m, dwt + c * O + o0, acc, 0, 1, 0, 0); \
        for (; c < C; c++)                                                                                  \
            for (int k = 0; k < 3; k++)                                                                     \
                wgt_##S##_##CB##_1(xt + k * C + c, C, gp + o0, O, m, dwt + k * C * O + c * O + o0, acc);    \
        o0 += CB * LANES_##S;                                                                               \
    }

/* One element type: T the scalar, I the integer of its size (for the ReLU mask), S the name suffix. */
#define SHIFTED_KERNELS(T, I, S)                                                                               \
typedef T vec_##S __attribute__((vector_size(VBYTES)));                                                     \
typedef T uvec_##S __attribute__((vector_size(VBYTES), aligned(sizeof(T))));   /* unaligned access */       \
typedef I ivec_##S __attribute__((vector_size(VBYTES)));                       /* same-size integers */     \
enum { LANES_##S = VBYTES / sizeof(T) };                                                                    \
FWD_TILE(S, T, 4, FWD_PT4) FWD_TILE(S, T, 2, FWD_PT2) FWD_TILE(S, T, 1, FWD_PT1)                            \
FWD_TILE(S, T, 4, 4) FWD_TILE(S, T, 2, 4) FWD_TILE(S, T, 1, 4)                                              \
FWD_TILE(S, T, 4, 2) FWD_TILE(S, T, 2, 2) FWD_TILE(S, T, 1, 2)                                              \
FWD_TILE(S, T, 4, 1) FWD_TILE(S, T, 2, 1) FWD_TILE(S, T, 1, 1)                                              \
FWD3_TILE(S, T, 2, FWD3_PT2) FWD3_TILE(S, T, 1, FWD3_PT1)                                                   \
WGT_TILE(S, T, 4, WGT_CT4) WGT_TILE(S, T, 2, WGT_CT2) WGT_TILE(S, T, 1, WGT_CT1)                            \
WGT_TILE(S, T, 4, 1) WGT_TILE(S, T, 2, 1) WGT_TILE(S, T, 1, 1)                                              \
WGT3_TILE(S, T, 2, WGT3_CT2) WGT3_TILE(S, T, 1, WGT3_CT1) WGT3_TILE(S, T, 1, 1) WGT3_TILE_2_1(S, T)        \
                                                                                                            \
/* The forward on rows of pixels: output (n, i, j) of images × rows × cols, reading x from row             \
 * n·x_image + i·x_row + j·x_step (+ off_t) and writing y row n·y_image + i·y_row + j·y_step. With a grid's   \
 * strides for x and the output's for y this writes the valid pixels only (no junk, no crop copy); x_row =  \
 * s·wq and x_step = s make it a convolution of stride s, y_row and y_step one phase of its input gradient. \
 * Taps go in groups whose weights for one block of output channels fit in L1 (all nine at 16 channels,     \
 * two at 64), rows in blocks of about 256 pixels whose outputs stay in L2 from one group to the next.      \
 * bias (O values, or NULL) is added and relu (0/1) applied as the last tap group stores its tiles: a       \
 * convolution followed by an inference batch norm folded into W and bias, and a ReLU, in one pass. */      \
void shifted_conv_##S(const T* x, int64_t C, const int64_t* offs, int64_t taps, const T* w, int64_t O, T* y, \
                      int64_t images, int64_t rows, int64_t cols, int64_t x_image, int64_t x_row,           \
                      int64_t x_step, int64_t y_image, int64_t y_row, int64_t y_step, int add, const T* bias,  \
                      int relu) {                                                                           \
    const int64_t XS = x_step * C, YS = y_step * O;                                                         \
    /* rows of three neighbouring taps (a 3-wide kernel, dilation 1) and at most 4 vectors of outputs: the   \
     * fwd3 tiles on blocks of 1 or 2 vectors, tap groups of whole rows */                                  \
    int rows3 = taps % 3 == 0 && O <= 4 * LANES_##S && x_step == 1;                                         \
    for (int64_t t = 0; rows3 && t < taps; t += 3) rows3 = offs[t + 1] == offs[t] + 1 && offs[t + 2] == offs[t] + 2; \
    const int64_t unit = rows3 ? 3 : 1;                                                                     \
    int64_t per = 32768 / (C * (rows3 ? 2 : 4) * LANES_##S * (int64_t)sizeof(T) * unit);                    \
    if (per < 1) per = 1;                                                                                   \
    if (per > taps / unit) per = taps / unit;                                                               \
    const int64_t groups = (taps / unit + per - 1) / per;                                                   \
    per = (taps / unit + groups - 1) / groups * unit;                                                       \
    const int64_t total = images * rows;                                                                    \
    int64_t block = 256 / (cols > 0 ? cols : 1);                                                            \
    if (block < 1) block = 1;                                                                               \
    for (int64_t r0 = 0; r0 < total; r0 += block) {                                                         \
        const int64_t r1 = r0 + block < total ? r0 + block : total;                                         \
        for (int64_t t0 = 0; t0 < taps; t0 += per) {                                                        \
            const int64_t tg = taps - t0 < per ? taps - t0 : per;                                           \
            const int64_t* og = offs + t0;                                                                  \
            const int addg = add || t0 > 0, last = t0 + tg == taps;                                         \
            const int rg = last && relu;                                                                    \
            for (int64_t o0 = 0; o0 < O;) {                                                                 \
                const int64_t ob = o0;                                                                      \
                const T* wg = w + t0 * C * O + ob;                                                          \
                const int64_t left = O - ob;                                                                \
                const T* bg = last && bias ? bias + ob : 0;                                                 \
                for (int64_t r = r0; r < r1; r++) {                                                         \
                    const T* xr = x + ((r / rows) * x_image + (r % rows) * x_row) * C;                      \
                    T* yr = y + ((r / rows) * y_image + (r % rows) * y_row) * O + ob;                       \
                    o0 = ob;                                                                                \
                    if (rows3) {                                                                            \
                        if (left >= 2 * LANES_##S) FWD_ROW(S, fwd3, 2, FWD3_PT2)                            \
                        else FWD_ROW(S, fwd3, 1, FWD3_PT1)                                                  \
                    } else if (left >= 4 * LANES_##S) FWD_ROW(S, fwd, 4, FWD_PT4)                           \
                    else if (left >= 2 * LANES_##S) FWD_ROW(S, fwd, 2, FWD_PT2)                             \
                    else FWD_ROW(S, fwd, 1, FWD_PT1)                                                        \
                }                                                                                           \
            }                                                                                               \
        }                                                                                                   \
    }                                                                                                       \
}                                                                                                           \
                                                                                                            \
/* y[p] (+)= Σ_t x[p + off_t] · w[t] on M contiguous rows: rows of 256 pixels, then the rest */             \
void shifted_matmul_##S(const T* x, int64_t C, const int64_t* offs, int64_t taps, const T* w, int64_t O,   \
                        T* y, int64_t M, int add) {                                                         \
    const int64_t full = M / 256, rest = M % 256;                                                           \
    if (full) shifted_conv_##S(x, C, offs, taps, w, O, y, 1, full, 256, 0, 256, 1, 0, 256, 1, add, 0, 0);   \
    if (rest) shifted_conv_##S(x + full * 256 * C, C, offs, taps, w, O, y + full * 256 * O, 1, 1, rest,     \
                               0, 0, 1, 0, 0, 1, add, 0, 0);                                                \
}                                                                                                           \
                                                                                                            \
void shifted_matmul_t_##S(const T* x, int64_t C, const int64_t* offs, int64_t taps, const T* g, int64_t O, \
                          T* dw, int64_t M, int add) {                                                      \
    /* pixels in blocks whose x and g rows stay in L1 (32 KiB) while every tap and tile reads them */      \
    int64_t block = 32768 / ((int64_t)sizeof(T) * (C + O));                                                 \
    if (block < 16) block = 16;                                                                             \
    int rows3 = taps % 3 == 0 && O <= 2 * LANES_##S;  /* rows of three neighbouring taps: wgt3 (not faster at 4 vectors) */ \
    for (int64_t t = 0; rows3 && t < taps; t += 3) rows3 = offs[t + 1] == offs[t] + 1 && offs[t + 2] == offs[t] + 2; \
    for (int64_t p0 = 0; p0 < M; p0 += block) {                                                             \
        const int64_t m = M - p0 < block ? M - p0 : block;                                                  \
        const int acc = add || p0 > 0;                                                                      \
        for (int64_t t = 0; t < taps; t += rows3 ? 3 : 1) {                                                 \
            const T* xt = x + (offs[t] + p0) * C;                                                           \
            const T* gp = g + p0 * O;                                                                       \
            T* dwt = dw + t * C * O;                                                                        \
            for (int64_t o0 = 0; o0 < O;) {                                                                 \
                const int64_t left = O - o0;                                                                \
                if (rows3) {                                                                                \
                    if (left >= 2 * LANES_##S) WGT3_BLOCK(S, 2, WGT3_CT2)                                   \
                    else WGT3_BLOCK(S, 1, WGT3_CT1)                                                         \
                } else if (left >= 4 * LANES_##S) WGT_BLOCK(S, 4, WGT_CT4)                                  \
                else if (left >= 2 * LANES_##S) WGT_BLOCK(S, 2, WGT_CT2)                                    \
                else WGT_BLOCK(S, 1, WGT_CT1)                                                               \
            }                                                                                               \
        }                                                                                                   \
    }                                                                                                       \
}

SHIFTED_KERNELS(float, int32_t, f32)
SHIFTED_KERNELS(double, int64_t, f64)
/* A 3×3 "same" convolution (stride 1, dilation 1, padding 1) on the unpadded images themselves: no grid,
 * no copy. A tap that would read the zero border is skipped instead: at the top and bottom rows of an image
 * whole kernel rows (the tap range of that output row), at the left and right columns the one x column of
 * the fwd3 / wgt3 tiles that lies outside (their edges argument). x (images, H, W, C) and y (images, H, W, O)
 * contiguous, w (9, C, O); only the output rows [row_begin, row_end) of the images·H rows are computed (each
 * row reads x alone: two threads can share one image). Returns −1, doing nothing, for the shapes these tiles
 * do not cover: more than 4 vectors of outputs, and W no multiple of the tile widths in use (the caller then
 * places a grid). */
#define BORDERLESS_KERNELS(T, S)                                                                            \
int conv3x3_same_##S(const T* x, int64_t C, const T* w, int64_t O, T* y, int64_t images, int64_t H,         \
                     int64_t W, int add, const T* bias, int relu, int64_t row_begin, int64_t row_end) {     \
    if (O % LANES_##S || O > 4 * LANES_##S) return -1;                                                      \
    if (O >= 2 * LANES_##S && W % FWD3_PT2) return -1;                                                      \
    if (O % (2 * LANES_##S) && W % FWD3_PT1) return -1;                                                     \
    int64_t offs[9];                                                                                        \
    for (int a = 0; a < 3; a++)                                                                             \
        for (int b = 0; b < 3; b++) offs[3 * a + b] = (a - 1) * W + (b - 1);                                \
    int64_t per = 32768 / (C * 2 * LANES_##S * (int64_t)sizeof(T) * 3);  /* kernel rows per tap group */     \
    if (per < 1) per = 1;                                                                                   \
    if (per > 3) per = 3;                                                                                   \
    const int64_t groups = (3 + per - 1) / per;                                                             \
    per = (3 + groups - 1) / groups * 3;  /* taps per group, the groups as equal as whole rows allow */     \
    const int64_t total = row_end < images * H ? row_end : images * H;  /* output rows [row_begin, row_end) */ \
    int64_t block = 256 / W;                                                                                \
    if (block < 1) block = 1;                                                                               \
    for (int64_t r0 = row_begin; r0 < total; r0 += block) {                                                 \
        const int64_t r1 = r0 + block < total ? r0 + block : total;                                         \
        for (int64_t t0 = 0; t0 < 9; t0 += per) {                                                           \
            for (int64_t ob = 0, step; ob < O; ob += step) {                                                \
                const int wide = O - ob >= 2 * LANES_##S;  /* a block of 2 vectors of outputs, else 1 */    \
                step = wide ? 2 * LANES_##S : LANES_##S;                                                    \
                for (int64_t r = r0; r < r1; r++) {                                                         \
                    const int64_t i = r % H;                                                                \
                    const int64_t lo = i == 0 ? 3 : 0, hi = i == H - 1 ? 6 : 9;  /* the row's taps */       \
                    const int64_t ta = t0 > lo ? t0 : lo, tb = t0 + per < hi ? t0 + per : hi;               \
                    if (ta >= tb) continue;                                                                 \
                    const int addg = add || ta > lo, last = tb == hi;                                       \
                    const T* bg = last && bias ? bias + ob : 0;                                             \
                    const int rg = last && relu;                                                            \
                    const T* xr = x + r * W * C;                                                            \
                    T* yr = y + r * W * O + ob;                                                             \
                    const T* wg = w + ta * C * O + ob;                                                      \
                    if (wide)                                                                               \
                        for (int64_t j = 0; j < W; j += FWD3_PT2)                                           \
                            fwd3_##S##_2_##FWD3_PT2(xr + j * C, C, C, offs + ta, tb - ta, wg, O, yr + j * O, O, \
                                                    addg, bg, rg, (j == 0) | (j + FWD3_PT2 == W) << 1);     \
                    else                                                                                    \
                        for (int64_t j = 0; j < W; j += FWD3_PT1)                                           \
                            fwd3_##S##_1_##FWD3_PT1(xr + j * C, C, C, offs + ta, tb - ta, wg, O, yr + j * O, O, \
                                                    addg, bg, rg, (j == 0) | (j + FWD3_PT1 == W) << 1);     \
                }                                                                                           \
            }                                                                                               \
        }                                                                                                   \
    }                                                                                                       \
    return 0;                                                                                               \
}                                                                                                           \
                                                                                                            \
/* dw[a, b] (+)= Σ x[n, i + a − 1, j + b − 1] ⊗ g[n, i, j] over the pixels whose tap lies inside the image */ \
int conv3x3_same_wgrad_##S(const T* x, int64_t C, const T* g, int64_t O, T* dw, int64_t images, int64_t H,  \
                           int64_t W, int add) {                                                            \
    if (O % LANES_##S || O > 4 * LANES_##S) return -1;                                                      \
    /* where the 2-vector tile takes one channel at a time (AVX2's 16 registers), more than 2 vectors of     \
     * outputs go to the grid path's 4-vector tiles instead: 32 → 32 @16 b128 backward 12.7 ms here against   \
     * 11.4 there, 16 → 16 @32 13.8 against 15.4 (AMD EPYC, AVX2, 2 threads) */                              \
    if (WGT3_CT2 == 1 && O > 2 * LANES_##S) return -1;                                                      \
    for (int64_t n = 0; n < images; n++)                                                                    \
        for (int a = 0; a < 3; a++) {                                                                       \
            const int64_t i0 = a == 0 ? 1 : 0, i1 = a == 2 ? H - 1 : H;  /* rows whose row i + a − 1 exists */ \
            if (i1 <= i0) continue;                                                                         \
            const T* xs = x + ((n * H + i0 + a - 1) * W - 1) * C;  /* at column −1: q = 0 is the border */  \
            const T* gs = g + (n * H + i0) * W * O;                                                         \
            T* dwa = dw + 3 * a * C * O;                                                                    \
            const int acc = add || n > 0;                                                                   \
            for (int64_t o0 = 0; o0 < O;) {                                                                 \
                if (O - o0 >= 2 * LANES_##S) {                                                              \
                    int64_t c = 0;                                                                          \
                    for (; c + WGT3_CT2 <= C; c += WGT3_CT2)                                                \
                        wgt3_##S##_2_##WGT3_CT2(xs + c, C, gs + o0, O, W, dwa + c * O + o0, acc, 3, i1 - i0, W, W); \
                    for (; c < C; c++)  /* the channels left over, one at a time */                         \
                        wgt3_##S##_2_1(xs + c, C, gs + o0, O, W, dwa + c * O + o0, acc, 3, i1 - i0, W, W);  \
                    o0 += 2 * LANES_##S;                                                                    \
                } else {                                                                                    \
                    int64_t c = 0;                                                                          \
                    for (; c + WGT3_CT1 <= C; c += WGT3_CT1)                                                \
                        wgt3_##S##_1_##WGT3_CT1(xs + c, C, gs + o0, O, W, dwa + c * O + o0, acc, 3, i1 - i0, W, W); \
                    for (; c < C; c++)                                                                      \
                        wgt3_##S##_1_1(xs + c, C, gs + o0, O, W, dwa + c * O + o0, acc, 3, i1 - i0, W, W);  \
                    o0 += LANES_##S;                                                                        \
                }                                                                                           \
            }                                                                                               \
        }                                                                                                   \
    if (!add && H < 2) /* a kernel row that no pixel reaches stays zero */                                  \
        for (int a = 0; a < 3; a++)                                                                         \
            if (a != 1)                                                                                     \
                for (int64_t k = 0; k < 3 * C * O; k++) dw[3 * a * C * O + k] = 0;                          \
    return 0;                                                                                               \
}

BORDERLESS_KERNELS(float, f32)
BORDERLESS_KERNELS(double, f64)


/* The time loops of an LSTM and of a GRU (neuronka/ops/recurrent.py, classes LSTM and GRU, _c_loops), float32: one call runs
 * all T steps, per step one GEMM through the BLAS function NumPy links (its address is passed in) and one
 * pass over the gates, instead of ~6 NumPy calls from Python per step. The functions take a block of nr
 * of the n batch rows (pointers at its first row), so that blocks could run on separate threads; measured,
 * two blocks of 32 rows on two threads were slower than one call (the GEMMs lose efficiency at 32 rows).
 *
 * u must be a multiple of lstm_lanes() (the caller checks; other sizes take the Numba kernels).
 * Gates in the op's order (i, f, o, c̃); the σ columns of W, U and b arrive halved, so that
 * σ(z) = ½·tanh(z/2) + ½ and one tanh covers all four gates (as in kernels.lstm_cell).
 *
 *   forward, per step:  g = x W + h U (+ b)  (g_all holds x W + b; the GEMM adds h U with β = 1)
 *                       i, f, o = ½·tanh(g) + ½;  c̃ = tanh(g);  c = f ⊙ c_prev + i ⊙ c̃;  h = o ⊙ tanh(c)
 *   backward, per step: dh += dL/dout_t;  d = dc + dh ⊙ o ⊙ (1 − tanh²(c));
 *                       dz_i = d·c̃·i(1 − i), dz_f = d·c_prev·f(1 − f), dz_o = dh·tanh(c)·o(1 − o),
 *                       dz_c = d·i·(1 − c̃²);  dc ← d ⊙ f;  dh ← dz Uᵀ
 */
#include <stdint.h>

/* cblas_sgemm with 64-bit or 32-bit integers (NumPy's OpenBLAS exports the 64-bit one) */
typedef void (*sgemm64_t)(int, int, int, int64_t, int64_t, int64_t, float, const float*, int64_t, const float*,
                          int64_t, float, float*, int64_t);
typedef void (*sgemm32_t)(int, int, int, int, int, int, float, const float*, int, const float*, int, float, float*,
                          int);

static void gemm(const void* fn, int ilp64, int64_t m, int64_t n, int64_t k, const float* a, int64_t lda,
                 const float* b, int64_t ldb, float beta, float* c, int64_t ldc) {
    if (ilp64)
        ((sgemm64_t)fn)(101, 111, 111, m, n, k, 1.0f, a, lda, b, ldb, beta, c, ldc);
    else
        ((sgemm32_t)fn)(101, 111, 111, (int)m, (int)n, (int)k, 1.0f, a, (int)lda, b, (int)ldb, beta, c, (int)ldc);
}

/* tanh(x) on a vector of float32, no libm, no branches (GCC vector extensions):
 * |x| < 0.25: the odd Taylor series to x⁹ (the next term is below 4e-9);
 * otherwise sign(x)·(1 − 2/(e^{2|x|} + 1)), e^y = 2^k · e^r with k = round(y / ln 2), |r| ≤ ln 2 / 2, e^r by
 * its Taylor polynomial to r⁶ and 2^k written into the exponent bits; |x| clamped at 9, where tanh is 1 in
 * float32; NaN stays NaN. Against float64's tanh: absolute error ≤ 1.1e-7 (NumPy's float32 tanh: 6e-8). */
#if defined(__AVX512F__)
#define TBYTES 64
#else
#define TBYTES 32
#endif
typedef float vf __attribute__((vector_size(TBYTES)));
typedef float vfu __attribute__((vector_size(TBYTES), aligned(4)));
typedef int32_t vi __attribute__((vector_size(TBYTES)));
enum { TL = TBYTES / 4 };

int lstm_lanes(void) { return TL; }

static inline vf select_v(vi mask, vf a, vf b) { return (vf)((mask & (vi)a) | (~mask & (vi)b)); }

static inline vf tanh_v(vf x) {
    const vf ax = (vf)((vi)x & 0x7fffffff);
    const vf a = select_v(ax < 9.0f, ax, (vf){0} + 9.0f);
    const vf x2 = x * x;
    const vf small = x * (1.0f + x2 * (-1.0f / 3 + x2 * (2.0f / 15 + x2 * (-17.0f / 315 + x2 * (62.0f / 2835)))));
    const vf y = 2.0f * a;
    const vi k = __builtin_convertvector(y * 1.44269504088896341f + 0.5f, vi);
    const vf kf = __builtin_convertvector(k, vf);
    const vf r = y - kf * 0.693145751953125f - kf * 1.42860682030941723e-06f; /* ln 2 in two parts */
    const vf er = 1.0f + r * (1.0f + r * (0.5f + r * (1.0f / 6 + r * (1.0f / 24 + r * (1.0f / 120 + r * (1.0f / 720))))));
    const vf two_k = (vf)((k + 127) << 23);
    const vf magnitude = 1.0f - 2.0f / (er * two_k + 1.0f);
    const vf big = (vf)((vi)magnitude | ((vi)x & (int32_t)0x80000000));
    return select_v(x == x, select_v(ax < 0.25f, small, big), x);
}

/* a[0:n] = tanh(a), n a multiple of TL (for the tests of tanh_v) */
void tanh_f32(float* a, int64_t n) {
    for (int64_t j = 0; j < n; j += TL) *(vfu*)(a + j) = tanh_v(*(vfu*)(a + j));
}

/* rows [0, nr) of the block: g_all (T, N, 4u), hb / cb (T + 1, N, u), tc (T, N, u), pointers at the block's
 * first row; rs (u, 4u) the (halved) recurrent kernel; stride_n = N·(4u) etc. in elements between steps */
void lstm_forward_f32(const void* sgemm, int ilp64, int64_t steps, int64_t nr, int64_t n, int64_t u,
                      float* g_all, const float* rs, float* hb, float* cb, float* tc) {
    const int64_t g4 = 4 * u;
    for (int64_t s = 0; s < steps; s++) {
        float* g = g_all + s * n * g4;
        const float* h_prev = hb + s * n * u;
        const float* c_prev = cb + s * n * u;
        float* h = hb + (s + 1) * n * u;
        float* c = cb + (s + 1) * n * u;
        float* t = tc + s * n * u;
        gemm(sgemm, ilp64, nr, g4, u, h_prev, u, rs, g4, 1.0f, g, g4); /* g += h_prev U */
        for (int64_t r = 0; r < nr; r++) {
            float* gr = g + r * g4;
            for (int64_t j = 0; j < 3 * u; j += TL) *(vfu*)(gr + j) = 0.5f * tanh_v(*(vfu*)(gr + j)) + 0.5f;
            for (int64_t j = 3 * u; j < g4; j += TL) *(vfu*)(gr + j) = tanh_v(*(vfu*)(gr + j));
            const float *gi = gr, *gf = gr + u, *go = gr + 2 * u, *gc = gr + 3 * u;
            const float* cp = c_prev + r * u;
            float *cr = c + r * u, *tr = t + r * u, *hr = h + r * u;
            for (int64_t j = 0; j < u; j += TL) {
                const vf cv = *(const vfu*)(gf + j) * *(const vfu*)(cp + j) + *(const vfu*)(gi + j) * *(const vfu*)(gc + j);
                const vf tv = tanh_v(cv);
                *(vfu*)(cr + j) = cv;
                *(vfu*)(tr + j) = tv;
                *(vfu*)(hr + j) = *(const vfu*)(go + j) * tv;
            }
        }
    }
}

/* dh[0:u] += dout[at: at + u]: a row's gradient from the step's output, where the outputs have one (dout) */
static inline void add_dout(float* dh, const float* dout, int64_t at, int64_t u) {
    if (!dout) return;
    for (int64_t j = 0; j < u; j += TL) *(vfu*)(dh + j) += *(const vfu*)(dout + at + j);
}

/* dout: dL/dh_t of the outputs at dout + s·dout_s + row·dout_n (NULL: none); dh, dc (nr, u) in place;
 * dz (T, N, 4u) written: dL/d(pre-activations), unhalved; rt (4u, u) = Uᵀ (not halved) */
void lstm_backward_f32(const void* sgemm, int ilp64, int64_t steps, int64_t nr, int64_t n, int64_t u,
                       const float* g_all, const float* cb, const float* tc, const float* rt, const float* dout,
                       int64_t dout_s, int64_t dout_n, float* dh, float* dc, float* dz) {
    const int64_t g4 = 4 * u;
    for (int64_t s = steps - 1; s >= 0; s--) {
        const float* g = g_all + s * n * g4;
        const float* c_prev = cb + s * n * u;
        const float* t = tc + s * n * u;
        float* z = dz + s * n * g4;
        for (int64_t r = 0; r < nr; r++) {
            float* hr = dh + r * u;
            add_dout(hr, dout, s * dout_s + r * dout_n, u);
            const float *gi = g + r * g4, *gf = gi + u, *go = gi + 2 * u, *gc = gi + 3 * u;
            float *zi = z + r * g4, *zf = zi + u, *zo = zi + 2 * u, *zc = zi + 3 * u;
            const float *cp = c_prev + r * u, *tr = t + r * u;
            float* cr = dc + r * u;
            for (int64_t j = 0; j < u; j += TL) {
#define LD(p) (*(const vfu*)((p) + j))
                const vf i = LD(gi), f = LD(gf), o = LD(go), cc = LD(gc), th = LD(tr), dhv = LD(hr);
                const vf d = LD(cr) + dhv * o * (1.0f - th * th);
                *(vfu*)(zi + j) = d * cc * i * (1.0f - i);
                *(vfu*)(zf + j) = d * LD(cp) * f * (1.0f - f);
                *(vfu*)(zo + j) = dhv * th * o * (1.0f - o);
                *(vfu*)(zc + j) = d * i * (1.0f - cc * cc);
                *(vfu*)(cr + j) = d * f;
#undef LD
            }
        }
        gemm(sgemm, ilp64, nr, u, g4, z, g4, rt, u, 0.0f, dh, u); /* dh = dz Uᵀ */
    }
}

/* GRU, reset_after (Keras's default), gates in Keras's order (z, r, h̃); the σ columns (z, r) of W, U and both
 * biases arrive halved, as in the LSTM above. brec (3u) is the recurrent bias (zeros when the layer has none).
 *
 *   forward, per step:  m = h U (a GEMM into the scratch m, nr × 3u);  z, r = ½·tanh(g + m + b_rec) + ½;
 *                       a = m_h + b_rec,h (kept: aux);  h̃ = tanh(g_h + r ⊙ a);  h = h̃ + z ⊙ (h_prev − h̃)
 *                       (g_all arrives holding x W + b_in and leaves holding z, r, h̃)
 *   backward, per step: dh += dL/dout_t;  dz = dh ⊙ (h_prev − h̃) ⊙ z(1 − z);  dĥ = dh ⊙ (1 − z) ⊙ (1 − h̃²);
 *                       dr = dĥ ⊙ a ⊙ r(1 − r);  dxg = (dz, dr, dĥ);  dm = (dz, dr, dĥ ⊙ r);
 *                       dh ← dh ⊙ z + dm Uᵀ   (the GEMM adds into dh ⊙ z with β = 1)
 */
void gru_forward_f32(const void* sgemm, int ilp64, int64_t steps, int64_t nr, int64_t n, int64_t u,
                     float* g_all, const float* rs, const float* brec, float* hb, float* aux, float* m) {
    const int64_t g3 = 3 * u;
    for (int64_t s = 0; s < steps; s++) {
        float* g = g_all + s * n * g3;
        const float* h_prev = hb + s * n * u;
        float* h = hb + (s + 1) * n * u;
        float* a = aux + s * n * u;
        gemm(sgemm, ilp64, nr, g3, u, h_prev, u, rs, g3, 0.0f, m, g3); /* m = h_prev U */
        for (int64_t r = 0; r < nr; r++) {
            float* gr = g + r * g3;
            const float* mr = m + r * g3;
            for (int64_t j = 0; j < 2 * u; j += TL)
                *(vfu*)(gr + j) = 0.5f * tanh_v(*(vfu*)(gr + j) + *(const vfu*)(mr + j) + *(const vfu*)(brec + j)) + 0.5f;
            const float *gz = gr, *gg = gr + u, *hp = h_prev + r * u;
            float *gh = gr + 2 * u, *ar = a + r * u, *hr = h + r * u;
            for (int64_t j = 0; j < u; j += TL) {
                const vf av = *(const vfu*)(mr + 2 * u + j) + *(const vfu*)(brec + 2 * u + j);
                const vf hh = tanh_v(*(vfu*)(gh + j) + *(const vfu*)(gg + j) * av);
                *(vfu*)(ar + j) = av;
                *(vfu*)(gh + j) = hh;
                *(vfu*)(hr + j) = hh + *(const vfu*)(gz + j) * (*(const vfu*)(hp + j) - hh);
            }
        }
    }
}

/* dout as in lstm_backward_f32; dh (nr, u) in place; dxg, dm (T, N, 3u) written; rt (3u, u) = Uᵀ (not halved) */
void gru_backward_f32(const void* sgemm, int ilp64, int64_t steps, int64_t nr, int64_t n, int64_t u,
                      const float* g_all, const float* hb, const float* aux, const float* rt, const float* dout,
                      int64_t dout_s, int64_t dout_n, float* dh, float* dxg, float* dm) {
    const int64_t g3 = 3 * u;
    for (int64_t s = steps - 1; s >= 0; s--) {
        const float* g = g_all + s * n * g3;
        const float* h_prev = hb + s * n * u;
        const float* a = aux + s * n * u;
        float* xg = dxg + s * n * g3;
        float* mm = dm + s * n * g3;
        for (int64_t r = 0; r < nr; r++) {
            float* hr = dh + r * u;
            add_dout(hr, dout, s * dout_s + r * dout_n, u);
            const float *gz = g + r * g3, *gg = gz + u, *gh = gz + 2 * u, *hp = h_prev + r * u, *ar = a + r * u;
            float *xz = xg + r * g3, *xr = xz + u, *xh = xz + 2 * u, *mz = mm + r * g3, *mr = mz + u, *mh = mz + 2 * u;
            for (int64_t j = 0; j < u; j += TL) {
#define LD(p) (*(const vfu*)((p) + j))
                const vf z = LD(gz), rg = LD(gg), hh = LD(gh), dhv = LD(hr);
                const vf dz = dhv * (LD(hp) - hh) * z * (1.0f - z);
                const vf dhh = dhv * (1.0f - z) * (1.0f - hh * hh);
                const vf dr = dhh * LD(ar) * rg * (1.0f - rg);
                *(vfu*)(xz + j) = dz;
                *(vfu*)(xr + j) = dr;
                *(vfu*)(xh + j) = dhh;
                *(vfu*)(mz + j) = dz;
                *(vfu*)(mr + j) = dr;
                *(vfu*)(mh + j) = dhh * rg;
                *(vfu*)(hr + j) = dhv * z;
#undef LD
            }
        }
        gemm(sgemm, ilp64, nr, u, g3, mm, g3, rt, u, 1.0f, dh, u); /* dh += dm Uᵀ */
    }
}

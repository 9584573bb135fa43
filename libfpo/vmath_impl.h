/* Internal: kernel bodies for vmath.c, which includes this file once per
 * instruction set with these macros defined:
 *   VM_NAME(f)  -> the per-ISA name of f
 *   VM_ATTR     -> function attributes (e.g. target("avx2,fma"))
 *   VM_W        -> lanes per vector (4 = SSE2, 8 = AVX2)
 *   VM_MADD     -> a*b+c on vectors, fused where the ISA has FMA
 * No include guard on purpose. The exp-based kernels use GCC/clang vector
 * extensions: the auto-vectorizer refuses their selects under the default
 * -ftrapping-math. The simple kernels below are scalar loops it does
 * vectorize. */

#ifdef VM_W
typedef float VM_NAME(vf) __attribute__((vector_size(VM_W * 4)));
typedef uint32_t VM_NAME(vu) __attribute__((vector_size(VM_W * 4)));
typedef int32_t VM_NAME(vi) __attribute__((vector_size(VM_W * 4)));
#define vf VM_NAME(vf)
#define vu VM_NAME(vu)
#define vi VM_NAME(vi)
#define VM_SPLAT(c) ((vf){0} + (c))
#ifndef VM_MIN /* min/max with NaN in x giving the bound */
#define VM_MIN(x, y) VM_NAME(sel)((x) < (y), (x), (y))
#define VM_MAX(x, y) VM_NAME(sel)((x) > (y), (x), (y))
#define VM_MINMAX_LOCAL
#endif
#ifndef VM_RECIP
#define VM_RECIP(x) (1.0f / (x))
#define VM_RECIP_LOCAL
#endif

static inline VM_ATTR vf VM_NAME(ld)(const float *p)
{
    vf v;
    memcpy(&v, p, sizeof v);
    return v;
}

static inline VM_ATTR void VM_NAME(st)(float *p, vf v) { memcpy(p, &v, sizeof v); }

/* m ? a : b for a lane mask m (all ones or all zeros per lane) */
static inline VM_ATTR vf VM_NAME(sel)(vi m, vf a, vf b)
{
    return (vf)(((vi)a & m) | ((vi)b & ~m));
}

/* exp(x): Cody-Waite reduction x = n ln2 + r, |r| <= ln2/2, Cephes minimax
 * polynomial, then scale by 2^n built directly in the exponent bits.
 * Inputs are clamped to [-87, 88] so 2^n stays a normal number; NaN is
 * mapped to a bound, so callers that must propagate NaN do it themselves. */
static inline VM_ATTR vf VM_NAME(exp)(vf x)
{
    x = VM_MIN(x, VM_SPLAT(88.0f));
    x = VM_MAX(x, VM_SPLAT(-87.0f));
    /* Adding 1.5*2^23 rounds to an integer held in the low mantissa bits. */
    const vf magic = VM_SPLAT(12582912.0f);
    vf t = VM_MADD(x, VM_SPLAT(1.44269504088896341f), magic);
    vf n = t - magic;
    vf r = VM_MADD(n, VM_SPLAT(-0.693359375f), x);
    r = VM_MADD(n, VM_SPLAT(2.12194440e-4f), r);
    /* exp(r) = 1 + r + r^2 P(r), P of degree 5 evaluated by Estrin's
     * scheme: half the dependency depth of Horner, which is what bounds
     * this loop (it is latency- not throughput-limited). */
    vf r2 = r * r, r4 = r2 * r2;
    vf a = VM_MADD(VM_SPLAT(1.6666665459e-1f), r, VM_SPLAT(5.0000001201e-1f));
    vf b = VM_MADD(VM_SPLAT(8.3334519073e-3f), r, VM_SPLAT(4.1665795894e-2f));
    vf c = VM_MADD(VM_SPLAT(1.9875691500e-4f), r, VM_SPLAT(1.3981999507e-3f));
    vf p = VM_MADD(c, r4, VM_MADD(b, r2, a));
    p = VM_MADD(p, r2, r) + 1.0f;
    vu e = ((vu)t - (0x4B400000u - 127u)) << 23;
    return p * (vf)e;
}

/* tanh: odd Taylor series below |x| = 0.25 (where 1 - e cancels), else
 * (1 - e) / (1 + e) with e = exp(-2|x|) and the sign of x copied in. Both
 * are computed and one selected; NaN fails a >= 0.25 and so takes the
 * series, which propagates it. */
static inline VM_ATTR vf VM_NAME(tanh)(vf x)
{
    const vu sign = (vu)x & 0x80000000u;
    vf a = (vf)((vu)x & 0x7fffffffu);
    vf x2 = x * x;
    vf p = VM_SPLAT(-1382.0f / 155925.0f);
    p = VM_MADD(p, x2, VM_SPLAT(62.0f / 2835.0f));
    p = VM_MADD(p, x2, VM_SPLAT(-17.0f / 315.0f));
    p = VM_MADD(p, x2, VM_SPLAT(2.0f / 15.0f));
    p = VM_MADD(p, x2, VM_SPLAT(-1.0f / 3.0f));
    vf small = VM_MADD(p * x2, x, x);
    vf e = VM_NAME(exp)(a * -2.0f);
    vf big = (vf)((vu)((1.0f - e) / (1.0f + e)) | sign);
    return VM_NAME(sel)(a >= 0.25f, big, small);
}

/* Sigmoid of v; NaN in v gives a finite s, so callers multiply by v. */
static inline VM_ATTR vf VM_NAME(sigmoid)(vf v)
{
    return VM_RECIP(1.0f + VM_NAME(exp)(-v));
}

static VM_ATTR void VM_NAME(v_exp)(const float *restrict x, float *restrict y, size_t n)
{
    float tx[VM_W], ty[VM_W];
    for (size_t i = 0; i < n; i += VM_W) {
        size_t m = n - i < VM_W ? n - i : VM_W;
        memset(tx, 0, sizeof tx);
        memcpy(tx, x + i, m * sizeof *x);
        vf v = VM_NAME(ld)(tx);
        VM_NAME(st)(ty, VM_NAME(sel)(v == v, VM_NAME(exp)(v), v));
        memcpy(y + i, ty, m * sizeof *y);
    }
}

static VM_ATTR void VM_NAME(v_tanh)(const float *restrict x, float *restrict y, size_t n)
{
    size_t i = 0;
    for (; i + VM_W <= n; i += VM_W)
        VM_NAME(st)(y + i, VM_NAME(tanh)(VM_NAME(ld)(x + i)));
    if (i < n) {
        float t[VM_W] = {0};
        memcpy(t, x + i, (n - i) * sizeof *x);
        VM_NAME(st)(t, VM_NAME(tanh)(VM_NAME(ld)(t)));
        memcpy(y + i, t, (n - i) * sizeof *y);
    }
}

static VM_ATTR void VM_NAME(v_silu)(const float *restrict x, float *restrict y, size_t n)
{
    size_t i = 0;
    for (; i + VM_W <= n; i += VM_W) {
        vf v = VM_NAME(ld)(x + i);
        VM_NAME(st)(y + i, v * VM_NAME(sigmoid)(v));
    }
    if (i < n) {
        float t[VM_W] = {0};
        memcpy(t, x + i, (n - i) * sizeof *x);
        vf v = VM_NAME(ld)(t);
        VM_NAME(st)(t, v * VM_NAME(sigmoid)(v));
        memcpy(y + i, t, (n - i) * sizeof *y);
    }
}

/* One vector of the SiLU epilogue: z = silu(z + b), d = silu'(z + b). */
static inline VM_ATTR void VM_NAME(silu_fd)(float *z, float *d, const float *b)
{
    vf v = VM_NAME(ld)(z) + VM_NAME(ld)(b);
    vf s = VM_NAME(sigmoid)(v);
    VM_NAME(st)(z, v * s);
    if (d) /* silu'(v) = s (1 + v (1 - s)) */
        VM_NAME(st)(d, s * VM_MADD(v, 1.0f - s, VM_SPLAT(1.0f)));
}

static inline VM_ATTR void VM_NAME(tanh_f)(float *z, float *d, const float *b)
{
    (void)d;
    VM_NAME(st)(z, VM_NAME(tanh)(VM_NAME(ld)(z) + VM_NAME(ld)(b)));
}

/* Row-wise driver: full vectors in place, the tail of each row through
 * padded temporaries (only when w is not a multiple of the lane count). */
#define VM_ROWS(KERNEL)                                                              \
    for (size_t i = 0; i < rows; i++) {                                              \
        float *zi = z + i * w, *di = d ? d + i * w : NULL;                           \
        size_t j = 0;                                                                \
        for (; j + VM_W <= w; j += VM_W)                                             \
            KERNEL(zi + j, di ? di + j : NULL, b + j);                               \
        if (j < w) {                                                                 \
            float tz[VM_W] = {0}, td[VM_W] = {0}, tb[VM_W] = {0};                    \
            memcpy(tz, zi + j, (w - j) * sizeof *z);                                 \
            memcpy(tb, b + j, (w - j) * sizeof *b);                                  \
            KERNEL(tz, di ? td : NULL, tb);                                          \
            memcpy(zi + j, tz, (w - j) * sizeof *z);                                 \
            if (di)                                                                  \
                memcpy(di + j, td, (w - j) * sizeof *d);                             \
        }                                                                            \
    }

static VM_ATTR void VM_NAME(bias_silu)(float *restrict z, float *restrict d, const float *restrict b,
                                       size_t rows, size_t w)
{
#ifdef VM_STREAM
    /* d is only read again by backward, after the rest of the forward pass
     * has streamed through the cache: store it non-temporally, which saves
     * the read-for-ownership of every line (the biggest cost of this loop
     * at width 32). Needs aligned full vectors. */
    if (d && w % VM_W == 0 && (uintptr_t)d % (VM_W * 4) == 0) {
        for (size_t i = 0; i < rows; i++) {
            float *zi = z + i * w, *di = d + i * w;
            for (size_t j = 0; j < w; j += VM_W) {
                vf v = VM_NAME(ld)(zi + j) + VM_NAME(ld)(b + j);
                vf s = VM_NAME(sigmoid)(v);
                VM_NAME(st)(zi + j, v * s);
                VM_STREAM(di + j, s * VM_MADD(v, 1.0f - s, VM_SPLAT(1.0f)));
            }
        }
        VM_SFENCE();
        return;
    }
#endif
    VM_ROWS(VM_NAME(silu_fd))
}

static VM_ATTR void VM_NAME(bias_tanh)(float *restrict z, const float *restrict b, size_t rows,
                                       size_t w)
{
    float *d = NULL;
    VM_ROWS(VM_NAME(tanh_f))
}

#undef vf
#undef vu
#undef vi
#undef VM_SPLAT
#ifdef VM_MINMAX_LOCAL
#undef VM_MIN
#undef VM_MAX
#undef VM_MINMAX_LOCAL
#endif
#ifdef VM_RECIP_LOCAL
#undef VM_RECIP
#undef VM_RECIP_LOCAL
#endif
#undef VM_ROWS

#endif /* VM_W */

static VM_ATTR void VM_NAME(bias_relu)(float *restrict z, const float *restrict b, size_t rows,
                                       size_t w)
{
    for (size_t i = 0; i < rows; i++) {
        float *restrict zi = z + i * w;
        for (size_t j = 0; j < w; j++) {
            float v = zi[j] + b[j];
            zi[j] = v < 0.0f ? 0.0f : v; /* NaN stays NaN */
        }
    }
}

/* g *= d (SiLU) and acc += column sums of the result. */
static VM_ATTR void VM_NAME(back_silu)(float *restrict g, const float *restrict d,
                                       float *restrict acc, size_t rows, size_t w)
{
    for (size_t i = 0; i < rows; i++) {
        float *restrict gi = g + i * w;
        const float *restrict di = d + i * w;
        for (size_t j = 0; j < w; j++) {
            float v = gi[j] * di[j];
            gi[j] = v;
            acc[j] += v;
        }
    }
}

/* tanh' = 1 - h^2 */
static VM_ATTR void VM_NAME(back_tanh)(float *restrict g, const float *restrict h,
                                       float *restrict acc, size_t rows, size_t w)
{
    for (size_t i = 0; i < rows; i++) {
        float *restrict gi = g + i * w;
        const float *restrict hi = h + i * w;
        for (size_t j = 0; j < w; j++) {
            float v = gi[j] * (1.0f - hi[j] * hi[j]);
            gi[j] = v;
            acc[j] += v;
        }
    }
}

/* relu' = [h > 0] */
static VM_ATTR void VM_NAME(back_relu)(float *restrict g, const float *restrict h,
                                       float *restrict acc, size_t rows, size_t w)
{
    for (size_t i = 0; i < rows; i++) {
        float *restrict gi = g + i * w;
        const float *restrict hi = h + i * w;
        for (size_t j = 0; j < w; j++) {
            float v = hi[j] > 0.0f ? gi[j] : 0.0f;
            gi[j] = v;
            acc[j] += v;
        }
    }
}

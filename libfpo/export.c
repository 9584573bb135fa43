/* Exporting a policy's actor as one dependency-free C file (fpo/export.h).
 *
 * The generated act computes what fpo_sampler_act computes for one
 * observation, in the same operation order wherever that is free, with two
 * deliberate changes that only move float summation order:
 *  - flow policies: the first layer's input is [normalized obs, x_t,
 *    emb(t)]. The observation rows' sum is computed once per act call (it
 *    does not change during the integration), and the time rows' sum plus
 *    the bias is a constant per velocity evaluation (the time grid is
 *    fixed), precomputed here with the library's own fpo_time_embed. Per
 *    evaluation only the act_dim rows of x_t remain: the 4x32 actor with 17
 *    observations does 6x32 instead of 31x32 multiply-adds in that layer;
 *  - SiLU's exp is a copy of libfpo's polynomial (vmath_impl.h), its clamps
 *    branch-free so compilers vectorize it; tanh and softplus use <math.h>
 *    as the library does.
 * For speed on the host the file has up to three versions of the layers,
 * all with the same float operations in the same order (so the same
 * results): portable C99, 4-float GCC/clang vector extensions where the
 * target has SIMD, and on x86-64 an AVX2 copy of the whole act with 8-float
 * vectors, picked at run time (emit_simd_prelude, emit_dispatch; why:
 * docs/embedding.md, "Speed on the host").
 * Floats are written as C99 hexadecimal literals: exact, and independent of
 * the C locale (printf's %g would print a decimal comma in some). */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "abi.h"
#include "fpo/export.h"
#include "fpo/sampler.h"
#include "policy_impl.h"
#include "serial.h"
#include "util.h"

/* Size of fpo_export_config in release 0.2.0, the release that added it:
 * the end of its last member, so the number is the same on every
 * architecture and stays right when members are appended. */
#define FPO_EXPORT_CONFIG_FIRST_SIZE \
    (offsetof(fpo_export_config, deterministic) + sizeof(int))
#define FPO_EXPORT_NAME_MAX 64

static void export_defaults(fpo_export_config *c)
{
    memset(c, 0, sizeof *c);
    c->struct_size = sizeof *c;
    c->name = NULL;
    c->integrator = -1;
    c->steps = 0;
    c->deterministic = 0;
}

int fpo_export_config_init_sized(fpo_export_config *cfg, size_t size)
{
    fpo_export_config d;
    export_defaults(&d);
    return fpo_struct_copy_init("fpo_export_config", FPO_EXPORT_CONFIG_FIRST_SIZE, cfg, size, &d, sizeof d);
}

/* ---- a growable text buffer ------------------------------------------- */

typedef struct sbuf {
    const fpo_mem *m;
    char *p;
    size_t len, cap;
    int oom;
} sbuf;

static int sb_reserve(sbuf *b, size_t extra)
{
    if (b->oom)
        return -1;
    if (b->len + extra + 1 <= b->cap)
        return 0;
    size_t cap = b->cap ? b->cap : 4096;
    while (cap < b->len + extra + 1) {
        if (cap > ((size_t)-1) / 2) {
            b->oom = 1;
            return -1;
        }
        cap *= 2;
    }
    char *q = fpo_mem_calloc(b->m, cap, 1);
    if (!q) {
        b->oom = 1;
        return -1;
    }
    if (b->p) {
        memcpy(q, b->p, b->len);
        fpo_mem_free(b->m, b->p);
    }
    b->p = q;
    b->cap = cap;
    return 0;
}

static void sb_printf(sbuf *b, const char *fmt, ...) FPO_PRINTF(2, 3);
static void sb_printf(sbuf *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0) {
        b->oom = 1;
        return;
    }
    if (sb_reserve(b, (size_t)n))
        return;
    va_start(ap, fmt);
    vsnprintf(b->p + b->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
}

static void sb_free(sbuf *b)
{
    fpo_mem_free(b->m, b->p);
    b->p = NULL;
    b->len = b->cap = 0;
}

/* A float as an exact C99 literal: 0x1.8p+0f. Finite values only. */
static void sb_float(sbuf *b, float f)
{
    uint32_t u;
    memcpy(&u, &f, sizeof u);
    const char *sign = (u >> 31) ? "-" : "";
    unsigned e = (u >> 23) & 0xffu;
    uint32_t m = (u & 0x7fffffu) << 1; /* 24 bits: 6 hex digits */
    if (e == 0 && m == 0) {
        sb_printf(b, "%s0.0f", sign);
        return;
    }
    char digits[8];
    snprintf(digits, sizeof digits, "%06lx", (unsigned long)m);
    int nd = 6;
    while (nd > 0 && digits[nd - 1] == '0')
        nd--;
    digits[nd] = '\0';
    int lead = e == 0 ? 0 : 1;
    int ex = e == 0 ? -126 : (int)e - 127;
    sb_printf(b, "%s0x%d%s%sp%+df", sign, lead, nd ? "." : "", digits, ex);
}

static void sb_array(sbuf *b, const char *name, const char *suffix, const float *v, size_t n,
                     const char *comment)
{
    if (comment)
        sb_printf(b, "/* %s */\n", comment);
    sb_printf(b, "static const float %s%s[%zu] = {", name, suffix, n);
    for (size_t i = 0; i < n; i++) {
        sb_printf(b, "%s", i % 6 == 0 ? "\n    " : " ");
        sb_float(b, v[i]);
        if (i + 1 < n)
            sb_printf(b, ",");
    }
    sb_printf(b, "\n};\n\n");
}

/* ---- the generator ------------------------------------------------------ */

typedef struct gen {
    const fpo_policy *p;
    const fpo_mlp *a; /* the actor */
    const char *n;    /* identifier prefix */
    char U[FPO_EXPORT_NAME_MAX + 1];
    int flow, od, ad, L, emb, outd, hmax, h0;
    int integ, K, evals, det;
    sbuf *b;
    /* The copy being written: vw 4 (baseline; SIMD or portable C, chosen by
     * the preprocessor) or 8 (AVX2 only), sfx the suffix of its function
     * names, q the qualifiers of its functions. */
    int vw;
    const char *sfx;
    char q[FPO_EXPORT_NAME_MAX + 32];
} gen;

static const char *const integ_names[] = {"Euler", "Heun", "midpoint"};

static void emit_act_expr(gen *g, const char *v)
{
    switch (g->a->act) {
    case FPO_ACT_SILU:
        sb_printf(g->b, "%s_silu(%s)", g->n, v);
        break;
    case FPO_ACT_RELU:
        sb_printf(g->b, "(%s < 0.0f ? 0.0f : %s)", v, v);
        break;
    default:
        sb_printf(g->b, "tanhf(%s)", v);
        break;
    }
}

/* The matrix product of a layer: out[j] = init[j] (or 0) + sum_i a_i
 * w[i * no + j], the rows summed in order, as libfpo sums them. The sums
 * live in named locals, not an array (an array accumulator stayed in memory:
 * a load, add and store per row and vector), in blocks that fit in
 * registers. The file has two versions of each product, chosen by the
 * preprocessor (emit_simd_prelude); both do the same operations on each
 * output in the same order, so they give the same floats:
 *  - SIMD (GCC or clang vector extensions, 8 floats: two SSE registers, or
 *    one AVX one): blocks of FPO_EXPORT_VBLOCK vectors, then vectors, then
 *    up to 7 scalars;
 *  - portable C: blocks of FPO_EXPORT_BLOCK scalars. GCC packs a block's
 *    adjacent sums into vectors itself, but only at -O2 or for narrow
 *    blocks: at -O3, or with -march=native, it vectorizes wider blocks
 *    across rows instead, with shuffles that cost more than they save. */
#define FPO_EXPORT_BLOCK 8
#define FPO_EXPORT_VBLOCK 32

/* One block: nv vectors then ns scalars, from output jb on. src is the
 * input array (obs, normalized here, when norm). fuse: the bias array of a
 * SiLU layer whose end is done here, on the sums still in registers. */
static void emit_block_body(gen *g, const char *w, int ni, int no, int nv, int ns, const char *jb,
                            const char *src, const char *init, int norm, const char *fuse)
{
    sbuf *b = g->b;
    const char *n = g->n;
    const int W = g->vw;
    for (int k = 0; k < nv; k++) {
        if (init)
            sb_printf(b, "            %s_v%d v%d = *(const %s_v%d *)(%s + %s + %d);\n", n, W, k, n,
                      W, init, jb, W * k);
        else
            sb_printf(b, "            %s_v%d v%d = {0.0f};\n", n, W, k);
    }
    if (ns) {
        sb_printf(b, "            float");
        for (int k = 0; k < ns; k++) {
            if (init)
                sb_printf(b, "%s s%d = %s[%s + %d]", k ? "," : "", k, init, jb, W * nv + k);
            else
                sb_printf(b, "%s s%d = 0.0f", k ? "," : "", k);
        }
        sb_printf(b, ";\n");
    }
    sb_printf(b, "            for (i = 0; i < %d; i++) {\n", ni);
    if (norm) {
        sb_printf(b, "                float a = (obs[i] - %s_obs_mean[i]) * %s_obs_inv_std[i];\n",
                  n, n);
        sb_printf(b, "                const float *w = %s + i * %d + %s;\n", w, no, jb);
        sb_printf(b, "                a = a < -%s_OBS_CLIP ? -%s_OBS_CLIP : "
                     "(a > %s_OBS_CLIP ? %s_OBS_CLIP : a);\n",
                  g->U, g->U, g->U, g->U);
    } else {
        sb_printf(b, "                const float a = %s[i];\n", src);
        sb_printf(b, "                const float *w = %s + i * %d + %s;\n", w, no, jb);
    }
    for (int k = 0; k < nv; k++)
        sb_printf(b, "                v%d += a * *(const %s_v%d *)(w + %d);\n", k, n, W, W * k);
    for (int k = 0; k < ns; k++)
        sb_printf(b, "                s%d += a * w[%d];\n", k, W * nv + k);
    sb_printf(b, "            }\n");
    for (int k = 0; k < nv; k++) {
        if (fuse)
            sb_printf(b, "            v%d += *(const %s_v%d *)(%s + %s + %d);\n"
                         "            %s_silu%d(&v%d);\n", k, n, W, fuse, jb, W * k, n, W, k);
        sb_printf(b, "            *(%s_v%d *)(out + %s + %d) = v%d;\n", n, W, jb, W * k, k);
    }
    for (int k = 0; k < ns; k++) {
        if (fuse)
            sb_printf(b, "            out[%s + %d] = %s_silu(s%d + %s[%s + %d]);\n", jb, W * nv + k,
                      n, k, fuse, jb, W * nv + k);
        else
            sb_printf(b, "            out[%s + %d] = s%d;\n", jb, W * nv + k, k);
    }
}

/* The blocks of one version: full blocks (a loop when more than one), then
 * what remains, each in its own braces (a block's sums are its locals). */
static void emit_blocks(gen *g, const char *w, int ni, int no, const char *src, const char *init,
                        int norm, int simd, const char *fuse)
{
    sbuf *b = g->b;
    const int W = g->vw;
    int per = simd ? FPO_EXPORT_VBLOCK : FPO_EXPORT_BLOCK;
    int full = no / per, rest = no % per;
    int fv = simd ? FPO_EXPORT_VBLOCK / W : 0, fs = simd ? 0 : FPO_EXPORT_BLOCK;
    sb_printf(b, "    {\n        int i%s;\n", full > 1 ? ", jb" : "");
    if (full > 1) {
        sb_printf(b, "        for (jb = 0; jb < %d; jb += %d) {\n", full * per, per);
        emit_block_body(g, w, ni, no, fv, fs, "jb", src, init, norm, fuse);
        sb_printf(b, "        }\n");
    } else if (full == 1) {
        sb_printf(b, "        {\n");
        emit_block_body(g, w, ni, no, fv, fs, "0", src, init, norm, fuse);
        sb_printf(b, "        }\n");
    }
    if (rest) {
        char jb[16];
        snprintf(jb, sizeof jb, "%d", full * per);
        sb_printf(b, "        {\n");
        emit_block_body(g, w, ni, no, simd ? rest / W : 0, simd ? rest % W : rest, jb, src, init,
                        norm, fuse);
        sb_printf(b, "        }\n");
    }
    sb_printf(b, "    }\n");
}

/* The choice between the two versions of the matrix products, and the
 * run-time choice of instruction set on x86-64. */
static void emit_simd_prelude(gen *g)
{
    const char *U = g->U, *n = g->n;
    sb_printf(g->b,
"/* The matrix products and SiLU use vectors of 4 floats (GCC and clang vector\n"
" * extensions) on x86 with SSE2 (every x86-64) and ARM with NEON; elsewhere\n"
" * (Cortex-M, other compilers), or when %s_NO_SIMD is defined, portable C.\n"
" * Both versions do the same float operations in the same order. */\n"
"#if defined(__GNUC__) && (defined(__SSE2__) || defined(__ARM_NEON)) && !defined(%s_NO_SIMD)\n"
"#define %s_SIMD 1\n"
"typedef float %s_v4 __attribute__((vector_size(16), aligned(4), may_alias));\n"
"#else\n"
"#define %s_SIMD 0\n"
"#endif\n"
"#define %s_INLINE inline\n\n",
              U, U, U, n, U, U);
    sb_printf(g->b,
"/* On x86-64 the file also has an AVX2 copy of the act, with vectors of 8\n"
" * floats (the same float operations, no FMA), used when the CPU has AVX2:\n"
" * checked on each call unless the compiler targets AVX2 anyway (as libfpo\n"
" * picks its AVX2 kernels at run time). %s_NO_DISPATCH leaves it out. */\n"
"#if %s_SIMD && defined(__x86_64__) && !defined(%s_NO_DISPATCH) && \\\n"
"    (defined(__clang__) || __GNUC__ >= 5)\n"
"#define %s_AVX2 1\n"
"#define %s_AVX2_FN inline __attribute__((target(\"avx2\")))\n"
"typedef float %s_v8 __attribute__((vector_size(32), aligned(4), may_alias));\n"
"#else\n"
"#define %s_AVX2 0\n"
"#endif\n\n",
              U, U, U, U, U, n, U);
}

/* The end of a layer l with no outputs, in place on out (the sums): hidden
 * (act(sum + bias)) or output (scale * sum + scale * b, libfpo's order).
 * bias names the bias array. */
static void emit_epilogue(gen *g, int l, int no, const char *bias)
{
    if (l + 1 < g->L) {
        sb_printf(g->b, "    {\n        int j;\n        for (j = 0; j < %d; j++) {\n"
                        "            const float s = out[j] + %s[j];\n            out[j] = ",
                  no, bias);
        emit_act_expr(g, "s");
        sb_printf(g->b, ";\n        }\n    }\n");
    } else if (l == 0 && g->flow) { /* layer 0 is the output: the time constant c, then b0 */
        sb_printf(g->b, "    {\n        int j;\n        for (j = 0; j < %d; j++)\n"
                        "            out[j] = %s_OUT_SCALE * (out[j] + %s[j]) + %s_b0[j];\n    }\n",
                  no, g->U, bias, g->n);
    } else {
        sb_printf(g->b, "    {\n        int j;\n        for (j = 0; j < %d; j++)\n"
                        "            out[j] = %s_OUT_SCALE * out[j] + %s[j];\n    }\n",
                  no, g->U, bias);
    }
}

/* The product, then the layer's end (emit_epilogue) when l >= 0 (bias: the
 * bias array). A SiLU layer's end is fused into the SIMD version: the sums
 * are still in registers, eight independent vectors for the exp. */
static void emit_layer_body(gen *g, int l, const char *w, int ni, int no, const char *src,
                            const char *init, int norm, const char *bias)
{
    int fuse = l >= 0 && l + 1 < g->L && g->a->act == FPO_ACT_SILU;
    if (g->vw == 8) { /* the AVX2 copy: vectors only */
        emit_blocks(g, w, ni, no, src, init, norm, 1, fuse ? bias : NULL);
    } else {
        sb_printf(g->b, "#if %s_SIMD\n", g->U);
        emit_blocks(g, w, ni, no, src, init, norm, 1, fuse ? bias : NULL);
        sb_printf(g->b, "#else\n");
        emit_blocks(g, w, ni, no, src, init, norm, 0, NULL);
        if (fuse)
            emit_epilogue(g, l, no, bias);
        sb_printf(g->b, "#endif\n");
    }
    if (l >= 0 && !fuse)
        emit_epilogue(g, l, no, bias);
}

static int emit_weights(gen *g, float *tmp)
{
    const fpo_policy *p = g->p;
    const fpo_mlp *a = g->a;
    const float *P = p->params;
    sbuf *b = g->b;
    char nm[FPO_EXPORT_NAME_MAX + 32];
    if (p->cfg.normalize_obs) {
        sb_array(b, g->n, "_obs_mean", p->obs.norm_mean, (size_t)g->od,
                 "observation normalization: clip((obs - mean) * inv_std, +-OBS_CLIP)");
        sb_array(b, g->n, "_obs_inv_std", p->obs.norm_inv_std, (size_t)g->od, NULL);
    }
    for (int l = 0; l < g->L; l++) {
        int ni = a->dims[l], no = a->dims[l + 1];
        const float *W = P + a->w_off[l], *B = P + a->b_off[l];
        int last = l + 1 == g->L;
        if (l == 0 && g->flow) {
            snprintf(nm, sizeof nm, "layer 0: %d x %d, input-major (w[i * %d + j]), "
                     "the observation rows", ni, no, no);
            sb_array(b, g->n, "_w0_obs", W, (size_t)g->od * (size_t)no, nm);
            sb_array(b, g->n, "_w0_x", W + (size_t)g->od * (size_t)no,
                     (size_t)g->ad * (size_t)no, "layer 0, the rows of x_t");
            /* Per velocity evaluation: sum over the time rows of emb(t_e) W
             * (from 0, in row order) plus the bias (the scaled bias when
             * layer 0 is the output layer: see emit_epilogue). */
            float dt = -1.0f / (float)g->K;
            float emb[FPO_TIME_EMB_SIN];
            const float *We = W + (size_t)(g->od + g->ad) * (size_t)no;
            for (int e = 0; e < g->evals; e++) {
                int k = g->integ == FPO_INTEGRATOR_EULER ? e : e / 2;
                float t = 1.0f - (float)k / (float)g->K;
                if (g->integ == FPO_INTEGRATOR_HEUN && e % 2)
                    t = t + dt;
                else if (g->integ == FPO_INTEGRATOR_MIDPOINT && e % 2)
                    t = t + 0.5f * dt;
                fpo_time_embed(p, t, emb);
                float *c = tmp + (size_t)e * (size_t)no;
                for (int j = 0; j < no; j++) {
                    float s = 0.0f;
                    for (int q = 0; q < g->emb; q++)
                        s += emb[q] * We[(size_t)q * (size_t)no + (size_t)j];
                    c[j] = last ? s : s + B[j];
                }
            }
            snprintf(nm, sizeof nm, "layer 0: per velocity evaluation, emb(t) W_time%s",
                     last ? "" : " + bias");
            sb_array(b, g->n, "_c0", tmp, (size_t)g->evals * (size_t)no, nm);
            if (last) {
                for (int j = 0; j < no; j++)
                    tmp[j] = a->out_scale * B[j];
                sb_array(b, g->n, "_b0", tmp, (size_t)no, "output scale x bias");
            }
            continue;
        }
        snprintf(nm, sizeof nm, "_w%d", l);
        char cm[96];
        snprintf(cm, sizeof cm, "layer %d: %d x %d, input-major (w[i * %d + j])", l, ni, no, no);
        sb_array(b, g->n, nm, W, (size_t)ni * (size_t)no, cm);
        snprintf(nm, sizeof nm, "_b%d", l);
        if (last) {
            for (int j = 0; j < no; j++)
                tmp[j] = a->out_scale * B[j];
            sb_array(b, g->n, nm, tmp, (size_t)no, "output scale x bias");
        } else {
            sb_array(b, g->n, nm, B, (size_t)no, NULL);
        }
    }
    /* Gaussian std, state-independent: softplus(s) + min_std, as the
     * sampler computes it. */
    if (!g->flow && p->cfg.std_mode == FPO_STD_STATE_INDEPENDENT && !g->det) {
        for (int i = 0; i < g->ad; i++)
            tmp[i] = fpo_softplus(P[p->std_off + (size_t)i]) + p->cfg.min_std;
        sb_array(b, g->n, "_std", tmp, (size_t)g->ad, "standard deviation");
    }
    /* Bounds per float of the action vector: a chunk repeats the env's. */
    int ead = p->cfg.act_dim;
    for (int i = 0; i < g->ad; i++)
        tmp[i] = p->act_low[i % ead];
    sb_array(b, g->n, "_act_low", tmp, (size_t)g->ad, "action bounds");
    for (int i = 0; i < g->ad; i++)
        tmp[i] = p->act_high[i % ead] - p->act_low[i % ead];
    sb_array(b, g->n, "_act_range", tmp, (size_t)g->ad, NULL);
    return b->oom ? FPO_ENOMEM : FPO_OK;
}

/* name_silu on vectors of w floats (4: the SIMD version, 8: the AVX2 copy),
 * in place: the same operations, lane by lane. The vector is passed by
 * pointer: a 32-byte vector argument changes the ABI between SSE and AVX
 * code, and GCC warns of it. */
static void emit_silu_vec(gen *g, int w)
{
    sbuf *b = g->b;
    char T[FPO_EXPORT_NAME_MAX + 16], TU[FPO_EXPORT_NAME_MAX + 24], TI[FPO_EXPORT_NAME_MAX + 24];
    snprintf(T, sizeof T, "%s_v%d", g->n, w);
    snprintf(TU, sizeof TU, "%su", T);
    snprintf(TI, sizeof TI, "%si", T);
    sb_printf(b, "#if %s_%s\n", g->U, w == 4 ? "SIMD" : "AVX2");
    sb_printf(b, "typedef uint32_t %s __attribute__((vector_size(%d)));\n", TU, 4 * w);
    sb_printf(b, "typedef int32_t %s __attribute__((vector_size(%d)));\n\n", TI, 4 * w);
    sb_printf(b, "/* %s_silu on %d floats, in place. */\n", g->n, w);
    sb_printf(b, "static %s_%s void %s_silu%d(%s *v)\n{\n", g->U, w == 4 ? "INLINE" : "AVX2_FN",
              g->n, w, T);
    sb_printf(b, "    const %s x = *v;\n    %s b = (%s)-x, m;\n", T, TU, TU);
    sb_printf(b, "    %s y, t, n, r, r2, r4, pa, pb, pc, p;\n", T);
    sb_printf(b,
"    /* The clamps' tests without vector compares (GCC splits those into\n"
"     * scalars on vectors wider than the target's): b > K (sign clear) and\n"
"     * b > K' (sign set) are the sign bits of (K - b) & ~b and (K' - b) & b. */\n");
    sb_printf(b, "    m = (%s)((%s)((0x42B00000u - b) & ~b) >> 31);\n", TU, TI);
    sb_printf(b, "    b = (b & ~m) | (0x42B00000u & m);\n");
    sb_printf(b, "    m = (%s)((%s)((0xC2AE0000u - b) & b) >> 31);\n", TU, TI);
    sb_printf(b, "    b = (b & ~m) | (0xC2AE0000u & m);\n");
    sb_printf(b, "    y = (%s)b;\n", T);
    sb_printf(b,
"    t = y * 1.44269504088896341f + 12582912.0f;\n"
"    n = t - 12582912.0f;\n"
"    r = n * -0.693359375f + y;\n"
"    r = n * 2.12194440e-4f + r;\n"
"    r2 = r * r;\n"
"    r4 = r2 * r2;\n"
"    pa = 1.6666665459e-1f * r + 5.0000001201e-1f;\n"
"    pb = 8.3334519073e-3f * r + 4.1665795894e-2f;\n"
"    pc = 1.9875691500e-4f * r + 1.3981999507e-3f;\n"
"    p = pc * r4 + (pb * r2 + pa);\n"
"    p = (p * r2 + r) + 1.0f;\n");
    sb_printf(b, "    b = ((%s)t - (0x4B400000u - 127u)) << 23;\n", TU);
    sb_printf(b, "    *v = x / (1.0f + p * (%s)b);\n}\n#endif\n\n", T);
}

static void emit_helpers(gen *g)
{
    sbuf *b = g->b;
    const char *n = g->n;
    if (g->a->act != FPO_ACT_SILU || g->L < 2) /* no hidden layer, no activation */
        return;
    /* Which versions use which helper (clang warns of an unused static
     * inline function): the scalar one is used by portable C, and by a
     * vector version for the outputs past the last whole vector. */
    int tail4 = 0, tail8 = 0, wide4 = 0, wide8 = 0;
    for (int l = 1; l < g->L; l++) {
        int w = g->a->dims[l];
        tail4 |= w % 4 != 0;
        tail8 |= w % 8 != 0;
        wide4 |= w >= 4;
        wide8 |= w >= 8;
    }
    if (tail4)
        sb_printf(b, "#if 1 /* used by every version */\n");
    else if (tail8)
        sb_printf(b, "#if !%s_SIMD || %s_AVX2\n", g->U, g->U);
    else
        sb_printf(b, "#if !%s_SIMD\n", g->U);
    sb_printf(b,
"/* SiLU, x / (1 + exp(-x)), with libfpo's exp: Cody-Waite reduction and a\n"
" * degree-5 polynomial (relative error below 1e-7), its argument clamped to\n"
" * [-87, 88] so 2^n stays normal. The clamps are integer selects on the\n"
" * float's bits (a float above 88 has a larger signed pattern, one below\n"
" * -87 a larger unsigned one), done with masks: branch-free, so compilers\n"
" * vectorize the loops over a layer's outputs without -ffast-math (a float\n"
" * compare or select is not if-converted under the default trapping math). */\n"
"static %s_INLINE float %s_silu(float x)\n"
"{\n"
"    union { float f; uint32_t u; int32_t i; } b;\n"
"    uint32_t m;\n"
"    float y, t, n, r, r2, r4, pa, pb, pc, p;\n"
"    b.f = -x;\n"
"    m = 0u - (uint32_t)(b.i > 0x42B00000); /* above 88.0f */\n"
"    b.u = (b.u & ~m) | (0x42B00000u & m);\n"
"    m = 0u - (uint32_t)(b.u > 0xC2AE0000u); /* below -87.0f */\n"
"    b.u = (b.u & ~m) | (0xC2AE0000u & m);\n"
"    y = b.f;\n"
"    t = y * 1.44269504088896341f + 12582912.0f;\n"
"    n = t - 12582912.0f;\n"
"    r = n * -0.693359375f + y;\n"
"    r = n * 2.12194440e-4f + r;\n"
"    r2 = r * r;\n"
"    r4 = r2 * r2;\n"
"    pa = 1.6666665459e-1f * r + 5.0000001201e-1f;\n"
"    pb = 8.3334519073e-3f * r + 4.1665795894e-2f;\n"
"    pc = 1.9875691500e-4f * r + 1.3981999507e-3f;\n"
"    p = pc * r4 + (pb * r2 + pa);\n"
"    p = (p * r2 + r) + 1.0f;\n"
"    b.f = t;\n"
"    b.u = (b.u - (0x4B400000u - 127u)) << 23;\n"
"    return x / (1.0f + p * b.f);\n"
"}\n#endif\n\n", g->U, n);
    if (wide4)
        emit_silu_vec(g, 4);
    if (wide8)
        emit_silu_vec(g, 8);
}

static void emit_layers(gen *g)
{
    sbuf *b = g->b;
    const char *n = g->n, *sf = g->sfx, *q = g->q;
    const fpo_mlp *a = g->a;
    char w[FPO_EXPORT_NAME_MAX + 16], bias[FPO_EXPORT_NAME_MAX + 16];
    for (int l = 0; l < g->L; l++) {
        int ni = a->dims[l], no = a->dims[l + 1];
        if (l == 0 && g->flow) {
            /* Once per act: the observation rows. */
            sb_printf(b, "/* Layer 0, the observation rows (once per act). */\n"
                         "%s void %s_obs_rows%s(const float *obs, float *out)\n{\n", q, n, sf);
            snprintf(w, sizeof w, "%s_w0_obs", n);
            emit_layer_body(g, -1, w, g->od, no, "obs", NULL, g->p->cfg.normalize_obs, NULL);
            sb_printf(b, "}\n\n");
            /* Per evaluation: the x rows, then the time rows and bias
             * (c: the constant of this evaluation, emit_weights). */
            sb_printf(b, "/* Layer 0 per velocity evaluation: base + x W_x + c. */\n"
                         "%s void %s_layer0%s(const float *base, const float *x, "
                         "const float *c, float *out)\n{\n", q, n, sf);
            snprintf(w, sizeof w, "%s_w0_x", n);
            emit_layer_body(g, 0, w, g->ad, no, "x", "base", 0, "c");
            sb_printf(b, "}\n\n");
            continue;
        }
        sb_printf(b, "/* Layer %d: %d -> %d%s. */\n"
                     "%s void %s_layer%d%s(const float *in, float *out)\n{\n",
                  l, ni, no, l + 1 < g->L ? "" : ", the output", q, n, l, sf);
        if (l == 0 && g->p->cfg.normalize_obs) /* Gaussian: normalized here */
            sb_printf(b, "    const float *obs = in;\n");
        snprintf(w, sizeof w, "%s_w%d", n, l);
        snprintf(bias, sizeof bias, "%s_b%d", n, l);
        emit_layer_body(g, l, w, ni, no, "in", NULL, l == 0 && g->p->cfg.normalize_obs, bias);
        sb_printf(b, "}\n\n");
    }
    if (!g->flow)
        return;
    /* The velocity: layer 0, the hidden layers, the output layer. */
    sb_printf(b, "/* The velocity v(x, t_e) into v; h1, h2: hidden scratch. */\n"
                 "%s void %s_velocity%s(const float *base, const float *x, "
                 "const float *c, float *h1, float *h2, float *v)\n{\n", q, n, sf);
    if (g->L == 1) {
        sb_printf(b, "    (void)h1;\n    (void)h2;\n    %s_layer0%s(base, x, c, v);\n}\n\n", n, sf);
        return;
    }
    sb_printf(b, "    %s_layer0%s(base, x, c, h1);\n", n, sf);
    for (int l = 1; l < g->L; l++) {
        const char *in = l % 2 ? "h1" : "h2";
        const char *out = l + 1 == g->L ? "v" : (l % 2 ? "h2" : "h1");
        sb_printf(b, "    %s_layer%d%s(%s, %s);\n", n, l, sf, in, out);
    }
    if (g->L == 2)
        sb_printf(b, "    (void)h2;\n");
    sb_printf(b, "}\n\n");
}

static void emit_act(gen *g)
{
    sbuf *b = g->b;
    const char *n = g->n, *U = g->U;
    const fpo_policy *p = g->p;
    int ad = g->ad;
    const char *sf = g->sfx;
    sb_printf(b, "%s int %s_run%s(const float *obs, const float *noise_or_NULL, "
                 "float *action, float *scratch)\n{\n", g->q, n, sf);
    if (g->flow) {
        sb_printf(b, "    float *base = scratch;\n"
                     "    float *h1 = base + %d, *h2 = h1 + %d;\n"
                     "    float *x = h2 + %d, *xe = x + %d, *v1 = xe + %d, *v2 = v1 + %d;\n"
                     "    int i, k;\n",
                  g->h0, g->hmax, g->hmax, ad, ad, ad);
    } else {
        sb_printf(b, "    float *h1 = scratch, *h2 = h1 + %d, *y = h2 + %d;\n"
                     "    int i;\n", g->hmax, g->hmax);
    }
    if (g->det)
        sb_printf(b, "    (void)noise_or_NULL;\n");
    sb_printf(b, "    for (i = 0; i < %s_OBS_DIM; i++)\n"
                 "        if (!isfinite(obs[i]))\n            return -1;\n", U);
    if (g->flow) {
        sb_printf(b, "    %s_obs_rows%s(obs, base);\n", n, sf);
        if (g->det)
            sb_printf(b, "    for (i = 0; i < %d; i++)\n        x[i] = 0.0f;\n", ad);
        else
            sb_printf(b, "    for (i = 0; i < %d; i++)\n"
                         "        x[i] = noise_or_NULL ? noise_or_NULL[i] : 0.0f;\n", ad);
        sb_printf(b, "    for (k = 0; k < %d; k++) {\n", g->K);
        char DT[FPO_EXPORT_NAME_MAX + 8];
        snprintf(DT, sizeof DT, "%s_dt", n);
        switch (g->integ) {
        case FPO_INTEGRATOR_EULER:
            sb_printf(b, "        %s_velocity%s(base, x, %s_c0 + k * %d, h1, h2, v1);\n"
                         "        for (i = 0; i < %d; i++)\n"
                         "            x[i] += %s * v1[i];\n", n, sf, n, g->h0, ad, DT);
            sb_printf(b, "        (void)xe;\n        (void)v2;\n");
            break;
        case FPO_INTEGRATOR_HEUN:
            sb_printf(b, "        %s_velocity%s(base, x, %s_c0 + (2 * k) * %d, h1, h2, v1);\n"
                         "        for (i = 0; i < %d; i++)\n"
                         "            xe[i] = x[i] + %s * v1[i];\n"
                         "        %s_velocity%s(base, xe, %s_c0 + (2 * k + 1) * %d, h1, h2, v2);\n"
                         "        for (i = 0; i < %d; i++)\n"
                         "            x[i] += 0.5f * %s * (v1[i] + v2[i]);\n",
                      n, sf, n, g->h0, ad, DT, n, sf, n, g->h0, ad, DT);
            break;
        default:
            sb_printf(b, "        %s_velocity%s(base, x, %s_c0 + (2 * k) * %d, h1, h2, v1);\n"
                         "        for (i = 0; i < %d; i++)\n"
                         "            xe[i] = x[i] + 0.5f * %s * v1[i];\n"
                         "        %s_velocity%s(base, xe, %s_c0 + (2 * k + 1) * %d, h1, h2, v2);\n"
                         "        for (i = 0; i < %d; i++)\n"
                         "            x[i] += %s * v2[i];\n",
                      n, sf, n, g->h0, ad, DT, n, sf, n, g->h0, ad, DT);
            break;
        }
        sb_printf(b, "    }\n");
    } else {
        /* Gaussian: the mean MLP, then mean + std * noise. */
        sb_printf(b, "    %s_layer0%s(obs, %s);\n", n, sf, g->L == 1 ? "y" : "h1");
        for (int l = 1; l < g->L; l++) {
            const char *in = l % 2 ? "h1" : "h2";
            const char *out = l + 1 == g->L ? "y" : (l % 2 ? "h2" : "h1");
            sb_printf(b, "    %s_layer%d%s(%s, %s);\n", n, l, sf, in, out);
        }
        sb_printf(b, "    (void)h1;\n    (void)h2;\n");
        if (!g->det) {
            sb_printf(b, "    if (noise_or_NULL)\n        for (i = 0; i < %d; i++) {\n", ad);
            if (p->cfg.std_mode == FPO_STD_FIXED) {
                sb_printf(b, "            const float sd = ");
                sb_float(b, p->cfg.init_std);
                sb_printf(b, ";\n");
            } else if (p->cfg.std_mode == FPO_STD_STATE_DEPENDENT) {
                sb_printf(b, "            const float s = y[%d + i];\n"
                             "            const float sd = (s > 20.0f ? s : log1pf(expf(s))) + ",
                          ad);
                sb_float(b, p->cfg.min_std);
                sb_printf(b, ";\n");
            } else {
                sb_printf(b, "            const float sd = %s_std[i];\n", n);
            }
            sb_printf(b, "            y[i] += sd * noise_or_NULL[i];\n        }\n");
        }
    }
    const char *x = g->flow ? "x" : "y";
    sb_printf(b, "    for (i = 0; i < %d; i++)\n        if (!isfinite(%s[i]))\n"
                 "            return -1;\n", ad, x);
    sb_printf(b, "    for (i = 0; i < %d; i++) {\n        float u = %s[i];\n", ad, x);
    if (g->flow && p->cfg.raw_clip > 0.0f)
        sb_printf(b, "        u = u < -%s_RAW_CLIP ? -%s_RAW_CLIP : "
                     "(u > %s_RAW_CLIP ? %s_RAW_CLIP : u);\n", U, U, U, U);
    if (p->cfg.squash == FPO_SQUASH_TANH)
        sb_printf(b, "        u = tanhf(u);\n");
    else
        sb_printf(b, "        u = u < -1.0f ? -1.0f : (u > 1.0f ? 1.0f : u);\n");
    sb_printf(b, "        action[i] = %s_act_low[i] + 0.5f * (u + 1.0f) * %s_act_range[i];\n"
                 "    }\n    return 0;\n}\n", n, n);
}

static void emit_dispatch(gen *g)
{
    const char *n = g->n, *U = g->U;
    sb_printf(g->b,
"int %s_act(const float *obs, const float *noise_or_NULL, float *action, float *scratch)\n"
"{\n"
"#if %s_AVX2\n"
"#ifndef __AVX2__\n"
"    if (__builtin_cpu_supports(\"avx2\"))\n"
"#endif\n"
"        return %s_run_avx2(obs, noise_or_NULL, action, scratch);\n"
"#endif\n"
"    return %s_run(obs, noise_or_NULL, action, scratch);\n"
"}\n", n, U, n, n);
}

static int valid_name(const char *s, size_t len)
{
    if (len == 0 || len > FPO_EXPORT_NAME_MAX)
        return 0;
    if (!((s[0] >= 'a' && s[0] <= 'z') || (s[0] >= 'A' && s[0] <= 'Z')))
        return 0;
    for (size_t i = 1; i < len; i++) {
        char c = s[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '_'))
            return 0;
    }
    return 1;
}

static int check_finite_policy(const fpo_policy *p)
{
    if (!fpo_all_finite(p->params, fpo_policy_actor_params(p)))
        return fpo_fail(NULL, FPO_ENONFINITE, "fpo_policy_export_c: an actor parameter is NaN or Inf");
    if (!fpo_all_finite(p->obs.norm_mean, (size_t)p->cfg.obs_dim) ||
        !fpo_all_finite(p->obs.norm_inv_std, (size_t)p->cfg.obs_dim))
        return fpo_fail(NULL, FPO_ENONFINITE,
                        "fpo_policy_export_c: the observation statistics are not finite");
    return FPO_OK;
}

int fpo_policy_export_c(const fpo_policy *p, const char *path, const fpo_export_config *cfg)
{
    if (!p)
        return FPO_NULL_ARG("p");
    if (!path)
        return FPO_NULL_ARG("path");
    if (!cfg)
        return FPO_NULL_ARG("cfg");
    fpo_export_config c;
    export_defaults(&c);
    int rc = fpo_struct_copy_in(NULL, "fpo_export_config", FPO_EXPORT_CONFIG_FIRST_SIZE, &c,
                                sizeof c, cfg);
    if (rc)
        return rc;
    if (c.integrator < -1 || c.integrator > FPO_INTEGRATOR_MIDPOINT)
        return fpo_fail(NULL, FPO_ERANGE,
                        "fpo_policy_export_c: integrator %d is neither -1 nor an fpo_integrator",
                        c.integrator);
    if (c.steps < 0 || c.steps > 1000)
        return fpo_fail(NULL, FPO_ERANGE,
                        "fpo_policy_export_c: steps must be 0 (the policy's) or in [1, 1000], "
                        "got %d", c.steps);
    if (c.deterministic != 0 && c.deterministic != 1)
        return fpo_fail(NULL, FPO_ERANGE,
                        "fpo_policy_export_c: deterministic must be 0 or 1, got %d",
                        c.deterministic);
    size_t plen = strlen(path);
    const char *base = strrchr(path, '/');
    base = base ? base + 1 : path;
    const char *name = c.name ? c.name : base;
    size_t nlen = strlen(name);
    if (!valid_name(name, nlen))
        return fpo_fail(NULL, FPO_EINVAL,
                        "fpo_policy_export_c: the name \"%.80s\"%s is not a C identifier of at "
                        "most %d characters (a letter, then letters, digits or '_')%s",
                        name, c.name ? "" : " (the last component of the path)",
                        FPO_EXPORT_NAME_MAX, c.name ? "" : "; set fpo_export_config.name");
    if ((rc = check_finite_policy(p)))
        return rc;

    gen g;
    memset(&g, 0, sizeof g);
    g.p = p;
    g.a = &p->actor;
    g.n = name;
    for (size_t i = 0; i < nlen; i++)
        g.U[i] = (char)(name[i] >= 'a' && name[i] <= 'z' ? name[i] - 'a' + 'A' : name[i]);
    g.U[nlen] = '\0';
    g.flow = p->cfg.kind == FPO_POLICY_FLOW;
    g.od = p->cfg.obs_dim;
    g.ad = fpo_policy_chunk_dim(&p->cfg); /* a chunk: its whole vector, as the sampler's */
    int chunk = (int)fpo_policy_chunk_of(&p->cfg);
    g.L = p->actor.n_layers;
    g.emb = p->emb_dim;
    g.outd = p->actor.dims[g.L];
    g.h0 = p->actor.dims[1];
    g.hmax = 0;
    for (int l = 1; l < g.L; l++)
        if (p->actor.dims[l] > g.hmax)
            g.hmax = p->actor.dims[l];
    g.integ = c.integrator >= 0 ? c.integrator : p->ds_integrator;
    g.K = c.steps > 0 ? c.steps : p->ds_steps;
    g.det = c.deterministic;
    g.evals = g.integ == FPO_INTEGRATOR_EULER ? g.K : 2 * g.K;
    size_t scratch_floats = g.flow ? (size_t)g.h0 + 2 * (size_t)g.hmax + 4 * (size_t)g.ad
                                   : 2 * (size_t)g.hmax + (size_t)g.outd;

    fpo_mem mem = p->mem;
    size_t tmpn = (size_t)g.evals * (size_t)g.h0;
    size_t big = (size_t)g.outd > (size_t)g.ad ? (size_t)g.outd : (size_t)g.ad;
    if (tmpn < big)
        tmpn = big;
    if (tmpn < (size_t)g.h0)
        tmpn = (size_t)g.h0;
    float *tmp = fpo_mem_calloc(&mem, tmpn, sizeof(float));
    char *fpath = fpo_mem_calloc(&mem, plen + 3, 1);
    sbuf body = {&mem, NULL, 0, 0, 0}, out = {&mem, NULL, 0, 0, 0};
    if (!tmp || !fpath) {
        rc = fpo_fail(NULL, FPO_ENOMEM, "fpo_policy_export_c: out of memory");
        goto done;
    }

    /* The body (everything the fingerprint covers). */
    g.b = &body;
    emit_simd_prelude(&g);
    sb_printf(&body, "#define %s_OUT_SCALE ", g.U);
    sb_float(&body, p->actor.out_scale);
    sb_printf(&body, "\n");
    if (p->cfg.normalize_obs) {
        sb_printf(&body, "#define %s_OBS_CLIP ", g.U);
        sb_float(&body, p->cfg.obs_clip);
        sb_printf(&body, "\n");
    }
    if (g.flow && p->cfg.raw_clip > 0.0f) {
        sb_printf(&body, "#define %s_RAW_CLIP ", g.U);
        sb_float(&body, p->cfg.raw_clip);
        sb_printf(&body, "\n");
    }
    sb_printf(&body, "\n");
    if ((rc = emit_weights(&g, tmp)))
        goto oom;
    if (g.flow) {
        sb_printf(&body, "static const float %s_dt = ", g.n);
        sb_float(&body, -1.0f / (float)g.K);
        sb_printf(&body, "; /* -1 / steps */\n\n");
    }
    emit_helpers(&g);
    g.vw = 4;
    g.sfx = "";
    snprintf(g.q, sizeof g.q, "static %s_INLINE", g.U);
    emit_layers(&g);
    emit_act(&g);
    sb_printf(&body, "\n#if %s_AVX2\n", g.U);
    g.vw = 8;
    g.sfx = "_avx2";
    snprintf(g.q, sizeof g.q, "static %s_AVX2_FN", g.U);
    emit_layers(&g);
    emit_act(&g);
    sb_printf(&body, "#endif\n\n");
    emit_dispatch(&g);
    if (body.oom)
        goto oom;
    uint32_t fp = crc32_update(0, (const unsigned char *)body.p, body.len);

    /* NAME.c */
    char what[160];
    const char *act_names[] = {"SiLU", "ReLU", "tanh"};
    int hw = g.L > 1 ? p->actor.dims[1] : 0;
    if (g.flow)
        snprintf(what, sizeof what, "flow policy, actor %dx%d %s, %s with %d steps (%d velocity "
                 "evaluations)", g.L - 1, hw, act_names[p->actor.act], integ_names[g.integ],
                 g.K, g.evals);
    else
        snprintf(what, sizeof what, "Gaussian policy, actor %dx%d %s, %s", g.L - 1, hw,
                 act_names[p->actor.act], g.det ? "the mean" : "mean + std * noise");
    g.b = &out;
    sb_printf(&out, "/* %s.c: %s.\n * Generated by libfpo %s (fpo_policy_export_c); "
                    "C99, no libfpo needed. Do not edit. */\n"
                    "#include <math.h>\n#include <stddef.h>\n#include <stdint.h>\n\n"
                    "#include \"%s.h\"\n\n"
                    "#if %s_FINGERPRINT != 0x%08lxul\n"
                    "#error \"%s.h is not from the same export as %s.c\"\n#endif\n\n",
              name, what, fpo_version_string(), name, g.U, (unsigned long)fp, name, name);
    if (sb_reserve(&out, body.len))
        goto oom;
    memcpy(out.p + out.len, body.p, body.len);
    out.len += body.len;
    memcpy(fpath, path, plen);
    memcpy(fpath + plen, ".c", 3);
    if ((rc = fpo_write_file_atomic(fpath, out.p, out.len, &mem, NULL)))
        goto done;

    /* NAME.h */
    out.len = 0;
    sb_printf(&out,
"/* %s.h: %s.\n"
" * Generated by libfpo %s (fpo_policy_export_c); C99, no libfpo needed. */\n"
"#ifndef %s_H\n#define %s_H\n\n"
"#define %s_OBS_DIM %d\n"
"/* Actions per query (the policy's chunk), each of ACT_DIM floats. */\n"
"#define %s_CHUNK %d\n"
"#define %s_ACT_DIM %d\n"
"/* Floats act reads from noise_or_NULL (0: this export ignores it). */\n"
"#define %s_NOISE_FLOATS %d\n"
"/* Floats of the scratch act needs. */\n"
"#define %s_SCRATCH_FLOATS %zu\n"
"#define %s_FINGERPRINT 0x%08lxul\n\n"
"#ifdef __cplusplus\nextern \"C\" {\n#endif\n\n"
"/* action (%s_CHUNK x %s_ACT_DIM floats, the chunk's actions in order) for the\n"
" * raw observation obs (%s_OBS_DIM floats), mapped onto the policy's action\n"
" * bounds. noise_or_NULL: %s.\n"
" * scratch: %s_SCRATCH_FLOATS floats, the caller's (one per thread).\n"
" * Returns 0, or -1 (action untouched) when an observation is NaN or Inf or\n"
" * the network's result is not finite. Allocates nothing, writes no globals. */\n"
"int %s_act(const float *obs, const float *noise_or_NULL, float *action, float *scratch);\n\n"
"#ifdef __cplusplus\n}\n#endif\n\n#endif\n",
              name, what, fpo_version_string(), g.U, g.U, g.U, g.od, g.U, chunk, g.U,
              (int)p->cfg.act_dim, g.U, g.det ? 0 : g.ad, g.U, scratch_floats, g.U,
              (unsigned long)fp, g.U, g.U, g.U,
              g.det ? "ignored (deterministic export)"
                    : (g.flow ? "the initial point x_1 (NOISE_FLOATS standard normals), NULL "
                                "for x_1 = 0"
                              : "NOISE_FLOATS standard normals, NULL for the mean"),
              g.U, name);
    if (out.oom)
        goto oom;
    memcpy(fpath + plen, ".h", 3);
    rc = fpo_write_file_atomic(fpath, out.p, out.len, &mem, NULL);
    goto done;
oom:
    rc = fpo_fail(NULL, FPO_ENOMEM, "fpo_policy_export_c: out of memory");
done:
    sb_free(&body);
    sb_free(&out);
    fpo_mem_free(&mem, tmp);
    fpo_mem_free(&mem, fpath);
    return rc;
}

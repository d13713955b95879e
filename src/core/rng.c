/* SPDX-License-Identifier: MIT
 * The library's own PRNG: xoshiro256** seeded through splitmix64. Integer
 * arithmetic only, so a seed gives the same stream on every machine; the
 * conversions to double are exact, and Box-Muller uses libm's log/cos/sin. */
#include "tape.h"

#include "last_error.h"

#include <math.h>

static uint64_t splitmix64(uint64_t *x)
{
    uint64_t z = (*x += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

/* A NULL generator: nothing to draw from; the caller learns why. */
static bool rng_given(const ad_rng *r, const char *fn)
{
    if (!r) ad_no_tape("%s: the generator is NULL", fn);
    return r != NULL;
}

void ad_rng_seed(ad_rng *r, uint64_t seed)
{
    if (!rng_given(r, __func__)) return;
    for (int i = 0; i < 4; i++)
        r->s[i] = splitmix64(&seed);
}

static uint64_t rotl(uint64_t x, int k)
{
    return (x << k) | (x >> (64 - k));
}

uint64_t ad_rng_next(ad_rng *r)
{
    if (!rng_given(r, __func__)) return 0;
    uint64_t *s = r->s;
    uint64_t out = rotl(s[1] * 5, 7) * 9;
    uint64_t t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 45);
    return out;
}

double ad_rng_uniform(ad_rng *r)
{
    if (!rng_given(r, __func__)) return (double)NAN;
    return (double)(ad_rng_next(r) >> 11) * 0x1.0p-53;
}

double ad_rng_normal(ad_rng *r)
{
    if (!rng_given(r, __func__)) return (double)NAN;
    /* 1 - u lies in (0, 1], so the log is finite */
    double u1 = 1.0 - ad_rng_uniform(r);
    double u2 = ad_rng_uniform(r);
    return sqrt(-2.0 * log(u1)) * cos(6.283185307179586 * u2);
}

/* Rejection below 2^64 mod n keeps every residue equally likely. */
uint64_t ad_rng_below(ad_rng *r, uint64_t n)
{
    if (!rng_given(r, __func__)) return 0;
    if (n == 0) return 0;
    uint64_t threshold = (0 - n) % n;
    for (;;) {
        uint64_t x = ad_rng_next(r);
        if (x >= threshold) return x % n;
    }
}

void ad_fill_uniform(void *buf, ad_dtype dt, size_t n, double lo, double hi, uint64_t seed)
{
    ad_rng r;
    ad_rng_seed(&r, seed);
    for (size_t i = 0; i < n; i++) {
        double v = lo + (hi - lo) * ad_rng_uniform(&r);
        if (dt == AD_F32)
            ((float *)buf)[i] = (float)v;
        else
            ((double *)buf)[i] = v;
    }
}

void ad_fill_normal(void *buf, ad_dtype dt, size_t n, double mean, double std, uint64_t seed)
{
    ad_rng r;
    ad_rng_seed(&r, seed);
    for (size_t i = 0; i < n; i++) {
        double v = mean + std * ad_rng_normal(&r);
        if (dt == AD_F32)
            ((float *)buf)[i] = (float)v;
        else
            ((double *)buf)[i] = v;
    }
}

/* SPDX-License-Identifier: MIT
 * Model files: the model's parameters and the optimizer's state through the
 * engine's parameter-file API, with a description of the architecture as the
 * file's meta block. Loading goes through scratch parameters, so a file that
 * fails any check leaves the live model untouched. */
#include "adtape/nn.h"
#include "nn_util.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define META_MAGIC "adtape-nn/1 "

/* A message from the parameter-file layer ("ad_params_load: <path>: ...")
 * restated under the public function the user called ("ad_nn_load: ..."). */
static void rename_err(const char *inner_fn, const char *fn)
{
    const char *err = ad_last_error();
    size_t k = strlen(inner_fn);
    const char *rest =
        strncmp(err, inner_fn, k) == 0 && strncmp(err + k, ": ", 2) == 0 ? err + k + 2 : err;
    ad_nn_errf("%s: %s", fn, rest); /* formats into its own buffer, then copies */
}

/* snprintf that keeps a running length and never writes past len */
static size_t put(char *buf, size_t len, size_t at, const char *fmt, ...) AD_NN_PRINTF(4, 5);
static size_t put(char *buf, size_t len, size_t at, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int k = vsnprintf(at < len ? buf + at : NULL, at < len ? len - at : 0, fmt, ap);
    va_end(ap);
    return at + (k > 0 ? (size_t)k : 0);
}

size_t ad_nn_describe(const ad_nn *m, char *buf, size_t len)
{
    if (!buf) len = 0; /* only measure */
    if (len) buf[0] = '\0';
    if (!m) return 0;
    const ad_nn_spec *s = ad_nn_get_spec(m);
    size_t at = put(buf, len, 0, "%zu", s->inputs);
    for (size_t i = 0; i < s->n_hidden; i++) {
        const ad_nn_layer_spec *l = &s->hidden[i];
        at = put(buf, len, at, "-%zu %s", l->width, ad_nn_act_name(l->act));
        if (l->act == AD_ACT_LEAKY_RELU) at = put(buf, len, at, "(%g)", s->leaky_slope);
        if (l->layer_norm) at = put(buf, len, at, " ln");
        if (l->skip) at = put(buf, len, at, " +%zu%s", l->skip, l->project ? "P" : "");
    }
    static const char *const losses[] = {"", "mse", "half_sse", "bce", "ce"};
    at = put(buf, len, at, "-%zu %s/%s %s", s->outputs, ad_nn_head_name(s->head), losses[s->loss],
             s->dtype == AD_F32 ? "f32" : "f64");
    return at;
}

static size_t meta_of(const ad_nn *m, const ad_opt *o, char *buf, size_t len)
{
    static const char *const kinds[] = {"sgd", "momentum", "nesterov", "adam", "adamw"};
    size_t at = put(buf, len, 0, META_MAGIC);
    at += ad_nn_describe(m, at < len ? buf + at : NULL, at < len ? len - at : 0);
    return put(buf, len, at, " opt=%s", o ? kinds[ad_opt_get_config(o)->kind] : "none");
}

/* The model's params followed by the optimizer's state, in a new array. */
static ad_param **collect(const ad_nn *m, const ad_opt *o, size_t *n)
{
    size_t nm, no = 0;
    *n = 0; /* also when the list cannot be made: callers size buffers by it */
    ad_param *const *pm = ad_nn_params(m, &nm);
    ad_param *const *po = o ? ad_opt_state(o, &no) : NULL;
    ad_param **all = ad_alloc((nm + no) * sizeof *all);
    if (!all) return NULL;
    memcpy(all, pm, nm * sizeof *all);
    if (no) memcpy(all + nm, po, no * sizeof *all);
    *n = nm + no;
    return all;
}

/* The meta block for m and o in a new string, its length in *len. */
static char *new_meta(const ad_nn *m, const ad_opt *o, size_t *len)
{
    *len = meta_of(m, o, NULL, 0);
    char *meta = ad_alloc(*len + 1);
    if (meta) meta_of(m, o, meta, *len + 1);
    return meta;
}

ad_status ad_nn_save(const char *path, const ad_nn *m, const ad_opt *o)
{
    ad_set_last_error(NULL);
    if (!path || !m) return ad_nn_errf("ad_nn_save: path or model is NULL"), AD_ERR_INVALID;
    size_t ml, n;
    char *meta = new_meta(m, o, &ml);
    ad_param **all = collect(m, o, &n);
    ad_status st = AD_ERR_NOMEM;
    if (!meta || !all) {
        ad_nn_errf("ad_nn_save: out of memory");
    } else {
        st = ad_params_save(path, all, n, meta, ml);
        if (st != AD_OK) rename_err("ad_params_save", "ad_nn_save");
    }
    ad_free(meta);
    ad_free(all);
    return st;
}

/* The file's meta block against the one m and o would write: read first,
 * so a file of another architecture or optimizer is named as such rather
 * than by the first parameter that does not fit. */
static ad_status check_meta(const char *path, const char *want, size_t wl)
{
    size_t cap = wl + 256; /* room to show a longer description whole */
    char *got = ad_alloc(cap);
    if (!got) return ad_nn_errf("ad_nn_load: out of memory"), AD_ERR_NOMEM;
    size_t gl = 0;
    ad_status st = ad_params_info(path, NULL, got, cap, &gl);
    size_t magic = sizeof META_MAGIC - 1;
    if (st != AD_OK) {
        rename_err("ad_params_info", "ad_nn_load");
    } else if (gl < magic || memcmp(got, META_MAGIC, magic) != 0) {
        st = AD_ERR_FORMAT;
        ad_nn_errf("ad_nn_load: %s is not an adtape-nn model file", path);
    } else if (gl != wl || memcmp(got, want, wl) != 0) {
        st = AD_ERR_FORMAT;
        size_t shown = gl < cap ? gl : cap;
        ad_nn_errf("ad_nn_load: %s holds \"%.*s%s\", the model is \"%s\"", path,
                   (int)(shown - magic), got + magic, gl > cap ? "..." : "", want + magic);
    }
    ad_free(got);
    return st;
}

ad_status ad_nn_load(const char *path, ad_nn *m, ad_opt *o)
{
    ad_set_last_error(NULL);
    if (!path || !m) return ad_nn_errf("ad_nn_load: path or model is NULL"), AD_ERR_INVALID;
    size_t wl, n;
    char *want = new_meta(m, o, &wl);
    ad_param **live = collect(m, o, &n);
    ad_param **scratch = ad_nn_calloc(n ? n : 1, sizeof *scratch);
    ad_status st = AD_ERR_NOMEM;
    if (!want || !live || !scratch) {
        ad_nn_errf("ad_nn_load: out of memory");
        goto done;
    }
    if ((st = check_meta(path, want, wl)) != AD_OK) goto done;
    for (size_t i = 0; i < n; i++) {
        size_t dims[AD_MAX_DIMS];
        size_t nd = ad_param_shape(live[i], dims);
        if (!(scratch[i] = ad_param_new(ad_param_dtype(live[i]), nd, dims))) {
            st = AD_ERR_NOMEM;
            ad_nn_errf("ad_nn_load: out of memory");
            goto done;
        }
    }
    /* the meta was checked above; the file may have changed since, so it is
     * read again and compared */
    char *got = ad_alloc(wl + 1);
    size_t gl = 0;
    st = got ? ad_params_load(path, scratch, n, got, wl, &gl) : AD_ERR_NOMEM;
    if (st == AD_OK && (gl != wl || memcmp(got, want, wl) != 0)) {
        st = AD_ERR_IO;
        ad_nn_errf("ad_nn_load: %s changed while being read", path);
    } else if (st == AD_ERR_NOMEM && !got) {
        ad_nn_errf("ad_nn_load: out of memory");
    } else if (st != AD_OK) {
        rename_err("ad_params_load", "ad_nn_load");
    }
    ad_free(got);
    if (st != AD_OK) goto done;
    for (size_t i = 0; i < n; i++)
        memcpy(ad_param_value(live[i]), ad_param_value(scratch[i]),
               ad_param_numel(live[i]) * (ad_param_dtype(live[i]) == AD_F32 ? 4 : 8));
done:
    for (size_t i = 0; scratch && i < n; i++)
        ad_param_free(scratch[i]);
    ad_free(scratch);
    ad_free(live);
    ad_free(want);
    return st;
}

/* SPDX-License-Identifier: MIT
 * Parameter files: save parameters and an opaque meta blob atomically
 * (temporary file, fsync, rename, fsync of the directory) and load them back.
 * A file on disk is untrusted: a load validates all of it before writing
 * anything into the parameters. The format is described in paramfile.h. */
#include "paramfile.h"

#include "core/alloc.h"
#include "core/last_error.h"
#include "core/tape.h"
#include "crc32.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

enum {
    HEADER = 8 + 4 + 8,        /* magic, version, count */
    MIN_FILE = HEADER + 8 + 4, /* plus meta_len and the CRC */
    WBUF = 1 << 16,            /* the writer's buffer */
    SHAPE_U64 = 4 * 21 + 3 + 3 /* "[a,b,c,d]" with 20-digit dims */
};
/* A load refuses files larger than the params and meta_cap can explain, plus
 * this slack, so a file that differs a little (an extra parameter) still gets
 * a precise message while a huge one is never read into memory. */
#define LOAD_SLACK ((size_t)1 << 16)

static ad_status fail(ad_status code, const char *fn, const char *path, const char *fmt, ...)
    AD_PRINTF(4, 5);

/* "fn: path: problem" (or "fn: problem" without a path) into ad_last_error; returns code. */
static ad_status fail(ad_status code, const char *fn, const char *path, const char *fmt, ...)
{
    char msg[AD_LAST_ERROR_LEN];
    int k = path && *path ? snprintf(msg, sizeof msg, "%s: %s: ", fn, path)
                          : snprintf(msg, sizeof msg, "%s: ", fn);
    size_t off = k < 0 ? 0 : (size_t)k;
    if (off < sizeof msg) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(msg + off, sizeof msg - off, fmt, ap);
        va_end(ap);
    }
    ad_last_error_set("%s", msg);
    return code;
}

/* strerror is not thread-safe; this is the XSI strerror_r (returns int). */
static const char *errstr(int e, char *buf, size_t len)
{
    if (strerror_r(e, buf, len) != 0) snprintf(buf, len, "error %d", e);
    return buf;
}

static size_t add_size(size_t a, size_t b)
{
    return a > SIZE_MAX - b ? SIZE_MAX : a + b;
}

/* Explicit little-endian encoding, whatever the host's byte order. */
static void put_u32(uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

static void put_u64(uint8_t *p, uint64_t v)
{
    for (int i = 0; i < 8; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

static uint32_t get_u32(const uint8_t *p)
{
    uint32_t v = 0;
    for (int i = 3; i >= 0; i--)
        v = (v << 8) | p[i];
    return v;
}

static uint64_t get_u64(const uint8_t *p)
{
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--)
        v = (v << 8) | p[i];
    return v;
}

static ad_status check_args(const char *fn, const char *path, ad_param *const *params, size_t n)
{
    if (!path) return fail(AD_ERR_INVALID, fn, path, "path is NULL");
    if (!*path) return fail(AD_ERR_INVALID, fn, path, "path is empty");
    if (n > 0 && !params) return fail(AD_ERR_INVALID, fn, path, "params is NULL but n is %zu", n);
    for (size_t i = 0; i < n; i++)
        if (!params[i]) return fail(AD_ERR_INVALID, fn, path, "parameter %zu is NULL", i);
    return AD_OK;
}

/* ------------------------------------------------------------------ save */

/* Buffered writes that keep a running CRC of everything passed through. */
typedef struct writer {
    FILE *f;
    uint8_t *buf; /* WBUF bytes */
    size_t len;
    uint32_t crc;
    int err; /* errno of the first failure; 0 while healthy */
} writer;

static void w_flush(writer *w)
{
    if (w->len && !w->err) {
        w->crc = ad_crc32(w->crc, w->buf, w->len);
        errno = 0;
        if (fwrite(w->buf, 1, w->len, w->f) != w->len) w->err = errno ? errno : EIO;
    }
    w->len = 0;
}

/* Room for k <= 8 bytes at the end of the buffer. */
static uint8_t *w_room(writer *w, size_t k)
{
    if (w->len + k > WBUF) w_flush(w);
    uint8_t *p = w->buf + w->len;
    w->len += k;
    return p;
}

static void w_bytes(writer *w, const void *src, size_t n)
{
    const uint8_t *s = src;
    while (n) {
        if (w->len == WBUF) w_flush(w);
        size_t k = WBUF - w->len < n ? WBUF - w->len : n;
        memcpy(w->buf + w->len, s, k);
        w->len += k;
        s += k;
        n -= k;
    }
}

static void w_param(writer *w, ad_param *p)
{
    size_t dims[AD_MAX_DIMS];
    size_t nd = ad_param_shape(p, dims), n = ad_param_numel(p);
    ad_dtype dt = ad_param_dtype(p);
    put_u32(w_room(w, 4), (uint32_t)dt);
    put_u32(w_room(w, 4), (uint32_t)nd);
    for (size_t k = 0; k < nd; k++)
        put_u64(w_room(w, 8), (uint64_t)dims[k]);
    if (dt == AD_F32) {
        const float *x = ad_param_value(p);
        for (size_t i = 0; i < n; i++) {
            uint32_t b;
            memcpy(&b, &x[i], sizeof b); /* the IEEE bits, so NaN payloads survive */
            put_u32(w_room(w, 4), b);
        }
    } else {
        const double *x = ad_param_value(p);
        for (size_t i = 0; i < n; i++) {
            uint64_t b;
            memcpy(&b, &x[i], sizeof b);
            put_u64(w_room(w, 8), b);
        }
    }
}

/* The whole file through w, CRC last; returns 0 or the errno of the failure. */
static int write_file(writer *w, ad_param *const *params, size_t n, const void *meta,
                      size_t meta_len)
{
    w_bytes(w, AD_PARAMFILE_MAGIC, 8);
    put_u32(w_room(w, 4), AD_PARAMFILE_VERSION);
    put_u64(w_room(w, 8), (uint64_t)n);
    for (size_t i = 0; i < n; i++)
        w_param(w, params[i]);
    put_u64(w_room(w, 8), (uint64_t)meta_len);
    if (meta_len) w_bytes(w, meta, meta_len);
    w_flush(w);
    uint8_t crc[4];
    put_u32(crc, w->crc);
    errno = 0;
    if (!w->err && fwrite(crc, 1, 4, w->f) != 4) w->err = errno ? errno : EIO;
    if (!w->err && fflush(w->f) != 0) w->err = errno;
    if (!w->err && fsync(fileno(w->f)) != 0) w->err = errno;
    return w->err;
}

/* The directory part of path ("." when it has none) into dir. */
static void dir_of(const char *path, char *dir)
{
    const char *slash = strrchr(path, '/');
    if (!slash) {
        strcpy(dir, ".");
    } else if (slash == path) {
        strcpy(dir, "/");
    } else {
        memcpy(dir, path, (size_t)(slash - path));
        dir[slash - path] = '\0';
    }
}

/* fsync of the directory makes the rename itself durable. Some file systems
 * cannot sync a directory (EINVAL); there is nothing more to do there. */
static int sync_dir(const char *dir)
{
    int fd = open(dir, O_RDONLY | O_DIRECTORY);
    if (fd < 0) return errno;
    int e = 0;
    if (fsync(fd) != 0 && errno != EINVAL) e = errno;
    close(fd);
    return e;
}

/* Room for ".tmp.<pid>.<count>" after the name. */
enum { TMP_EXTRA = 48, TMP_NAME_MAX = 160, TMP_TRIES = 16 };

/* Creates and opens a temporary file beside path, its name in tmp: the file
 * name of path cut to TMP_NAME_MAX bytes (so a name near the file system's
 * 255-byte limit still has room for the suffix), then ".tmp.<pid>.<count>".
 * The count makes the name unique to this call, so threads saving to the
 * same path at once each write their own file; O_EXCL makes creation fail
 * rather than follow a symbolic link or open another process's file, and
 * the next count is tried. Returns the descriptor, or -1 with errno set. */
static int create_temp(const char *path, char *tmp, size_t cap)
{
    static atomic_ulong count;
    const char *slash = strrchr(path, '/');
    size_t base = slash ? (size_t)(slash - path) + 1 : 0, len = strlen(path) - base;
    if (len > TMP_NAME_MAX) len = TMP_NAME_MAX;
    for (int i = 0; i < TMP_TRIES; i++) {
        snprintf(tmp, cap, "%.*s.tmp.%ld.%lu", (int)(base + len), path, (long)getpid(),
                 atomic_fetch_add(&count, 1));
        int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
        if (fd >= 0 || errno != EEXIST) return fd;
    }
    return -1;
}

ad_status ad_params_save(const char *path, ad_param *const *params, size_t n, const void *meta,
                         size_t meta_len)
{
    static const char fn[] = "ad_params_save";
    char es[128];
    ad_last_error_clear();
    ad_status s = check_args(fn, path, params, n);
    if (s != AD_OK) return s;
    if (!meta && meta_len)
        return fail(AD_ERR_INVALID, fn, path, "meta is NULL but meta_len is %zu", meta_len);

    /* the temporary name and the directory name share one block */
    size_t name_cap = strlen(path) + TMP_EXTRA;
    char *tmp = ad_alloc(ad_mul_size(name_cap, 2));
    uint8_t *buf = ad_alloc(WBUF);
    if (!tmp || !buf) {
        s = fail(AD_ERR_NOMEM, fn, path, "out of memory");
        goto done;
    }
    char *dir = tmp + name_cap;
    dir_of(path, dir);
    int fd = create_temp(path, tmp, name_cap);
    writer w = {fd >= 0 ? fdopen(fd, "wb") : NULL, buf, 0, 0, 0};
    if (!w.f) {
        int e = errno;
        if (fd >= 0) {
            close(fd);
            remove(tmp);
        }
        s = fail(AD_ERR_IO, fn, path, "cannot create temporary file %s: %s", tmp,
                 errstr(e, es, sizeof es));
        goto done;
    }
    int e = write_file(&w, params, n, meta, meta_len);
    if (fclose(w.f) != 0 && !e) e = errno;
    if (e) {
        remove(tmp);
        s = fail(AD_ERR_IO, fn, path, "cannot write temporary file %s: %s", tmp,
                 errstr(e, es, sizeof es));
        goto done;
    }
    if (rename(tmp, path) != 0) {
        e = errno;
        remove(tmp);
        s = fail(AD_ERR_IO, fn, path, "cannot rename %s over it: %s", tmp,
                 errstr(e, es, sizeof es));
        goto done;
    }
    if ((e = sync_dir(dir)) != 0)
        s = fail(AD_ERR_IO, fn, path,
                 "written, but syncing directory %s failed, so the rename may not be durable: %s",
                 dir, errstr(e, es, sizeof es));
done:
    ad_free(tmp);
    ad_free(buf);
    return s;
}

/* ------------------------------------------------------------------ load */

typedef struct load_ctx {
    const char *fn, *path;
    ad_param *const *params; /* NULL: ad_params_info, nothing to match or fill */
    size_t n;
    uint64_t *count; /* ad_params_info: receives the file's parameter count */
    void *meta;
    size_t meta_cap;
    size_t *meta_len;
} load_ctx;

#define LFAIL(c, ...) fail(AD_ERR_FORMAT, (c)->fn, (c)->path, __VA_ARGS__)

static const char *shape_u64(const uint64_t *dims, size_t nd, char *buf)
{
    size_t off = 0;
    buf[off++] = '[';
    for (size_t i = 0; i < nd; i++)
        off += (size_t)snprintf(buf + off, SHAPE_U64 - off, i ? ",%" PRIu64 : "%" PRIu64, dims[i]);
    buf[off++] = ']';
    buf[off] = '\0';
    return buf;
}

static void decode(const uint8_t *src, ad_param *p)
{
    size_t n = ad_param_numel(p);
    if (ad_param_dtype(p) == AD_F32) {
        float *x = ad_param_value(p);
        for (size_t i = 0; i < n; i++) {
            uint32_t b = get_u32(src + 4 * i);
            memcpy(&x[i], &b, sizeof b);
        }
    } else {
        double *x = ad_param_value(p);
        for (size_t i = 0; i < n; i++) {
            uint64_t b = get_u64(src + 8 * i);
            memcpy(&x[i], &b, sizeof b);
        }
    }
}

/* The byte size of a record's data, dims[0..nd) of dtype dt, or SIZE_MAX
 * when it exceeds room (so no product overflows). */
static size_t data_bytes(const uint64_t *dims, size_t nd, ad_dtype dt, size_t room)
{
    uint64_t bytes = ad_dtype_size(dt);
    for (size_t k = 0; k < nd; k++) {
        if (dims[k] && bytes > room / dims[k]) return SIZE_MAX;
        bytes *= dims[k];
    }
    return bytes > room ? SIZE_MAX : (size_t)bytes;
}

/* One parameter record at buf + *off (end: where the CRC starts), checked
 * against params[i] and copied into it when copy is set; with no params
 * (ad_params_info) only checked to be well formed. */
static ad_status walk_param(const load_ctx *c, const uint8_t *buf, size_t *off, size_t end,
                            size_t i, bool copy)
{
    ad_param *p = c->params ? c->params[i] : NULL;
    if (end - *off < 8) return LFAIL(c, "parameter %zu runs past the end of the file", i);
    uint32_t dt = get_u32(buf + *off), nd = get_u32(buf + *off + 4);
    *off += 8;
    if (dt > (uint32_t)AD_F64) return LFAIL(c, "parameter %zu: unknown dtype %" PRIu32, i, dt);
    if (p && dt != (uint32_t)ad_param_dtype(p))
        return LFAIL(c, "wrong dtype: file has %s, parameter %zu is %s",
                     ad_dtype_name((ad_dtype)dt), i, ad_dtype_name(ad_param_dtype(p)));
    if (nd < 1 || nd > AD_MAX_DIMS)
        return LFAIL(c, "parameter %zu: %" PRIu32 " dimensions; parameters have 1 to %d", i, nd,
                     AD_MAX_DIMS);
    if (end - *off < 8 * (size_t)nd)
        return LFAIL(c, "parameter %zu runs past the end of the file", i);
    uint64_t fd[AD_MAX_DIMS];
    size_t pd[AD_MAX_DIMS], pnd = p ? ad_param_shape(p, pd) : nd;
    bool same = nd == pnd;
    for (size_t k = 0; k < nd; k++) {
        fd[k] = get_u64(buf + *off + 8 * k);
        same = same && (!p || fd[k] == (uint64_t)pd[k]);
    }
    *off += 8 * (size_t)nd;
    if (!same) {
        char s1[SHAPE_U64], s2[AD_SHAPE_STR];
        return LFAIL(c, "wrong shape: file has %s, parameter %zu is %s", shape_u64(fd, nd, s1), i,
                     ad_shape_str(pnd, pd, s2));
    }
    size_t bytes = data_bytes(fd, nd, (ad_dtype)dt, end - *off);
    if (bytes == SIZE_MAX) return LFAIL(c, "parameter %zu runs past the end of the file", i);
    if (copy && p) decode(buf + *off, p);
    *off += bytes;
    return AD_OK;
}

/* Walks the records after the header; with copy false it only validates, so
 * running it twice (validate, then copy) makes a failed load change nothing. */
static ad_status walk(const load_ctx *c, const uint8_t *buf, size_t size, bool copy)
{
    size_t off = HEADER, end = size - 4;
    uint64_t count = get_u64(buf + 12);
    if (c->params && count != (uint64_t)c->n)
        return LFAIL(c, "wrong parameter count: file has %" PRIu64 ", expected %zu", count, c->n);
    /* a huge count from a damaged file runs past the end within size / 16 records */
    for (uint64_t i = 0; i < count; i++) {
        ad_status s = walk_param(c, buf, &off, end, (size_t)i, copy);
        if (s != AD_OK) return s;
    }
    if (end - off < 8) return LFAIL(c, "the meta length runs past the end of the file");
    uint64_t ml = get_u64(buf + off);
    off += 8;
    if (c->params && ml > (uint64_t)c->meta_cap)
        return LFAIL(c, "meta is %" PRIu64 " bytes; the buffer holds %zu", ml, c->meta_cap);
    if ((uint64_t)(end - off) < ml) return LFAIL(c, "meta runs past the end of the file");
    if ((uint64_t)(end - off) > ml)
        return LFAIL(c, "%" PRIu64 " unexpected bytes after the meta data", (end - off) - ml);
    if (copy) {
        size_t take = ml < c->meta_cap ? (size_t)ml : c->meta_cap; /* ad_params_info may cut */
        if (take) memcpy(c->meta, buf + off, take);
        if (c->meta_len) *c->meta_len = (size_t)ml;
        if (c->count) *c->count = count;
    }
    return AD_OK;
}

/* Magic, version, size and CRC, then the records twice: validate, copy. */
static ad_status parse(const load_ctx *c, const uint8_t *buf, size_t size)
{
    /* magic and version first: a future format may checksum differently */
    if (size >= 8 && memcmp(buf, AD_PARAMFILE_MAGIC, 8) != 0)
        return LFAIL(c, "wrong magic: not an adtape parameter file");
    if (size >= 12 && get_u32(buf + 8) != AD_PARAMFILE_VERSION)
        return LFAIL(c, "unsupported format version %" PRIu32 " (this library reads version %u)",
                     get_u32(buf + 8), AD_PARAMFILE_VERSION);
    if (size < MIN_FILE)
        return LFAIL(c, "truncated: %zu bytes, less than the smallest parameter file (%d)", size,
                     MIN_FILE);
    uint32_t stored = get_u32(buf + size - 4), computed = ad_crc32(0, buf, size - 4);
    if (stored != computed)
        return LFAIL(c,
                     "checksum mismatch (stored %08" PRIx32 ", computed %08" PRIx32
                     "): the file is damaged or truncated",
                     stored, computed);
    ad_status s = walk(c, buf, size, false);
    return s != AD_OK ? s : walk(c, buf, size, true);
}

ad_status ad_paramfile_parse(const uint8_t *buf, size_t size, const char *fn, const char *path,
                             ad_param *const *params, size_t n, void *meta, size_t meta_cap,
                             size_t *meta_len)
{
    static ad_param *const none[1];
    load_ctx c = {fn, path, params ? params : none, n, NULL, meta, meta_cap, meta_len};
    return parse(&c, buf, size);
}

ad_status ad_paramfile_parse_info(const uint8_t *buf, size_t size, const char *fn, const char *path,
                                  uint64_t *count, void *meta, size_t meta_cap, size_t *meta_len)
{
    load_ctx c = {fn, path, NULL, 0, count, meta, meta_cap, meta_len};
    return parse(&c, buf, size);
}

/* The whole regular file at path, at most cap bytes, into a new *buf. */
static ad_status read_file(const char *fn, const char *path, size_t cap, const char *what,
                           uint8_t **buf, size_t *size)
{
    char es[128];
    ad_status s = AD_OK;
    *buf = NULL;
    /* O_NONBLOCK: opening a FIFO for reading would otherwise wait for a
     * writer; it is refused below as not a regular file, where the flag
     * does nothing. */
    int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
    FILE *f = fd >= 0 ? fdopen(fd, "rb") : NULL;
    if (!f) {
        s = fail(AD_ERR_IO, fn, path, "cannot open: %s", errstr(errno, es, sizeof es));
        if (fd >= 0) close(fd);
        return s;
    }
    struct stat st;
    if (fstat(fd, &st) != 0) {
        s = fail(AD_ERR_IO, fn, path, "cannot stat: %s", errstr(errno, es, sizeof es));
    } else if (!S_ISREG(st.st_mode)) {
        s = fail(AD_ERR_IO, fn, path, "not a regular file");
    } else if (st.st_size < 0 || (uintmax_t)st.st_size > (uintmax_t)cap) {
        s = fail(AD_ERR_FORMAT, fn, path, "file is %jd bytes, more than %s (%zu)",
                 (intmax_t)st.st_size, what, cap);
    } else if (!(*buf = ad_alloc((size_t)st.st_size ? (size_t)st.st_size : 1))) {
        s = fail(AD_ERR_NOMEM, fn, path, "out of memory for %jd bytes", (intmax_t)st.st_size);
    } else {
        *size = fread(*buf, 1, (size_t)st.st_size, f);
        if (ferror(f))
            s = fail(AD_ERR_IO, fn, path, "read failed: %s", errstr(errno, es, sizeof es));
        else if (*size != (size_t)st.st_size || fgetc(f) != EOF)
            s = fail(AD_ERR_IO, fn, path, "the file changed while being read");
    }
    fclose(f);
    if (s != AD_OK) {
        ad_free(*buf);
        *buf = NULL;
    }
    return s;
}

ad_status ad_params_load(const char *path, ad_param *const *params, size_t n, void *meta,
                         size_t meta_cap, size_t *meta_len)
{
    static const char fn[] = "ad_params_load";
    ad_last_error_clear();
    ad_status s = check_args(fn, path, params, n);
    if (s != AD_OK) return s;
    if (!meta && meta_cap)
        return fail(AD_ERR_INVALID, fn, path, "meta is NULL but meta_cap is %zu", meta_cap);

    /* the largest file these params and meta_cap could have come from */
    size_t cap = MIN_FILE;
    for (size_t i = 0; i < n; i++) {
        size_t bytes =
            ad_mul_size(ad_param_numel(params[i]), ad_dtype_size(ad_param_dtype(params[i])));
        cap = add_size(cap, add_size(8 + 8 * AD_MAX_DIMS, bytes));
    }
    cap = add_size(add_size(cap, meta_cap), LOAD_SLACK);

    char what[96];
    snprintf(what, sizeof what, "%zu parameters and %zu bytes of meta can take", n, meta_cap);
    uint8_t *buf;
    size_t size = 0;
    s = read_file(fn, path, cap, what, &buf, &size);
    if (s == AD_OK)
        s = ad_paramfile_parse(buf, size, fn, path, params, n, meta, meta_cap, meta_len);
    ad_free(buf);
    return s;
}

ad_status ad_params_info(const char *path, size_t *count, void *meta, size_t meta_cap,
                         size_t *meta_len)
{
    static const char fn[] = "ad_params_info";
    ad_last_error_clear();
    ad_status s = check_args(fn, path, NULL, 0);
    if (s != AD_OK) return s;
    if (!meta && meta_cap)
        return fail(AD_ERR_INVALID, fn, path, "meta is NULL but meta_cap is %zu", meta_cap);
    uint8_t *buf;
    size_t size = 0;
    s = read_file(fn, path, SIZE_MAX, "can be read", &buf, &size);
    uint64_t n = 0;
    if (s == AD_OK) s = ad_paramfile_parse_info(buf, size, fn, path, &n, meta, meta_cap, meta_len);
    ad_free(buf);
    if (s == AD_OK && count) *count = (size_t)n; /* the file held n records, so n fits */
    return s;
}

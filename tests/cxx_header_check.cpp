// SPDX-License-Identifier: MIT
// The public headers used from C++11: they must compile with strict warnings
// as errors (extern "C", no C-only constructs), link against the C library,
// and work. Built and run by `make check-cxx`, part of `make test`, which
// also force-includes every include/adtape/*.h (nn.h, data.h, ...) first.
#include "adtape.h"
#include "adtape.h" // twice: the include guard holds

#include <cmath>
#include <cstdio>
#include <cstring>
#include <string>

static int failures = 0;

static void check(bool ok, const char *what)
{
    if (!ok) {
        std::fprintf(stderr, "cxx_header_check: FAILED: %s\n", what);
        failures++;
    }
}

int main()
{
    check(std::strcmp(ad_version(), ADTAPE_VERSION_STRING) == 0, "ad_version matches the header");

    ad_tape *t = ad_tape_new();
    check(t != nullptr, "ad_tape_new");

    // f(x, y) = x y + sin x; df/dx = y + cos x, df/dy = x
    ad_scalar x = ad_variable(t, 0.5);
    ad_scalar y = ad_variable(t, 2.0);
    ad_scalar f = ad_add(ad_mul(x, y), ad_sin(x));
    check(ad_backward_scalar(f) == AD_OK, "ad_backward_scalar");
    check(std::fabs(ad_grad(x) - (2.0 + std::cos(0.5))) < 1e-12, "df/dx");
    check(std::fabs(ad_grad(y) - 0.5) < 1e-12, "df/dy");

    // A tensor graph, exported through a captureless lambda as the callback.
    const size_t dims[2] = {3, 4};
    ad_param *p = ad_param_new(AD_F64, 2, dims);
    check(p != nullptr, "ad_param_new");
    ad_tape_reset(t);
    ad_scalar e = ad_tensor_to_scalar(ad_param_use(t, p), 5);
    const size_t one[1] = {1};
    ad_tensor s = ad_stack_scalars(&e, 1, 1, one);
    check(ad_tensor_ok(s), "ad_stack_scalars");
    std::string dot;
    ad_status st = ad_tape_export_dot_fn(
        t,
        [](const char *data, size_t len, void *user) -> bool {
            static_cast<std::string *>(user)->append(data, len);
            return true;
        },
        &dot);
    check(st == AD_OK, "ad_tape_export_dot_fn");
    check(dot.find("digraph") != std::string::npos, "the export is a digraph");
    check(dot.find("[3,4]") != std::string::npos, "the export shows the parameter's shape");

    ad_gradcheck_opts opts = AD_GRADCHECK_OPTS_DEFAULT;
    check(opts.step > 0, "AD_GRADCHECK_OPTS_DEFAULT");

    // AD_TENSOR_NONE as "no bias": x [1,4] . p [3,4]^T -> [1,3]
    ad_tape_reset(t);
    const size_t row[2] = {1, 4};
    ad_tensor none = AD_TENSOR_NONE;
    check(!ad_tensor_ok(none), "AD_TENSOR_NONE is not a tensor");
    ad_tensor lin = ad_linear(ad_tensor_ones(t, AD_F64, 2, row), ad_param_use(t, p), AD_TENSOR_NONE);
    check(ad_tensor_ok(lin), "ad_linear with AD_TENSOR_NONE as its bias");

    // Tapeless errors: ad_last_error names the call and clears on success.
    const size_t bad[1] = {0};
    check(ad_param_new(AD_F64, 0, bad) == nullptr, "ad_param_new refuses ndim 0");
    check(std::strncmp(ad_last_error(), "ad_param_new: ", 14) == 0, "ad_last_error names the call");
    void *block = ad_alloc(100);
    check(block != nullptr, "ad_alloc");
    ad_free(block);

    ad_param_free(p);
    ad_tape_free(t);
    if (failures == 0) std::printf("cxx_header_check: the public headers work from C++11\n");
    return failures == 0 ? 0 : 1;
}

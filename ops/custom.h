/* SPDX-License-Identifier: MIT
 * What custom.c shares with external.c: recording a custom op under another
 * public function's name, and the node's saved state. */
#ifndef AD_OPS_CUSTOM_H
#define AD_OPS_CUSTOM_H

#include "ops.h"

/* The node's ctx (arena). The name comes first: the node is named
 * (core/op.h, ad_node_op_name). */
typedef struct ad_custom_node {
    const char *name;
    const char *fn;   /* the public function that recorded it */
    const char *kind; /* "custom op", "external function": sweep messages */
    ad_custom_fn forward, backward, jvp;
    void *user;
    size_t n_in, n_out;
    ad_custom_tensor *in;       /* the inputs' values (n_in) */
    ad_custom_tensor *out;      /* the outputs (n_out); out[0].data is the node's value */
    ad_custom_tensor *grad_in;  /* filled by each sweep (n_in) */
    ad_custom_tensor *grad_out; /* filled by each sweep (n_out) */
    uint32_t *node;             /* the node of each output: node[0] the op's, then views */
} ad_custom_node;

/* ad_custom_op, with messages that start with fn and name the op's kind. */
ad_tensor ad_custom_record(const char *fn, const char *kind, const ad_custom_def *def,
                           const ad_tensor *in, ad_tensor *out);

#endif

/* SPDX-License-Identifier: MIT
 * What the bridges between scalars and tensors tell the rest of the engine
 * (graph export) about the nodes they record. */
#ifndef AD_BRIDGE_H
#define AD_BRIDGE_H

#include "ops.h"

/* The scalar record index of each element of a stack node (numel entries;
 * 0 for a constant, which is not on the tape). */
const uint32_t *ad_stack_records(const ad_node *y);

#endif

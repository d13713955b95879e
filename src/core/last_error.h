/* SPDX-License-Identifier: MIT
 * Setting what ad_last_error reports (last_error.c). */
#ifndef AD_LAST_ERROR_H
#define AD_LAST_ERROR_H

#include "tape.h"

void ad_last_error_clear(void);
void ad_last_error_set(const char *fmt, ...) AD_PRINTF(1, 2);
/* Records the outcome st of driver fn: "" for AD_OK, else t's message (t may
 * be NULL), or a generic one naming fn. Returns st. */
ad_status ad_last_error_from(const ad_tape *t, ad_status st, const char *fn);

#endif

/* SPDX-License-Identifier: MIT
 * Setting what ad_last_error reports (last_error.c). */
#ifndef AD_LAST_ERROR_H
#define AD_LAST_ERROR_H

#include "tape.h"

/* The message buffer's size: room for two long paths (a save names its
 * temporary file too). ad_set_last_error documents the cut at 4095 bytes. */
#define AD_LAST_ERROR_LEN 4096

void ad_last_error_clear(void);
void ad_last_error_set(const char *fmt, ...) AD_PRINTF(1, 2);
/* Records the outcome st of driver fn: "" for AD_OK, else t's message (t may
 * be NULL), or a generic one naming fn. Returns st. */
ad_status ad_last_error_from(const ad_tape *t, ad_status st, const char *fn);

#endif

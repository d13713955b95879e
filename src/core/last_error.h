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
/* A tape op handed no tape (a NULL tape, or handles that name none) has no
 * tape to fail: its message goes to ad_last_error, the channel of calls
 * without a tape, and it returns AD_ERR_INVALID. */
ad_status ad_no_tape(const char *fmt, ...) AD_PRINTF(1, 2);

#endif

/* SPDX-License-Identifier: MIT
 * adtape/nn: the MLP client of the engine. Layers, initialisation,
 * optimizers (first order and Levenberg-Marquardt), mini-batch training,
 * metrics, loss-curve plots and model files, written only against the public
 * API in adtape.h: a user who wires a network by hand has every tool this
 * header uses.
 *
 * Ownership: constructors return heap objects (free them with the matching
 * *_free), or NULL. Errors follow the rule in the errors section of
 * adtape.h: calls that take a tape report on it; the others (constructors,
 * training, evaluation, files, plots) return ad_status or NULL and leave
 * their message in ad_last_error() ("" on success). All memory comes from
 * the ad_set_allocator allocator. */
#ifndef ADTAPE_NN_H
#define ADTAPE_NN_H

#include "adtape.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ------------------------------------------------------------- the model */

typedef enum ad_nn_act {
    AD_ACT_IDENTITY = 0,
    AD_ACT_SIGMOID,
    AD_ACT_TANH,
    AD_ACT_RELU,
    AD_ACT_LEAKY_RELU, /* slope: ad_nn_spec.leaky_slope */
    AD_ACT_SOFTPLUS,
    AD_ACT_SWISH,
    AD_ACT_MISH,
    AD_ACT_GELU,
    AD_ACT_COUNT
} ad_nn_act;

/* The output head: how the last layer's outputs (logits) are read. */
typedef enum ad_nn_head {
    AD_HEAD_IDENTITY = 0, /* regression; loss mse (default) or half_sse */
    AD_HEAD_LOGISTIC,     /* independent binary outputs; loss bce_with_logits */
    AD_HEAD_SOFTMAX,      /* one class of `outputs`; loss softmax_cross_entropy */
    AD_HEAD_COUNT
} ad_nn_head;

typedef enum ad_nn_loss {
    AD_LOSS_DEFAULT = 0, /* the head's natural loss (mse for identity) */
    AD_LOSS_MSE,
    AD_LOSS_HALF_SSE,
    AD_LOSS_BCE_LOGITS,
    AD_LOSS_SOFTMAX_CE
} ad_nn_loss_kind;

typedef enum ad_nn_init {
    AD_INIT_DEFAULT = 0,    /* He uniform before relu / leaky relu, Xavier uniform otherwise */
    AD_INIT_XAVIER_UNIFORM, /* U(-a, a), a = sqrt(6 / (fan_in + fan_out)) */
    AD_INIT_XAVIER_NORMAL,  /* N(0, 2 / (fan_in + fan_out)) */
    AD_INIT_HE_UNIFORM,     /* U(-a, a), a = sqrt(6 / fan_in) */
    AD_INIT_HE_NORMAL,      /* N(0, 2 / fan_in) */
    AD_INIT_COUNT
} ad_nn_init;

/* One hidden layer: h_i = act(h_{i-1} W_i^T + b_i) [+ skip]. With skip = k > 0
 * the output of k layers back (h_{i-k}; h_0 is the input) is added after the
 * activation: h_i = act(...) + h_{i-k}, or + h_{i-k} P_i when `project` is set
 * (a learned [width_{i-k}, width_i] matrix, no bias). Widths that differ need
 * `project`. skip = 1 is the plain residual block h + f(h).
 * Regularisation, per layer: with layer_norm the product is normalised over
 * the layer's width before the activation, with a learned gain (starting at
 * 1) and shift (at 0), eps 1e-5: act(LN(h_{i-1} W_i^T + b_i)). With dropout
 * = p > 0 the activation's output is dropped (ad_dropout) at rate p while
 * the model is in training mode (ad_nn_set_training; ad_nn_train sets it),
 * before the skip is added: h_i = dropout(act(...)) + h_{i-k}. A rate
 * outside [0, 1) is refused by ad_nn_new. */
typedef struct ad_nn_layer_spec {
    size_t width;
    ad_nn_act act;
    size_t skip;     /* 0: no skip connection */
    bool project;    /* learn a projection on the skip path */
    double dropout;  /* dropout rate after the activation; 0: none */
    bool layer_norm; /* layer normalisation before the activation */
} ad_nn_layer_spec;

/* A multilayer perceptron. Zero fields take the defaults noted. */
typedef struct ad_nn_spec {
    size_t inputs;                  /* features per sample, > 0 */
    size_t n_hidden;                /* hidden layers, may be 0 */
    const ad_nn_layer_spec *hidden; /* n_hidden entries */
    size_t outputs;                 /* > 0 */
    ad_nn_head head;
    ad_nn_loss_kind loss; /* must suit the head */
    ad_nn_init init;
    ad_dtype dtype;     /* AD_F32 to train, AD_F64 for gradcheck */
    uint64_t seed;      /* initialisation; same seed, same weights */
    double leaky_slope; /* 0: 0.01 */
} ad_nn_spec;

typedef struct ad_nn ad_nn; /* opaque */

/* A new model with freshly initialised parameters, or NULL when the spec is
 * bad (ad_last_error: "ad_nn_new: hidden layer 2: width is 0") or memory
 * runs out. */
AD_API ad_nn *ad_nn_new(const ad_nn_spec *spec);
AD_API void ad_nn_free(ad_nn *m);
/* The model's spec (its hidden array points into the model). */
AD_API const ad_nn_spec *ad_nn_get_spec(const ad_nn *m);
/* Re-initialises every parameter from `seed` as ad_nn_new would, and
 * reseeds the dropout generator with it. */
AD_API void ad_nn_init_params(ad_nn *m, uint64_t seed);
/* The model's parameters, in a fixed order (per layer: W [out,in], b [out],
 * then P when present, then the layer norm's gain and shift [out] when
 * set; the head last). The array belongs to the model. */
AD_API ad_param *const *ad_nn_params(const ad_nn *m, size_t *n);
/* Layer k's slice of ad_nn_params (k = 1 .. n_hidden for the hidden
 * layers, n_hidden + 1 for the output layer), its length in *n: a
 * parameter group, e.g. for ad_opt_set_decay. NULL (and *n 0) for a NULL
 * model or a k out of range. */
AD_API ad_param *const *ad_nn_layer_params(const ad_nn *m, size_t k, size_t *n);
/* Training mode: dropout layers drop only while it is on. It is off in a
 * new model, so ad_nn_forward evaluates; ad_nn_train switches it on for
 * its training steps (and back), ad_nn_evaluate and ad_lm_train off.
 * Returns the previous setting (false for NULL). */
AD_API bool ad_nn_set_training(ad_nn *m, bool on);
AD_API bool ad_nn_training(const ad_nn *m); /* false for NULL */
/* Reseeds the generator the dropout masks come from (ad_nn_new seeds it
 * with spec.seed; ad_nn_train with (opts.seed, epoch) every epoch). */
AD_API void ad_nn_seed_dropout(ad_nn *m, uint64_t seed);
/* Total number of scalar weights. */
AD_API size_t ad_nn_param_count(const ad_nn *m);

/* The name of an activation / head ("relu"), or "?" out of range; and the
 * parse from a name (false when unknown). */
AD_API const char *ad_nn_act_name(ad_nn_act a);
AD_API bool ad_nn_act_parse(const char *name, ad_nn_act *a);
AD_API const char *ad_nn_head_name(ad_nn_head h);

/* Records the network on x's tape: x [B, inputs] (or [inputs]) in the model's
 * dtype -> logits [B, outputs]. The head is not applied (losses take logits).
 * Dropout layers drop only in training mode (ad_nn_set_training), each
 * forward drawing fresh masks from the model's generator. Not reentrant:
 * one forward at a time per model. */
AD_API ad_tensor ad_nn_forward(ad_nn *m, ad_tensor x);
/* The head applied to logits: identity, sigmoid or softmax over the last axis. */
AD_API ad_tensor ad_nn_predict(const ad_nn *m, ad_tensor logits);
/* The training loss of the head, a [1] tensor averaged over the batch.
 * identity/logistic read `target` ([B, outputs], the model's dtype);
 * softmax reads `labels` (B class indices in [0, outputs)). */
AD_API ad_tensor ad_nn_loss(const ad_nn *m, ad_tensor logits, ad_tensor target,
                            const int32_t *labels);

/* ------------------------------------------------------------------ data */

/* A data set in memory (borrowed, not copied). Inputs are float32 whatever
 * the model's dtype. */
typedef struct ad_nn_data {
    size_t n;              /* samples */
    size_t in;             /* features per sample */
    const float *x;        /* [n, in] */
    size_t out;            /* target width (identity/logistic heads) */
    const float *y;        /* [n, out] targets, or NULL (softmax head) */
    const int32_t *labels; /* [n] classes (softmax head), or NULL */
} ad_nn_data;

/* Rows idx[0..b) of `src` ([*, cols] float32) as a constant tensor [b, cols]
 * of dtype dt on t; idx NULL means rows 0..b. `scratch` is a growable buffer
 * owned by the caller (start with NULL, 0; free it with ad_free). A NULL src,
 * scratch or scratch_len, or an index past any buffer, fails t with
 * AD_ERR_INVALID; a batch too large to hold with AD_ERR_NOMEM or INVALID.
 * Indices below that are not checked: src's row count is not passed. */
AD_API ad_tensor ad_nn_gather(ad_tape *t, ad_dtype dt, const float *src, size_t cols,
                              const size_t *idx, size_t b, void **scratch, size_t *scratch_len);

/* perm becomes a uniform random permutation of 0..n-1 determined by
 * (seed, epoch) alone, so a resumed run draws the same batches. NULL perm:
 * nothing happens. */
AD_API void ad_nn_shuffle(size_t *perm, size_t n, uint64_t seed, uint64_t epoch);

/* Two interleaved spirals: 2 n points into x [2n, 2] (radius <= 1) and
 * labels [2n], classes alternating (0, 1, 0, ...). Each arm winds `turns`
 * times; points are jittered by uniform noise of +-noise, from seed. A NULL
 * x or labels: nothing is written. */
AD_API void ad_nn_make_spirals(size_t n, double turns, double noise, uint64_t seed, float *x,
                               int32_t *labels);

/* Fraction of correct predictions from logits [B, outputs]: softmax head:
 * argmax == label; logistic head: (logit > 0) == (target > 0.5), over all
 * outputs; identity head: NaN (no notion of accuracy). NaN too without a
 * model or the labels/targets its head needs, or for logits not [B, outputs]
 * or [outputs]. */
AD_API double ad_nn_accuracy(const ad_nn *m, ad_tensor logits, const float *targets,
                             const int32_t *labels);

/* Mean loss and accuracy over a data set, in batches of `batch` (0: 256)
 * with recording switched off on t and the model out of training mode (no
 * dropout; both restored after). t is reset first and
 * left reset. acc may be NULL; it is NaN for the identity head. Errors,
 * the tape's included, go to ad_last_error ("ad_nn_evaluate: ..."): the
 * tape is left reset and healthy. A NaN or Inf in d gives a NaN or Inf
 * loss with AD_OK: it is the measurement (ad_nn_train stops on it). */
AD_API ad_status ad_nn_evaluate(ad_nn *m, ad_tape *t, const ad_nn_data *d, size_t batch,
                                double *loss, double *acc);

/* ------------------------------------------------------------ optimizers */

typedef enum ad_opt_kind {
    AD_OPT_SGD = 0,  /* w -= lr g */
    AD_OPT_MOMENTUM, /* v = mu v + g; w -= lr v */
    AD_OPT_NESTEROV, /* v = mu v + g; w -= lr (g + mu v) */
    AD_OPT_ADAM,     /* bias-corrected moments; weight decay added to g */
    AD_OPT_ADAMW,    /* Adam with decoupled decay: w -= lr wd w, then Adam */
    AD_OPT_COUNT
} ad_opt_kind;

typedef enum ad_lr_schedule {
    AD_LR_CONSTANT = 0,
    AD_LR_STEP,  /* lr gamma^floor(epoch / step_epochs) */
    AD_LR_COSINE /* lr_min + (lr - lr_min) (1 + cos(pi min(epoch, T) / T)) / 2 */
} ad_lr_schedule;

/* Zero fields take the defaults noted. */
typedef struct ad_opt_config {
    ad_opt_kind kind;
    double lr;           /* 0: 0.01 (SGD family), 0.001 (Adam family) */
    double momentum;     /* 0: 0.9 for momentum / Nesterov */
    double beta1;        /* 0: 0.9 */
    double beta2;        /* 0: 0.999 */
    double eps;          /* 0: 1e-8 */
    double weight_decay; /* L2 coefficient; 0: none */
    double clip_norm;    /* clip the global gradient norm to this; 0: no clipping */
    ad_lr_schedule schedule;
    size_t step_epochs;  /* step schedule: period; 0: 10 */
    double gamma;        /* step schedule: factor; 0: 0.1 */
    size_t total_epochs; /* cosine schedule: T; 0: 100 */
    double lr_min;       /* cosine schedule: floor */
} ad_opt_config;

typedef struct ad_opt ad_opt; /* opaque */

/* An optimizer over n parameters (borrowed: they must outlive it). Its state
 * (moments, step and epoch counters) lives in ad_params of its own, which
 * ad_opt_state lists for saving. NULL on a bad config, a parameter listed
 * twice, or no memory (ad_last_error says which). */
AD_API ad_opt *ad_opt_new(const ad_opt_config *cfg, ad_param *const *params, size_t n);
AD_API void ad_opt_free(ad_opt *o);
/* The config with defaults filled in. */
AD_API const ad_opt_config *ad_opt_get_config(const ad_opt *o);
/* One update from the parameters' current gradients at the learning rate of
 * the current epoch. Gradients are read (and clipped copies used), not zeroed. */
AD_API void ad_opt_step(ad_opt *o);
/* Zeroes the gradients of all parameters. */
AD_API void ad_opt_zero_grad(ad_opt *o);
/* The global L2 norm of the gradients (before clipping); NaN for NULL. */
AD_API double ad_opt_grad_norm(const ad_opt *o);
/* The learning rate of a schedule at an epoch (a pure function of cfg), and
 * an optimizer's at its current epoch; NaN for a NULL cfg or o. */
AD_API double ad_opt_schedule_lr(const ad_opt_config *cfg, size_t epoch);
AD_API double ad_opt_lr(const ad_opt *o);
/* Step and epoch counters (steps drive Adam's bias correction, epochs the
 * schedule and the shuffling of ad_nn_train); 0 for a NULL optimizer, whose
 * epoch is not set. */
AD_API uint64_t ad_opt_steps(const ad_opt *o);
AD_API uint64_t ad_opt_epoch(const ad_opt *o);
AD_API void ad_opt_set_epoch(ad_opt *o, uint64_t epoch);
/* The state parameters in a fixed order; the array belongs to the optimizer. */
AD_API ad_param *const *ad_opt_state(const ad_opt *o, size_t *n);
/* Weight decay per parameter group: the n parameters ps (each one o
 * updates) decay at wd instead of cfg.weight_decay, in the same way (L2 in
 * the gradient, decoupled for AdamW); later calls override earlier ones.
 * AD_ERR_INVALID, with nothing changed, for a NULL o or ps (n > 0), a wd
 * that is negative, NaN or infinite, or a parameter o does not update
 * ("ad_opt_set_decay: ps[1] is not one of the optimizer's parameters"). */
AD_API ad_status ad_opt_set_decay(ad_opt *o, ad_param *const *ps, size_t n, double wd);
/* The decay o applies to p; NaN when o does not update p or either is NULL. */
AD_API double ad_opt_decay(const ad_opt *o, const ad_param *p);
/* The usual two groups of a model: its weight matrices (W and P) decay at
 * `weights`, its vectors (biases, layer norm gains and shifts) at `others`
 * (often 0). AD_ERR_INVALID, with nothing changed, for a NULL model or
 * optimizer, a rate that is negative, NaN or infinite, or an optimizer that
 * does not update all of the model's parameters. For one decay per layer,
 * call ad_opt_set_decay on each ad_nn_layer_params slice. */
AD_API ad_status ad_nn_set_decay(const ad_nn *m, ad_opt *o, double weights, double others);

/* ---------------------------------------------------------------- training */

/* Per-epoch history; arrays hold `n` entries (NaN where not measured). Start
 * zeroed; the arrays come from ad_alloc and belong to h (ad_nn_history_free). */
typedef struct ad_nn_history {
    size_t n, cap;
    double *train_loss, *train_acc, *val_loss, *val_acc, *seconds;
    /* early stopping (ad_nn_train_opts.patience): the epoch (from 1, as in
     * the progress lines) whose parameters the model was given back, and
     * whether training stopped before its last epoch; 0 and false when
     * early stopping was off */
    size_t best_epoch;
    bool stopped_early;
} ad_nn_history;
/* Appends one epoch (false when memory runs out or h is NULL). */
AD_API bool ad_nn_history_push(ad_nn_history *h, double train_loss, double train_acc,
                               double val_loss, double val_acc, double seconds);
AD_API void ad_nn_history_free(ad_nn_history *h);

/* Data-parallel training: how ad_nn_train and ad_lm_train split their work
 * over `size` processes (ranks) and combine it. The core library has no
 * transport: adtape/mpi.h fills one over an MPI communicator
 * (ad_mpi_nn_dist_new), and any other transport can fill its own. Every
 * rank runs the same trainer with the same model, optimizer, data and
 * options; each takes its share of every global batch (rank r the rows
 * [r b / size, (r+1) b / size) of a batch of b), the shares' gradients are
 * summed with weights share / b, and every rank takes the same step.
 * Progress lines come from rank 0 only. The callbacks return AD_OK on
 * every rank, or the same error on every rank (a failure on one is
 * reported on all, its rank named in ad_last_error). */
typedef struct ad_nn_dist {
    size_t rank, size; /* this process, of size > 0 */
    void *ctx;
    /* Before the sweep of a step on t: the gradients this rank's sweep
     * makes are to be multiplied by weight and summed over the ranks (they
     * may be handed over while the sweep runs: ad_tape_set_grad_ready). */
    ad_status (*step_begin)(void *ctx, ad_tape *t, double weight);
    /* After the sweep, with its status (or the caller's verdict): the
     * model's gradients become the weighted sums, on every rank. */
    ad_status (*step_end)(void *ctx, ad_status local);
    /* Agrees on local first, then sums buf[0..n) over the ranks in place
     * (n the same on every rank; n 0: only the agreement). */
    ad_status (*sum)(void *ctx, double *buf, size_t n, ad_status local);
} ad_nn_dist;

typedef struct ad_nn_train_opts {
    size_t epochs;          /* more epochs to run from the optimizer's epoch; 0: 10 */
    size_t batch_size;      /* 0: 32; larger than the data: full batch */
    uint64_t seed;          /* shuffling seed (per epoch: see ad_nn_shuffle) */
    bool no_shuffle;        /* keep the data order */
    bool quiet;             /* no progress lines */
    size_t print_every;     /* a line every k epochs (and the last); 0: every epoch */
    const char *name;       /* prefix of progress lines; NULL: "train" */
    bool anomaly;           /* anomaly mode on the training tape (ad_tape_set_anomaly): a NaN or
                               Inf stops training at the op or leaf that made it, named in the
                               message; slower (every value and gradient is scanned) */
    size_t patience;        /* early stopping: stop after this many epochs in a row without a
                               validation loss below the best by more than min_delta; 0: off.
                               Needs validation data */
    double min_delta;       /* early stopping: the least improvement that counts; >= 0 */
    const ad_nn_dist *dist; /* NULL: this process alone; else data-parallel (see ad_nn_dist) */
} ad_nn_train_opts;

/* Trains m with o over `train` for opts->epochs more epochs, counting from
 * the optimizer's epoch (so the shuffle and the schedule of a resumed run
 * match an uninterrupted one). Each step resets its own tape, zeroes the
 * gradients, records forward and loss, sweeps and calls ad_opt_step. Unless
 * quiet, one line per epoch on stderr: "train epoch 3/20  loss 0.1234
 * acc 95.10%  val loss 0.2  val acc 93.00%  0.120 s  52000 samples/s"
 * (accuracy for classification heads, val fields when val is not NULL;
 * samples/s over the training pass). Appends to h when not NULL. o must
 * update every parameter of m (build it over ad_nn_params(m)); data that does
 * not fit m is refused (AD_ERR_INVALID) before the first step.
 * Training stops with AD_ERR_NUMERIC at the first NaN or Inf in a batch's
 * loss or gradients (no step is taken for it), in a parameter or the
 * optimizer's state after a step (the step is undone), or in the validation
 * loss (after the epoch's line and history entry): m keeps the parameters of
 * the last finite step, and ad_last_error says where: "ad_nn_train: epoch 2,
 * batch 7: the loss is nan: sample 13's input has nan at feature 1" (the
 * sample by its index in the data); opts->anomaly names the op.
 * Dropout: the model is in training mode for the training steps (its
 * previous mode is restored on return), and its dropout generator is
 * seeded from (opts->seed, epoch) at the start of every epoch, so a resumed
 * run draws the masks an uninterrupted one would.
 * Early stopping (opts->patience > 0): after each epoch the validation loss
 * is compared with the best so far; the parameters of the best epoch are
 * kept, training stops once `patience` epochs in a row brought no
 * improvement, and the model ends with the best epoch's parameters (also
 * when the epochs run out first; the optimizer's state is not rewound). The
 * epoch is in h (best_epoch, stopped_early) and, unless quiet, in a line:
 * "train early stop at epoch 9: best val loss 0.0412 at epoch 6 restored".
 * A patience without validation data, or a min_delta that is negative or
 * not finite, is refused with AD_ERR_INVALID before the first step. */
AD_API ad_status ad_nn_train(ad_nn *m, ad_opt *o, const ad_nn_data *train, const ad_nn_data *val,
                             const ad_nn_train_opts *opts, ad_nn_history *h);

/* ------------------------------------------------------ Levenberg-Marquardt */

typedef struct ad_lm_opts {
    size_t epochs;      /* accepted-or-given-up steps; 0: 100 */
    double mu;          /* initial damping; 0: 1e-3 */
    double mu_max;      /* give up an epoch's step past this; 0: 1e10 */
    double target_loss; /* stop once the loss is at or below; 0: never */
    bool quiet;
    const char *name;       /* NULL: "lm" */
    bool anomaly;           /* anomaly mode on the recording of each epoch: names the op that
                               makes a NaN or Inf (see ad_nn_train_opts) */
    const ad_nn_dist *dist; /* NULL: alone; else each rank takes a share of the samples and
                               the normal equations and losses are summed over the ranks */
} ad_lm_opts;

/* Fits an identity-head model with a squared-error loss (mse or half_sse) to
 * d by Levenberg-Marquardt: per epoch one recording over all of d, the
 * Jacobian of the residuals by one seeded reverse sweep per residual, then
 * (J^T J + mu I) delta = -J^T e solved by Cholesky; mu x10 on a rejected step,
 * x0.1 on an accepted one. Memory is O(residuals x params): small networks.
 * A NaN or Inf in the residuals, the Jacobian or J^T J stops it with
 * AD_ERR_NUMERIC ("ad_lm_train: epoch 3: the residual of sample 7 (output 0)
 * is nan: its target is nan"), m keeping the weights of the last accepted
 * step; a trial step that is not finite is rejected like one that raises the
 * loss (mu grows). The model runs out of training mode (no dropout; its
 * mode is restored on return). */
AD_API ad_status ad_lm_train(ad_nn *m, const ad_nn_data *d, const ad_lm_opts *opts,
                             ad_nn_history *h);

/* Solves A x = b in place for symmetric positive definite A [n,n] (row-major,
 * overwritten by its Cholesky factor L). false when A is not positive
 * definite, or a or b is NULL (for n > 0). */
AD_API bool ad_nn_cholesky_solve(double *a, double *b, size_t n);

/* ----------------------------------------------------------- model files */

/* A one-line description of the architecture into buf (truncated to len,
 * always terminated), e.g. "2-16 tanh-16 tanh +1-2 softmax f32"; returns the
 * length it needed. A NULL buf only measures. A layer with layer norm
 * shows " ln" ("16 tanh ln"); dropout rates, which change no parameter,
 * are not shown (a file saved with dropout loads into the same model
 * without). */
AD_API size_t ad_nn_describe(const ad_nn *m, char *buf, size_t len);

/* Saves the model's parameters and, when o is not NULL, the optimizer's
 * state (moments, step and epoch counters) to path with ad_params_save
 * (versioned, checksummed, written atomically). The file's meta block holds
 * the description, so a file is only loaded into the same architecture. */
AD_API ad_status ad_nn_save(const char *path, const ad_nn *m, const ad_opt *o);
/* Loads a file written by ad_nn_save into m (and o: pass an optimizer of the
 * same kind when the file has one, NULL when not). Everything is validated
 * before anything is written, so on any error m and o are unchanged:
 * AD_ERR_IO (cannot read), AD_ERR_FORMAT (damaged, another version, another
 * architecture or optimizer, with the reason in ad_last_error). */
AD_API ad_status ad_nn_load(const char *path, ad_nn *m, ad_opt *o);

/* ----------------------------------------------------------------- plots */

/* One curve: y[0..n) plotted against epochs 1..n (NaN points skipped). */
typedef struct ad_nn_series {
    const char *name;
    const double *y;
    size_t n;
} ad_nn_series;

typedef struct ad_nn_panel {
    const char *title;
    const char *ylabel;
    const ad_nn_series *series;
    size_t n_series;
    bool log_y; /* log10 axis (values <= 0 are skipped) */
    bool log_x; /* log10 epoch axis: short and long runs side by side */
} ad_nn_panel;

/* Writes a self-contained SVG with the panels side by side: axes with ticks
 * and labels, a legend per panel. Titles and names are escaped; control
 * characters and bytes that are not UTF-8 are written as U+FFFD. */
AD_API ad_status ad_nn_plot_svg(const char *path, const char *title, const ad_nn_panel *panels,
                                size_t n_panels);
/* The loss curves (train, validation) and, when measured, the accuracy
 * curves of a history. */
AD_API ad_status ad_nn_history_svg(const ad_nn_history *h, const char *path, const char *title);

#ifdef __cplusplus
}
#endif

#endif /* ADTAPE_NN_H */

# adtape: build, test, bench, install.
# `make` builds build/libadtape.a and build/libadtape.so; `make test` runs the
# Criterion suite; `make demo` runs the examples. BUILD= picks the output
# directory, so several builds (sanitizer, portable) can sit side by side.

CC      ?= cc
BUILD   ?= build
PREFIX  ?= /usr/local
DESTDIR ?=
OPT     ?= -O2
WERROR  ?= 0

VERSION_MAJOR := 0
VERSION       := 0.1.0

WARN_COMMON := -Wall -Wextra -Wpedantic -Wshadow -Wdouble-promotion -Wstrict-prototypes \
               -Wvla -Wformat=2
WARN_LIB    := $(WARN_COMMON) -Wconversion -Wmissing-prototypes
ifeq ($(WERROR),1)
WARN_COMMON += -Werror
WARN_LIB    += -Werror
endif

# gcc's default -O2 cost model leaves loops of unknown length scalar; the
# "cheap" model vectorises the elementwise kernels (clang does so already).
VECT := $(shell $(CC) -fvect-cost-model=cheap -E -x c /dev/null >/dev/null 2>&1 && \
          echo -fvect-cost-model=cheap)

BASE_CFLAGS := -std=c11 $(OPT) $(VECT) -g -fPIC -fvisibility=hidden -D_POSIX_C_SOURCE=200809L \
               -Iinclude $(EXTRA_CFLAGS)
LIB_CFLAGS  := $(BASE_CFLAGS) $(WARN_LIB)
TEST_CFLAGS := -std=c11 $(OPT) -g -D_POSIX_C_SOURCE=200809L -Iinclude -Isrc -Iops \
               $(WARN_COMMON) $(EXTRA_CFLAGS)
LDLIBS      := -lm -lpthread

LIB_SRC  := $(wildcard src/*.c) $(wildcard src/nn/*.c) $(wildcard ops/*.c)
LIB_OBJ  := $(LIB_SRC:%.c=$(BUILD)/obj/%.o)
TEST_SRC := $(wildcard tests/test_*.c)
TEST_OBJ := $(TEST_SRC:%.c=$(BUILD)/obj/%.o)
EXAMPLES := $(patsubst examples/%.c,$(BUILD)/examples/%,$(wildcard examples/*.c))
BENCH_SRC := $(wildcard tests/bench/*.c)

STATIC := $(BUILD)/libadtape.a
SHARED := $(BUILD)/libadtape.so

.PHONY: all test demo examples sanitize bench clean format format-check check-criterion

all: $(STATIC) $(SHARED)

$(BUILD)/obj/%.o: %.c $(wildcard include/*.h include/adtape/*.h src/*.h src/nn/*.h ops/*.h)
	@mkdir -p $(dir $@)
	$(CC) $(LIB_CFLAGS) -c $< -o $@

$(BUILD)/obj/tests/%.o: tests/%.c $(wildcard include/*.h include/adtape/*.h src/*.h ops/*.h tests/*.h)
	@mkdir -p $(dir $@)
	$(CC) $(TEST_CFLAGS) -c $< -o $@

$(STATIC): $(LIB_OBJ)
	@mkdir -p $(dir $@)
	rm -f $@
	ar rcs $@ $^

$(SHARED): $(LIB_OBJ)
	$(CC) -shared -Wl,-soname,libadtape.so.$(VERSION_MAJOR) $(EXTRA_LDFLAGS) -o $@ $^ $(LDLIBS)

# ---- tests: one Criterion binary over the static library

check-criterion:
	@sh tests/need_criterion.sh "$(CC)"

$(BUILD)/tests: $(TEST_OBJ) $(STATIC)
	$(CC) $(EXTRA_LDFLAGS) -o $@ $(TEST_OBJ) $(STATIC) -lcriterion $(LDLIBS)

test: check-criterion
	@sh tests/check_nn_includes.sh
	@$(MAKE) --no-print-directory $(BUILD)/tests
	$(BUILD)/tests $(TEST_ARGS)

SAN_FLAGS := -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all
sanitize: check-criterion
	@$(MAKE) --no-print-directory BUILD=build-san OPT=-O1 \
	    EXTRA_CFLAGS="$(SAN_FLAGS)" EXTRA_LDFLAGS="$(SAN_FLAGS)" test

# ---- examples

$(BUILD)/examples/%: examples/%.c $(STATIC) $(wildcard include/*.h include/adtape/*.h)
	@mkdir -p $(dir $@)
	$(CC) $(TEST_CFLAGS) -o $@ $< $(STATIC) $(LDLIBS)

examples: $(EXAMPLES)

demo: all examples
	@for e in $(DEMOS); do echo "== $$e"; $(BUILD)/examples/$$e || exit 1; done

DEMOS ?= gradient residual

# ---- benchmarks

$(BUILD)/bench: $(BENCH_SRC) $(STATIC)
	$(CC) $(TEST_CFLAGS) -Itests/bench -o $@ $(BENCH_SRC) $(STATIC) $(LDLIBS)

bench: $(BUILD)/bench
	$(BUILD)/bench $(GROUPS)

# ---- housekeeping

FORMAT_SRC := $(wildcard include/*.h include/adtape/*.h src/*.[ch] src/nn/*.[ch] ops/*.[ch] \
                tests/*.[ch] tests/bench/*.[ch] tests/fuzz/*.[ch] examples/*.c)
format:
	clang-format -i $(FORMAT_SRC)
format-check:
	clang-format --dry-run --Werror $(FORMAT_SRC)

clean:
	rm -rf build build-*

# adtape: build, test, bench, install.
# `make` builds build/libadtape.a and build/libadtape.so (a symlink chain to
# the versioned file); `make test` runs the Criterion suite and the symbol
# and C++ header checks; `make demo` runs the examples; `make install` honours
# PREFIX and DESTDIR. BUILD= picks the output directory, so several builds
# (sanitizer, portable) can sit side by side.

CC      ?= cc
CXX     ?= g++
BUILD   ?= build
PREFIX  ?= /usr/local
DESTDIR ?=
LIBDIR  ?= $(PREFIX)/lib
INCLUDEDIR   ?= $(PREFIX)/include
PKGCONFIGDIR ?= $(LIBDIR)/pkgconfig
OPT     ?= -O2
WERROR  ?= 0

# The version has one home, the header; the soname carries the major number.
version_part = $(shell sed -n 's/^\#define ADTAPE_VERSION_$(1) *\([0-9][0-9]*\).*/\1/p' include/adtape.h)
VERSION_MAJOR := $(call version_part,MAJOR)
VERSION       := $(VERSION_MAJOR).$(call version_part,MINOR).$(call version_part,PATCH)
SONAME        := libadtape.so.$(VERSION_MAJOR)

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

# Each object lists the headers it includes (-MMD), so a change rebuilds
# exactly what reads it; -MP keeps a deleted header from breaking the build.
# Internal headers are named by their room under src/ ("core/tape.h").
BASE_CFLAGS := -std=c11 $(OPT) $(VECT) -g -fPIC -fvisibility=hidden -D_POSIX_C_SOURCE=200809L \
               -MMD -MP -Iinclude -Isrc $(EXTRA_CFLAGS)
LIB_CFLAGS  := $(BASE_CFLAGS) $(WARN_LIB)
TEST_CFLAGS := -std=c11 $(OPT) -g -D_POSIX_C_SOURCE=200809L -MMD -MP -Iinclude -Isrc -I. \
               $(WARN_COMMON) $(EXTRA_CFLAGS)
LDLIBS      := -lm -lpthread

# src/ in rooms by role: core (tape, records, sweep, memory, drivers),
# kernels (GEMM, vector math, thread pool, CPU dispatch), io (files, graph
# export), nn (the MLP client); ops/ holds the tensor ops.
LIB_SRC  := $(wildcard src/core/*.c src/kernels/*.c src/io/*.c src/nn/*.c ops/*.c)
LIB_OBJ  := $(LIB_SRC:%.c=$(BUILD)/obj/%.o)
TEST_SRC := $(wildcard tests/test_*.c)
TEST_OBJ := $(TEST_SRC:%.c=$(BUILD)/obj/%.o)
EXAMPLES := $(patsubst examples/%.c,$(BUILD)/examples/%,$(filter-out examples/mpi_%,$(wildcard examples/*.c)))
BENCH_SRC := $(wildcard tests/bench/*.c)

STATIC := $(BUILD)/libadtape.a
SHARED := $(BUILD)/libadtape.so
SHARED_REAL := $(BUILD)/libadtape.so.$(VERSION)

.PHONY: all test demo examples sanitize bench bench-peers clean format format-check check-criterion check-tcc \
        install uninstall install-check check-symbols check-cxx check-strict-headers

all: $(STATIC) $(SHARED)

$(BUILD)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(LIB_CFLAGS) -c $< -o $@

# The vector math kernels promise values, not errno: with errno every sqrt
# keeps a libm call for negative arguments and its loop stays scalar.
$(BUILD)/obj/src/kernels/vmath.o $(BUILD)/obj/src/kernels/vmath_avx2.o \
$(BUILD)/obj/src/kernels/vmath_avx512.o: LIB_CFLAGS += -fno-math-errno

$(BUILD)/obj/tests/%.o: tests/%.c
	@mkdir -p $(dir $@)
	$(CC) $(TEST_CFLAGS) -c $< -o $@

-include $(LIB_OBJ:.o=.d) $(TEST_OBJ:.o=.d)

$(STATIC): $(LIB_OBJ)
	@mkdir -p $(dir $@)
	rm -f $@
	ar rcs $@ $^

# libadtape.so -> libadtape.so.MAJOR -> libadtape.so.MAJOR.MINOR.PATCH: the
# linker finds the first, programs record the soname, the file carries it.
$(SHARED_REAL): $(LIB_OBJ)
	$(CC) -shared -Wl,-soname,$(SONAME) $(EXTRA_LDFLAGS) -o $@ $^ $(LDLIBS)

$(SHARED): $(SHARED_REAL)
	ln -sf $(notdir $(SHARED_REAL)) $(BUILD)/$(SONAME)
	ln -sf $(SONAME) $@

# ---- tests: one Criterion binary over the static library

check-criterion:
	@sh tests/need_criterion.sh "$(CC)"

$(BUILD)/tests: $(TEST_OBJ) $(STATIC)
	$(CC) $(EXTRA_LDFLAGS) -o $@ $(TEST_OBJ) $(STATIC) -lcriterion $(LDLIBS)

test: check-criterion check-symbols check-cxx
	@sh tests/check_nn_includes.sh
	@sh tests/check_layers.sh
	@sh tests/check_manual.sh
	@sh tests/check_alloc.sh
	@$(MAKE) --no-print-directory $(BUILD)/tests
	$(BUILD)/tests $(TEST_ARGS)

# Only ad_ symbols leave the libraries (nm), every AD_API declaration is
# exported, and the soname is the one install links to.
check-symbols: $(STATIC) $(SHARED)
	sh tests/check_symbols.sh $(SHARED_REAL) $(STATIC) $(SONAME)

# The public headers include only stddef/stdint/stdbool (and <math.h> for
# compilers without GCC's math builtins), each other (adtape.h and the private
# adtape/inline.h it ends with), compile as C++11 with strict warnings, link
# and run. (check-strict-headers builds every inline op as C++ as well.)
CXX_HEADER_FLAGS := -std=c++11 -Wall -Wextra -Wpedantic -Wold-style-cast \
                    -Wzero-as-null-pointer-constant -Werror -Iinclude \
                    $(foreach h,$(filter-out include/adtape/mpi.h,$(wildcard include/adtape/*.h)),-include $(h))
$(BUILD)/cxx_header_check: tests/cxx_header_check.cpp $(STATIC) $(wildcard include/*.h include/adtape/*.h)
	$(CXX) $(CXX_HEADER_FLAGS) $(EXTRA_CFLAGS) $(EXTRA_LDFLAGS) -o $@ $< $(STATIC) $(LDLIBS)
check-cxx: $(BUILD)/cxx_header_check
	@! grep -n '^ *# *include' include/*.h $(filter-out include/adtape/mpi.h,$(wildcard include/adtape/*.h)) | \
	    grep -v -e '<stddef.h>' -e '<stdint.h>' -e '<stdbool.h>' -e '<math.h>' -e 'adtape\.h[">]' \
	        -e '"adtape/inline\.h"' || \
	    { echo "check-cxx: public headers may include only stddef/stdint/stdbool/math" >&2; exit 1; }
	$(BUILD)/cxx_header_check

# ---- the public headers under a user's strictest warnings (CI: .ci/run)
# tests/strict_headers.c includes every public header and calls every inline
# scalar op, so that each inline body is compiled under the user's flags. It
# must build without one warning, as errors, with gcc, clang -Weverything,
# g++ and clang++, at -O0 and -O2 (some warnings need the inlining), with and
# without NDEBUG; each build then runs and checks its values and gradients.
STRICT_GCC := -std=c11 -Wall -Wextra -Wpedantic -Wconversion -Wsign-conversion -Wshadow \
              -Wcast-align -Wcast-qual -Wstrict-prototypes -Wmissing-prototypes \
              -Wdouble-promotion -Wfloat-equal -Wundef -Wredundant-decls
# clang: every warning there is, less these style-only ones, each turned off
# only where the compiler knows it (clang 14, in CI, needs none of them):
#   unsafe-buffer-usage: clang 16+ flags every pointer subscript (C++'s "safe
#       buffers" model); C has no bounds-checked alternative to offer
STRICT_CLANG_OFF := unsafe-buffer-usage
STRICT_CLANG = -std=c11 -Weverything $(foreach w,$(STRICT_CLANG_OFF),$(shell clang -Werror \
               -Wno-$(w) -x c -c /dev/null -o /dev/null 2>/dev/null && echo -Wno-$(w)))
STRICT_CXX  := -std=c++11 -Wall -Wextra -Wpedantic -Wold-style-cast -Wzero-as-null-pointer-constant
check-strict-headers: $(STATIC)
	@mkdir -p $(BUILD)/strict
	@for c in "gcc $(STRICT_GCC)" "clang $(STRICT_CLANG)" "g++ -x c++ $(STRICT_CXX) -Wuseless-cast" \
	          "clang++ -x c++ $(STRICT_CXX)"; do \
	    for o in -O0 -O2; do for d in "" -DNDEBUG; do \
	        cc=$${c%% *}; exe=$(BUILD)/strict/$$cc$$o$$d; \
	        echo "$$cc ... $$o $$d tests/strict_headers.c"; \
	        $$c $$o $$d -Werror -Iinclude -c tests/strict_headers.c -o $$exe.o && \
	        $$cc -o $$exe $$exe.o $(STATIC) $(LDLIBS) && $$exe >/dev/null || \
	        { echo "check-strict-headers: failed: $$c $$o $$d" >&2; exit 1; }; \
	    done; done; \
	done
	@echo "check-strict-headers: no warning from the public headers, every build works"

# ---- install: headers, both libraries, the soname links and adtape.pc

HEADERS   := $(wildcard include/*.h)
HEADERS_SUB := $(filter-out include/adtape/mpi.h,$(wildcard include/adtape/*.h))
LDCONFIG  ?= ldconfig

# Generated at install time because it records where the files went.
$(BUILD)/adtape.pc: FORCE
	@mkdir -p $(dir $@)
	printf '%s\n' 'prefix=$(PREFIX)' 'libdir=$(LIBDIR)' 'includedir=$(INCLUDEDIR)' '' \
	    'Name: adtape' 'Description: Reverse-mode automatic differentiation in C11' \
	    'Version: $(VERSION)' 'Cflags: -I$${includedir}' 'Libs: -L$${libdir} -ladtape -lm' \
	    'Libs.private: -lpthread' > $@
FORCE:

install: $(STATIC) $(SHARED) $(BUILD)/adtape.pc
	install -d $(DESTDIR)$(INCLUDEDIR) $(DESTDIR)$(LIBDIR) $(DESTDIR)$(PKGCONFIGDIR)
	install -m 644 $(HEADERS) $(DESTDIR)$(INCLUDEDIR)/
	$(if $(HEADERS_SUB),install -d $(DESTDIR)$(INCLUDEDIR)/adtape)
	$(if $(HEADERS_SUB),install -m 644 $(HEADERS_SUB) $(DESTDIR)$(INCLUDEDIR)/adtape/)
	install -m 644 $(STATIC) $(DESTDIR)$(LIBDIR)/
	install -m 755 $(SHARED_REAL) $(DESTDIR)$(LIBDIR)/
	ln -sf $(notdir $(SHARED_REAL)) $(DESTDIR)$(LIBDIR)/$(SONAME)
	ln -sf $(SONAME) $(DESTDIR)$(LIBDIR)/libadtape.so
	install -m 644 $(BUILD)/adtape.pc $(DESTDIR)$(PKGCONFIGDIR)/
	@# refresh the loader's cache for a live install by root (not for packagers)
	@if [ -z "$(DESTDIR)" ] && [ "$$(id -u)" = 0 ] && command -v $(LDCONFIG) >/dev/null; then \
	    $(LDCONFIG); fi

uninstall:
	rm -f $(addprefix $(DESTDIR)$(INCLUDEDIR)/,$(notdir $(HEADERS)))
	rm -f $(addprefix $(DESTDIR)$(INCLUDEDIR)/adtape/,$(notdir $(HEADERS_SUB)))
	$(if $(HEADERS_SUB),rmdir $(DESTDIR)$(INCLUDEDIR)/adtape 2>/dev/null || true)
	rm -f $(DESTDIR)$(LIBDIR)/libadtape.a $(DESTDIR)$(LIBDIR)/libadtape.so \
	    $(DESTDIR)$(LIBDIR)/$(SONAME) $(DESTDIR)$(LIBDIR)/libadtape.so.$(VERSION)
	rm -f $(DESTDIR)$(PKGCONFIGDIR)/adtape.pc
	@if [ -z "$(DESTDIR)" ] && [ "$$(id -u)" = 0 ] && command -v $(LDCONFIG) >/dev/null; then \
	    $(LDCONFIG); fi

# Installs into a temporary prefix and builds a program outside the tree with
# pkg-config, dynamically and statically, with gcc and clang.
install-check: all
	sh tests/install_check.sh

SAN_FLAGS := -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all
sanitize: check-criterion
	@$(MAKE) --no-print-directory BUILD=build-san OPT=-O1 \
	    EXTRA_CFLAGS="$(SAN_FLAGS)" EXTRA_LDFLAGS="$(SAN_FLAGS)" test

# ---- the header's path for compilers without GCC's builtins
# tcc builds the deterministic examples against the gcc-built shared library;
# they must print exactly what the gcc builds print (inline arithmetic, the
# <math.h> path, and the slow-path calls across two compilers' ABIs).
TCC_EXAMPLES := gradient residual levenberg_marquardt
check-tcc: $(SHARED) $(TCC_EXAMPLES:%=$(BUILD)/examples/%)
	@command -v tcc >/dev/null || { echo "check-tcc: tcc is missing: apt-get install -y tcc" >&2; exit 1; }
	@for e in $(TCC_EXAMPLES); do \
	    tcc -Iinclude examples/$$e.c -L$(BUILD) -ladtape -lm -o $(BUILD)/tcc-$$e && \
	    LD_LIBRARY_PATH=$(BUILD) $(BUILD)/tcc-$$e > $(BUILD)/tcc-$$e.out && \
	    $(BUILD)/examples/$$e > $(BUILD)/gcc-$$e.out && \
	    cmp $(BUILD)/tcc-$$e.out $(BUILD)/gcc-$$e.out || { echo "check-tcc: $$e differs" >&2; exit 1; }; \
	    echo "check-tcc: $$e built by tcc prints what the gcc build prints"; \
	done

# ---- examples

$(BUILD)/examples/%: examples/%.c $(STATIC) $(wildcard include/*.h include/adtape/*.h)
	@mkdir -p $(dir $@)
	$(CC) $(filter-out -MMD -MP,$(TEST_CFLAGS)) -o $@ $< $(STATIC) $(LDLIBS)

examples: $(EXAMPLES)

demo: all examples
	@$(foreach e,$(DEMOS),echo "== $e" && $(BUILD)/examples/$e $(DEMO_ARGS_$e) &&) true

DEMOS ?= gradient residual xor spirals char_rnn custom_op ode_adjoint resnet_fashion
# Arguments per demo, DEMO_ARGS_<example>: a subset run where the full one takes minutes.
DEMO_ARGS_resnet_fashion ?= --limit 3000 --test-limit 1000 --epochs 3 --min-acc 0.5 \
                            --skip-missing --plot $(BUILD)/resnet_fashion.svg

# ---- benchmarks

$(BUILD)/bench: $(BENCH_SRC) $(STATIC)
	$(CC) $(filter-out -MMD -MP,$(TEST_CFLAGS)) $(VECT) -Itests/bench -o $@ $(BENCH_SRC) \
	    $(STATIC) $(LDLIBS)

bench-peers:
	bash tests/bench/peers.sh

bench: $(BUILD)/bench
	$(BUILD)/bench $(GROUPS)

# ---- housekeeping

FORMAT_SRC := $(wildcard include/*.h include/adtape/*.h src/*/*.[ch] ops/*.[ch] \
                tests/*.[ch] tests/bench/*.[ch] tests/fuzz/*.[ch] tests/mpi/*.[ch] tests/bench/mpi/*.[ch] \
                examples/*.c)
format:
	clang-format -i $(FORMAT_SRC)
format-check:
	clang-format --dry-run --Werror $(FORMAT_SRC)

clean:
	rm -rf build build-*

# ---- reliability: fuzzers, valgrind, ThreadSanitizer
# `make fuzz` builds the libFuzzer targets in tests/fuzz with clang (ASan +
# UBSan) into build-fuzz/ and runs each for FUZZ_SECONDS, starting from the
# committed seed corpus; new inputs go to build-fuzz/corpus_*, findings to
# build-fuzz/crash-*, and any finding fails the target. Needs clang and its
# fuzzer runtime (Debian: libclang-rt-14-dev), and zlib (zlib1g-dev), the
# oracle fuzz_gzip checks the library's own inflater against: the library
# itself never links it.

FUZZ_CC      ?= clang
FUZZ_SECONDS ?= 60
FUZZ_ARGS    ?=
FUZZ_SAN     := -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer
FUZZERS      := $(patsubst tests/fuzz/%.c,%,$(wildcard tests/fuzz/fuzz_*.c))

.PHONY: fuzz fuzz-build memcheck tsan

fuzz-build:
	@$(MAKE) --no-print-directory BUILD=build-fuzz CC=$(FUZZ_CC) OPT=-O1 \
	    EXTRA_CFLAGS="$(FUZZ_SAN) -fsanitize=fuzzer-no-link" build-fuzz/libadtape.a
	@for f in $(FUZZERS); do \
	    echo "$(FUZZ_CC) ... -o build-fuzz/$$f"; \
	    $(FUZZ_CC) -std=c11 -O1 -g $(FUZZ_SAN) -fsanitize=fuzzer -D_POSIX_C_SOURCE=200809L \
	        -Iinclude -Isrc -I. $(WARN_COMMON) tests/fuzz/$$f.c build-fuzz/libadtape.a $(LDLIBS) -lz \
	        -o build-fuzz/$$f || exit 1; \
	done

fuzz: fuzz-build
	@for f in $(FUZZERS); do \
	    c=$${f#fuzz_}; mkdir -p build-fuzz/corpus_$$c; \
	    echo "== $$f for $(FUZZ_SECONDS) s"; \
	    build-fuzz/$$f -max_total_time=$(FUZZ_SECONDS) -print_final_stats=1 \
	        -artifact_prefix=build-fuzz/$$f- $(FUZZ_ARGS) \
	        build-fuzz/corpus_$$c tests/fuzz/corpus_$$c || exit 1; \
	done

# `make memcheck`: the Criterion suite (one job; valgrind follows the worker
# each test runs in) and every example under valgrind memcheck (fashion_mnist
# for one epoch, which needs the dataset-fashion-mnist package, is skipped
# without it, and takes most of an hour under valgrind: MEMCHECK_SKIP=
# "fashion_mnist" leaves it out). Criterion
# does not pass a worker's valgrind exit code on, so each process writes a
# log and any log with errors (invalid accesses, or bytes definitely or
# indirectly lost) fails the target.
VALGRIND := valgrind --error-exitcode=99 --leak-check=full --show-leak-kinds=definite,indirect \
            --errors-for-leak-kinds=definite,indirect --trace-children=yes
MEMCHECK := $(BUILD)/memcheck
FASHION_DIR := /usr/share/datasets/fashion-mnist

# The vector-math accuracy tests (exact ulp bounds against libm) are left
# out: under valgrind 3.19 the f64 kernels' results come out up to 1024 ulp
# off (its emulation of the bit tricks), natively they are within 2 ulp.
# So is ad_tanh's ulp test: valgrind computes long double in double
# precision, so its reference is itself off by an ulp or two.
memcheck: check-criterion
	@$(MAKE) --no-print-directory $(BUILD)/tests examples
	@rm -rf $(MEMCHECK) && mkdir -p $(MEMCHECK)
	CRITERION_NO_EARLY_EXIT=1 $(VALGRIND) --log-file=$(MEMCHECK)/tests.%p.log \
	    $(BUILD)/tests --jobs 1 --filter '!(vmath/*_match*|scalar/tanh_value*)' $(TEST_ARGS)
	@for e in $(EXAMPLES); do \
	    n=$$(basename $$e); a=; \
	    case " $(MEMCHECK_SKIP) " in *" $$n "*) echo "== skipped $$n"; continue;; esac; \
	    case $$n in fashion_mnist) a="--epochs 1 --limit 2000 --quiet"; \
	        if ! ls $(FASHION_DIR)/train-images-idx3-ubyte* >/dev/null 2>&1; then \
	            echo "== skipped $$n: no data set in $(FASHION_DIR)"; continue; fi;; \
	        resnet_fashion) a="--epochs 1 --limit 32 --test-limit 32 --batch 16 \
	            --skip-missing --plot $(MEMCHECK)/resnet_fashion.svg";; esac; \
	    echo "== valgrind $$e $$a"; \
	    $(VALGRIND) --log-file=$(MEMCHECK)/$$n.%p.log $$e $$a >/dev/null || exit 1; \
	done
	@if grep -l "ERROR SUMMARY: [1-9]" $(MEMCHECK)/*.log; then \
	    echo "memcheck: the logs above report errors"; exit 1; fi
	@echo "memcheck: clean, $$(ls $(MEMCHECK) | wc -l) processes checked"

# `make tsan`: tests/test_threads.c (tapes on several threads, the kernel
# thread pool shared between them) against a ThreadSanitizer build of the
# library. Criterion's sandbox cannot start under TSan, so the test file is
# built against a small stand-in (tests/tsan) that runs each test in a
# process it forks. Any report stops it (halt_on_error) and leaves a log;
# either fails the target.
TSAN_FLAGS := -fsanitize=thread -fno-omit-frame-pointer
TSAN_CFLAGS = -std=c11 -O1 -g $(TSAN_FLAGS) -D_POSIX_C_SOURCE=200809L -Itests/tsan -Iinclude \
              -Isrc -I. $(WARN_COMMON)

tsan:
	@$(MAKE) --no-print-directory BUILD=build-tsan OPT=-O1 EXTRA_CFLAGS="$(TSAN_FLAGS)" \
	    build-tsan/libadtape.a
	$(CC) $(TSAN_CFLAGS) -o build-tsan/test_threads tests/test_threads.c tests/tsan/main.c \
	    build-tsan/libadtape.a $(LDLIBS)
	@rm -f build-tsan/tsan.*
	TSAN_OPTIONS="halt_on_error=1 second_deadlock_stack=1 log_path=$(CURDIR)/build-tsan/tsan" \
	    build-tsan/test_threads
	@if ls build-tsan/tsan.* >/dev/null 2>&1; then cat build-tsan/tsan.*; exit 1; fi
	@echo "tsan: no data races reported"

# ---- MPI (optional): `make MPI=1` adds build/libadtape_mpi.{a,so} from
# src/mpi/ (include/adtape/mpi.h), built with the flags of Open MPI's
# pkg-config file (or mpicc's); `make MPI=1 test-mpi` runs tests/mpi under
# mpirun on 2 ranks of this machine (shared memory / loopback, oversubscribed
# so a 1-core machine works too); `make MPI=1 install` adds the library, the
# header and adtape-mpi.pc. The plain build never needs MPI.
MPI     ?= 0
MPI_PC  ?= mpi-c
MPIRUN  ?= mpirun
MPI_NP  ?= 2
# root may run mpirun only when asked to (CI containers run as root)
MPIRUN_FLAGS ?= --oversubscribe --mca btl self,vader $(if $(filter 0,$(shell id -u)),--allow-run-as-root)
MPI_SONAME := libadtape_mpi.so.$(VERSION_MAJOR)
MPI_STATIC := $(BUILD)/libadtape_mpi.a
MPI_SHARED := $(BUILD)/libadtape_mpi.so
MPI_SHARED_REAL := $(BUILD)/libadtape_mpi.so.$(VERSION)
MPI_SRC := $(wildcard src/mpi/*.c)
MPI_OBJ := $(MPI_SRC:%.c=$(BUILD)/obj/%.o)
MPI_TEST_SRC := $(wildcard tests/mpi/*.c)

.PHONY: test-mpi check-mpi bench-mpi

ifeq ($(MPI),1)
MPI_CFLAGS := $(shell pkg-config --cflags $(MPI_PC) 2>/dev/null || mpicc --showme:compile)
MPI_LIBS   := $(shell pkg-config --libs $(MPI_PC) 2>/dev/null || mpicc --showme:link)
all: $(MPI_STATIC) $(MPI_SHARED)
$(MPI_OBJ): LIB_CFLAGS += $(MPI_CFLAGS)
-include $(MPI_OBJ:.o=.d)

$(MPI_STATIC): $(MPI_OBJ)
	rm -f $@
	ar rcs $@ $^
$(MPI_SHARED_REAL): $(MPI_OBJ) $(SHARED)
	$(CC) -shared -Wl,-soname,$(MPI_SONAME) $(EXTRA_LDFLAGS) -o $@ $(MPI_OBJ) -L$(BUILD) -ladtape \
	    $(MPI_LIBS) $(LDLIBS)
$(MPI_SHARED): $(MPI_SHARED_REAL)
	ln -sf $(notdir $(MPI_SHARED_REAL)) $(BUILD)/$(MPI_SONAME)
	ln -sf $(MPI_SONAME) $@

$(BUILD)/tests_mpi: $(MPI_TEST_SRC) $(wildcard tests/mpi/*.h) $(MPI_STATIC) $(STATIC)
	$(CC) $(filter-out -MMD -MP,$(TEST_CFLAGS)) $(MPI_CFLAGS) -o $@ $(MPI_TEST_SRC) $(MPI_STATIC) \
	    $(STATIC) $(MPI_LIBS) $(LDLIBS)

# The libraries export only ad_ names; the MPI library's every AD_API too.
check-mpi: $(MPI_STATIC) $(MPI_SHARED)
	@sh tests/check_symbols.sh $(MPI_SHARED_REAL) $(MPI_STATIC) $(MPI_SONAME) include/adtape/mpi.h

test-mpi: check-mpi $(BUILD)/tests_mpi
	$(MPIRUN) $(MPIRUN_FLAGS) -np $(MPI_NP) $(BUILD)/tests_mpi $(TEST_ARGS)
	$(MPIRUN) $(MPIRUN_FLAGS) -np 3 $(BUILD)/tests_mpi --filter uneven $(TEST_ARGS)

$(BUILD)/adtape-mpi.pc: FORCE
	@mkdir -p $(dir $@)
	printf '%s\n' 'prefix=$(PREFIX)' 'libdir=$(LIBDIR)' 'includedir=$(INCLUDEDIR)' '' \
	    'Name: adtape-mpi' 'Description: adtape data-parallel training over MPI' \
	    'Version: $(VERSION)' 'Requires: adtape $(MPI_PC)' 'Cflags: -I$${includedir}' \
	    'Libs: -L$${libdir} -ladtape_mpi' > $@

install: install-mpi
.PHONY: install-mpi
install-mpi: $(MPI_STATIC) $(MPI_SHARED) $(BUILD)/adtape-mpi.pc
	install -d $(DESTDIR)$(INCLUDEDIR)/adtape $(DESTDIR)$(LIBDIR) $(DESTDIR)$(PKGCONFIGDIR)
	install -m 644 include/adtape/mpi.h $(DESTDIR)$(INCLUDEDIR)/adtape/
	install -m 644 $(MPI_STATIC) $(DESTDIR)$(LIBDIR)/
	install -m 755 $(MPI_SHARED_REAL) $(DESTDIR)$(LIBDIR)/
	ln -sf $(notdir $(MPI_SHARED_REAL)) $(DESTDIR)$(LIBDIR)/$(MPI_SONAME)
	ln -sf $(MPI_SONAME) $(DESTDIR)$(LIBDIR)/libadtape_mpi.so
	install -m 644 $(BUILD)/adtape-mpi.pc $(DESTDIR)$(PKGCONFIGDIR)/

$(BUILD)/examples/mpi_%: examples/mpi_%.c $(MPI_STATIC) $(STATIC) $(wildcard include/*.h include/adtape/*.h)
	@mkdir -p $(dir $@)
	$(CC) $(filter-out -MMD -MP,$(TEST_CFLAGS)) $(MPI_CFLAGS) -o $@ $< $(MPI_STATIC) $(STATIC) \
	    $(MPI_LIBS) $(LDLIBS)
examples: $(patsubst examples/%.c,$(BUILD)/examples/%,$(wildcard examples/mpi_*.c))

$(BUILD)/bench_mpi: tests/bench/mpi/bench_mpi.c $(MPI_STATIC) $(STATIC)
	$(CC) $(filter-out -MMD -MP,$(TEST_CFLAGS)) $(MPI_CFLAGS) -o $@ $< $(MPI_STATIC) $(STATIC) \
	    $(MPI_LIBS) $(LDLIBS)
bench-mpi: $(BUILD)/bench_mpi
	sh tests/bench/mpi/bench_mpi.sh $(BUILD) "$(MPIRUN) $(MPIRUN_FLAGS)"
else
test-mpi check-mpi bench-mpi:
	@echo "$@: build with MPI=1 (needs Open MPI: apt-get install -y openmpi-bin libopenmpi-dev)" >&2
	@exit 1
endif

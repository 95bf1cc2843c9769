# sluice: a plain Makefile. Targets:
#   make            build build/sluice
#   make deps       install missing Debian packages (idempotent, fast when done)
#   make demo       deps + build + run the quickstart and bronze-lake examples, show their output
#   make test       unit tests, end-to-end tests, sanitizer run, fuzz corpora replay
#   make bench      benchmarks against peers (bench/)
#   make fuzz       run the libFuzzer targets for a while (FUZZ_SECONDS)
#   make SANITIZE=address,undefined   build with sanitizers into build/san
#   make format     clang-format the sources

CC ?= cc
PKGS := yaml-0.1 sqlite3 zlib libcrypto libxxhash snappy libzstd libcurl libpq libmicrohttpd
PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS := $(shell pkg-config --libs $(PKGS) 2>/dev/null)

# A build on a machine without the libraries stops with one line naming the
# Debian packages, instead of a compiler error about a missing header. The
# goals that install them first (deps, demo, test, bench) skip the check.
DEB_yaml-0.1 := libyaml-dev
DEB_sqlite3 := libsqlite3-dev
DEB_zlib := zlib1g-dev
DEB_libcrypto := libssl-dev
DEB_libxxhash := libxxhash-dev
DEB_snappy := libsnappy-dev
DEB_libzstd := libzstd-dev
DEB_libcurl := libcurl4-openssl-dev
DEB_libpq := libpq-dev
DEB_libmicrohttpd := libmicrohttpd-dev
ifeq ($(filter deps demo test bench clean format,$(MAKECMDGOALS)),)
ifeq ($(PKG_LIBS),)
MISSING_DEBS := $(shell command -v pkg-config >/dev/null 2>&1 || echo pkg-config) \
    $(foreach p,$(PKGS),$(if $(shell pkg-config --exists $(p) 2>/dev/null && echo y),,$(DEB_$(p))))
MISSING_DEBS += $(shell command -v $(CC) >/dev/null 2>&1 || echo build-essential)
$(error missing packages: $(strip $(MISSING_DEBS)); run "make deps" to install them)
endif
ifneq ($(filter fuzz fuzz-build fuzz-replay fuzz-merge build/fuzz/%,$(MAKECMDGOALS)),)
ifeq ($(shell command -v clang),)
$(error missing packages: clang libclang-rt-14-dev (libFuzzer); run "make deps" to install them)
endif
endif
endif

WARN := -Wall -Wextra -Wshadow -Wstrict-prototypes -Wmissing-prototypes -Wno-unused-parameter
ifeq ($(CI),true)
WARN += -Werror
endif
OPT ?= -O2 -g
CFLAGS_ALL = -std=c11 -D_GNU_SOURCE $(OPT) $(WARN) -Iinclude -Itests/unit $(PKG_CFLAGS) $(CFLAGS)
LDLIBS_ALL = $(PKG_LIBS) -lpthread -lm $(LDLIBS)

ifneq ($(SANITIZE),)
BUILD ?= build/san
CFLAGS_ALL += -fsanitize=$(SANITIZE) -fno-omit-frame-pointer -fno-sanitize-recover=all
LDFLAGS += -fsanitize=$(SANITIZE)
else
BUILD ?= build
endif

SRCS := $(sort $(wildcard src/*/*.c src/plugins/*/*.c src/plugins/*.c))
LIB_SRCS := $(filter-out src/main.c,$(SRCS))
LIB_OBJS := $(LIB_SRCS:%.c=$(BUILD)/obj/%.o)
MAIN_OBJ := $(BUILD)/obj/src/main.o
UNIT_SRCS := $(sort $(wildcard tests/unit/*/*.c))
UNIT_OBJS := $(UNIT_SRCS:%.c=$(BUILD)/obj/%.o) $(BUILD)/obj/tests/unit/runner.o \
             $(BUILD)/obj/gen/test_table.o
FUZZ_SRCS := $(sort $(wildcard tests/fuzz/fuzz_*.c))
FUZZ_BINS := $(FUZZ_SRCS:tests/fuzz/%.c=build/fuzz/%)

.PHONY: all deps demo test unit e2e fuzz-build fuzz-replay fuzz fuzz-merge bench format clean
all: $(BUILD)/sluice

$(BUILD)/sluice: $(LIB_OBJS) $(MAIN_OBJ)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS_ALL)

$(BUILD)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_ALL) -MMD -MP -c -o $@ $<

$(BUILD)/gen/test_table.c: $(UNIT_SRCS) tests/unit/gen_table.sh
	@mkdir -p $(dir $@)
	sh tests/unit/gen_table.sh $(UNIT_SRCS) > $@

$(BUILD)/obj/gen/test_table.o: $(BUILD)/gen/test_table.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_ALL) -c -o $@ $<

$(BUILD)/unit-tests: $(LIB_OBJS) $(UNIT_OBJS)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS_ALL)

deps:
	@sh scripts/deps.sh

demo: deps
	@$(MAKE) --no-print-directory all
	@sh examples/quickstart/demo.sh
	@echo
	@sh examples/bronze-lake/demo.sh

# The one test command (README, .ci/run): everything, then one summary line.
test: deps
	@sh scripts/npm-deps.sh
	@sh tests/run_all.sh

unit: $(BUILD)/unit-tests
	$(BUILD)/unit-tests $(T)

e2e: $(BUILD)/sluice
	sh tests/e2e/run.sh $(T)

# Fuzz targets need clang's libFuzzer; objects are built separately.
FUZZ_CFLAGS = -std=c11 -D_GNU_SOURCE -O1 -g -Iinclude $(PKG_CFLAGS) \
              -fsanitize=fuzzer-no-link,address,undefined -fno-sanitize-recover=all \
              -fno-omit-frame-pointer
FUZZ_LIB_OBJS := $(LIB_SRCS:%.c=build/fuzz/obj/%.o)
build/fuzz/obj/%.o: %.c
	@mkdir -p $(dir $@)
	clang $(FUZZ_CFLAGS) -MMD -MP -c -o $@ $<
build/fuzz/%: tests/fuzz/%.c $(FUZZ_LIB_OBJS)
	@mkdir -p $(dir $@)
	clang $(FUZZ_CFLAGS) -fsanitize=fuzzer -o $@ $^ $(LDLIBS_ALL)

# Keep the fuzz objects: they are not intermediate files to delete.
.SECONDARY: $(FUZZ_LIB_OBJS)
fuzz-build: $(FUZZ_BINS)
# Replays each target's corpus once (part of make test).
fuzz-replay: $(FUZZ_BINS)
	@sh tests/fuzz/replay.sh $(FUZZ_BINS)
# Any sanitizer report stops the run like a crash (the objects are also
# built with -fno-sanitize-recover). FUZZ_TARGETS picks targets by name.
FUZZ_SECONDS ?= 60
FUZZ_TARGETS ?= $(FUZZ_BINS:build/fuzz/fuzz_%=%)
FUZZ_ENV := ASAN_OPTIONS=halt_on_error=1:abort_on_error=1 \
            UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1
fuzz: $(FUZZ_BINS)
	@for n in $(FUZZ_TARGETS); do b=build/fuzz/fuzz_$$n; mkdir -p build/fuzz/new/$$n; \
	  echo "== $$n ($(FUZZ_SECONDS)s)"; \
	  $(FUZZ_ENV) $$b -max_total_time=$(FUZZ_SECONDS) -max_len=65536 \
	    build/fuzz/new/$$n tests/fuzz/corpus/$$n || exit 1; done
# Adds to tests/fuzz/corpus the inputs found by make fuzz that raise coverage.
fuzz-merge: $(FUZZ_BINS)
	@for n in $(FUZZ_TARGETS); do [ -d build/fuzz/new/$$n ] || continue; \
	  $(FUZZ_ENV) build/fuzz/fuzz_$$n -merge=1 tests/fuzz/corpus/$$n build/fuzz/new/$$n \
	    2>&1 | grep -E '^MERGE-OUTER: [0-9]+ new files' | sed "s/^/$$n: /"; done

bench: deps all
	@sh bench/run.sh; a=$$?; sh bench/map.sh; b=$$?; sh bench/serve.sh; c=$$?; \
	  [ $$a = 0 ] && [ $$b = 0 ] && [ $$c = 0 ]

format:
	clang-format -i $$(git ls-files '*.c' '*.h')

clean:
	rm -rf build

-include $(shell find build -name '*.d' 2>/dev/null)

# swarm: build, test, install. See README.md.
#
#   make deps      install the build dependencies with apt (Debian 12)
#   make           build ./swarm (release, -O2 -g)
#   make test      run every unit and CLI test; last line "N passed, N failed"
#   make test-e2e  end-to-end tests with real clients (node, npm)
#   make asan      build with AddressSanitizer + UBSan and run the same tests
#   make check     static checks that exist on this machine
#   make bench     benchmarks (never part of make test)
#   make fuzz      libFuzzer targets (clang) for FUZZ_SECONDS each (60)
#   make fuzz-check  the same for 10 s each (CI)
#   make install   PREFIX=/usr/local DESTDIR=

# Build on every core unless a -j is given.
ifeq ($(filter -j%,$(MAKEFLAGS)),)
MAKEFLAGS += -j$(shell nproc 2>/dev/null || echo 1)
endif

PREFIX	?= /usr/local
BINDIR	?= $(PREFIX)/bin
MANDIR	?= $(PREFIX)/share/man
DATADIR	?= $(PREFIX)/share

BUILD	?= build
CC	?= cc
OPT	?= -O2
CFLAGS	?= $(OPT) -g
SAN	?=
WARN	= -Wall -Wextra -Wno-unused-parameter -Wshadow -Wstrict-prototypes \
	  -Wmissing-prototypes -Wpointer-arith
ALL_CFLAGS = -std=gnu11 $(WARN) $(CFLAGS) $(SAN) -pthread -Isrc -Icmd \
	  -D_GNU_SOURCE $(PKG_CFLAGS)

# Libraries: the core needs only libc, libm and PCRE2; the rest is for cmd/,
# net/, conf/ and ui/.
PKGS	= yaml-0.1 jansson libcurl ncursesw readline libpcre2-8 libsodium sqlite3 \
	  libmicrohttpd opendht-c opendht libcrypto
PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS   := $(shell pkg-config --libs $(PKGS) 2>/dev/null)
CORE_LIBS  = $(shell pkg-config --libs libpcre2-8 2>/dev/null) -lm -pthread
LIBS	= $(PKG_LIBS) -lstdc++ -lm -pthread

DEPS_APT = build-essential pkg-config libyaml-dev libjansson-dev \
	   libcurl4-openssl-dev libncurses-dev libreadline-dev libpcre2-dev \
	   libsodium-dev libsqlite3-dev libmicrohttpd-dev libopendht-c-dev libssl-dev \
	   libopendht-dev man-db bash-completion zsh fish python3 \
	   python3-cryptography clang libclang-rt-dev tmux lighttpd \
	   iproute2

# Files named *-avx2.c / *-avx512.c hold the SIMD fast paths; they are the
# only ones built with those instruction sets, and are called only after a
# run-time CPUID check, so the binary runs on any x86-64.
AVX2_FLAGS   = -mavx2 -mfma -mf16c
AVX512_FLAGS = -mavx2 -mfma -mf16c -mavx512f -mavx512bw -mavx512dq -mavx512vl \
	       -mavx512vnni -mavx512bf16

LIB_SRC	= $(sort $(wildcard src/*/*.c))
# The one C++ file: a shim over OpenDHT's C++ API (src/net/dht-bind.cpp).
LIB_CXX	= $(sort $(wildcard src/*/*.cpp))
CORE_SRC= $(sort $(wildcard src/util/*.c src/core/*.c))
CMD_SRC	= $(sort $(wildcard cmd/*.c))
LIB_OBJ	= $(LIB_SRC:%.c=$(BUILD)/%.o) $(LIB_CXX:%.cpp=$(BUILD)/%.o)
CMD_OBJ	= $(CMD_SRC:%.c=$(BUILD)/%.o)
UNIT_SRC= $(sort $(wildcard tests/unit/test-*.c))
UNIT_BIN= $(UNIT_SRC:tests/unit/%.c=$(BUILD)/tests/%)
BENCH_SRC = $(sort $(wildcard bench/*.c))
BENCH_BIN = $(BENCH_SRC:bench/%.c=$(BUILD)/bench/%)

ifeq ($(BUILD),build)
SWARM	= swarm
else
SWARM	= $(BUILD)/swarm
endif

.PHONY: all deps test test-e2e unit asan check bench install uninstall clean
all: $(SWARM)

deps:
	@if [ "$$(id -u)" = 0 ]; then s=; else s=sudo; fi; \
	lock="-o DPkg::Lock::Timeout=600"; \
	$$s apt-get $$lock update && $$s apt-get $$lock install -y $(DEPS_APT)

$(BUILD)/%.o: %.c
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) $(if $(findstring -avx512,$*),$(AVX512_FLAGS),$(if $(findstring -avx2,$*),$(AVX2_FLAGS))) -MMD -MP -c $< -o $@

$(BUILD)/%.o: %.cpp
	@mkdir -p $(@D)
	$(CXX) -std=gnu++17 -Wall -Wextra $(CFLAGS) $(SAN) -pthread -Isrc \
	    $(PKG_CFLAGS) -MMD -MP -c $< -o $@

$(BUILD)/libswarm.a: $(LIB_OBJ)
	@rm -f $@
	$(AR) rcs $@ $^

$(SWARM): $(CMD_OBJ) $(BUILD)/libswarm.a
	$(CC) $(ALL_CFLAGS) -o $@ $(CMD_OBJ) $(BUILD)/libswarm.a $(LIBS)

# Unit tests link only libswarm.a plus the libraries they need; the core
# tests need nothing beyond libc, libm and PCRE2.
$(BUILD)/tests/%: tests/unit/%.c tests/unit/test.h tests/unit/test-net.h $(BUILD)/libswarm.a
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) -Itests/unit -o $@ $< $(BUILD)/libswarm.a $(LIBS)

$(BUILD)/bench/%: bench/%.c bench/read-pass.h $(BUILD)/libswarm.a
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) -o $@ $< $(BUILD)/libswarm.a $(LIBS)

# The network lab's relay (tests/cli/netlab.sh) and the model generator are
# tools of the tests too.
test: $(SWARM) $(UNIT_BIN) $(BUILD)/bench/delay-relay $(BUILD)/bench/gen-model
	@SWARM_BIN=$(abspath $(SWARM)) BUILD=$(BUILD) sh tests/run-tests.sh

# End-to-end tests with real clients (need node and the npm registry).
test-e2e: $(SWARM)
	@SWARM_BIN=$(abspath $(SWARM)) sh tests/e2e/run-e2e.sh

asan:
	$(MAKE) BUILD=build-asan OPT=-O1 \
	    SAN="-fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined" test

check:
	@sh tests/check.sh

bench: $(SWARM) $(BENCH_BIN)
	@SWARM_BIN=$(abspath $(SWARM)) BUILD=$(BUILD) sh bench/run-bench.sh

install: $(SWARM)
	install -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(MANDIR)/man1 \
	    $(DESTDIR)$(DATADIR)/bash-completion/completions \
	    $(DESTDIR)$(DATADIR)/zsh/vendor-completions \
	    $(DESTDIR)$(DATADIR)/fish/vendor_completions.d
	install -m 755 $(SWARM) $(DESTDIR)$(BINDIR)/swarm
	install -m 644 man/*.1 $(DESTDIR)$(MANDIR)/man1/
	install -m 644 completions/swarm.bash \
	    $(DESTDIR)$(DATADIR)/bash-completion/completions/swarm
	install -m 644 completions/_swarm $(DESTDIR)$(DATADIR)/zsh/vendor-completions/_swarm
	install -m 644 completions/swarm.fish \
	    $(DESTDIR)$(DATADIR)/fish/vendor_completions.d/swarm.fish

uninstall:
	rm -f $(DESTDIR)$(BINDIR)/swarm $(DESTDIR)$(MANDIR)/man1/swarm*.1 \
	    $(DESTDIR)$(DATADIR)/bash-completion/completions/swarm \
	    $(DESTDIR)$(DATADIR)/zsh/vendor-completions/_swarm \
	    $(DESTDIR)$(DATADIR)/fish/vendor_completions.d/swarm.fish

clean:
	rm -rf build build-asan build-fuzz swarm

# Fuzzing. Each tests/fuzz/fuzz-NAME.c is a libFuzzer target, built with
# clang into build-fuzz/ (the library too, with coverage and sanitizers) and
# run for FUZZ_SECONDS from its seeds in tests/fuzz/corpus/NAME/; what it
# learns goes to build-fuzz/corpus/NAME/, a crash to build-fuzz/crashes/;
# FUZZ_ARGS adds libFuzzer options (FUZZ_ARGS=-runs=10000000 FUZZ_SECONDS=0).
# The same targets, linked with tests/fuzz/driver.c by the normal compiler,
# run every seed in `make test`: a crash input kept there stays a test.
FUZZ_SECONDS ?= 60
FUZZ_SRC  = $(sort $(wildcard tests/fuzz/fuzz-*.c))
FUZZ_NAMES= $(FUZZ_SRC:tests/fuzz/fuzz-%.c=%)
FUZZ_SAN  = -fsanitize=address,undefined -fno-sanitize-recover=undefined \
	    -fno-omit-frame-pointer

.PHONY: fuzz fuzz-check fuzz-build fuzz-targets
test: $(FUZZ_SRC:tests/fuzz/fuzz-%.c=$(BUILD)/tests/test-fuzz-%)

$(BUILD)/tests/test-fuzz-%: tests/fuzz/fuzz-%.c tests/fuzz/driver.c \
    tests/fuzz/fuzz.h $(BUILD)/libswarm.a $(BUILD)/fuzz-seeds/gguf.done
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) -Itests/fuzz -DFUZZ_NAME='"$*"' \
	    -DFUZZ_SEEDS='"$(BUILD)/fuzz-seeds/$*"' -o $@ $< \
	    tests/fuzz/driver.c $(BUILD)/libswarm.a $(LIBS)

# The GGUF seeds are written by the project's own GGUF writer at build
# time (model files are not kept in the repository).
$(BUILD)/fuzz-seeds/gguf.done: tests/fuzz/gen-gguf-seeds.c $(BUILD)/libswarm.a
	@mkdir -p $(BUILD)/fuzz-seeds/gguf
	$(CC) $(ALL_CFLAGS) -o $(BUILD)/fuzz-seeds/gen-gguf-seeds $< \
	    $(BUILD)/libswarm.a $(LIBS)
	$(BUILD)/fuzz-seeds/gen-gguf-seeds $(BUILD)/fuzz-seeds/gguf
	@touch $@

fuzz-build:
	$(MAKE) BUILD=build-fuzz CC=clang CXX=clang++ OPT=-O1 \
	    SAN="$(FUZZ_SAN) -fsanitize=fuzzer-no-link" fuzz-targets

fuzz-targets: $(FUZZ_NAMES:%=$(BUILD)/fuzz/fuzz-%) $(BUILD)/fuzz-seeds/gguf.done

$(BUILD)/fuzz/fuzz-%: tests/fuzz/fuzz-%.c tests/fuzz/fuzz.h $(BUILD)/libswarm.a
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) -fsanitize=fuzzer -Itests/fuzz -o $@ $< \
	    $(BUILD)/libswarm.a $(LIBS)

fuzz: fuzz-build
	@FUZZ_ARGS="$(FUZZ_ARGS)" sh tests/fuzz/run-fuzz.sh build-fuzz \
	    $(FUZZ_SECONDS) $(FUZZ_NAMES)

fuzz-check:
	@$(MAKE) fuzz FUZZ_SECONDS=10

-include $(LIB_OBJ:.o=.d) $(CMD_OBJ:.o=.d)

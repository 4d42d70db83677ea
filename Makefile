# mlschat: libmls (RFC 9420 in C), the chat server and the terminal client.
#
#   make                 build everything (installs missing Debian packages)
#   make check           build and run every test (unit, vectors, integration)
#   make check SANITIZE=1  the same tests under ASan+UBSan
#   make vectors [VECTORS=DIR]  run the official RFC 9420 test vectors
#   make valgrind        the vector runner and unit tests under valgrind
#   make fuzz            libFuzzer harnesses (clang), FUZZ_SECONDS each
#   make fuzz-regress    replay tests/fuzz/regressions/ through the harnesses
#                        (gcc build, no libFuzzer; part of check)
#   make mlstool-check   mlstool over messages.json, welcome.json (--bundle) (part of check)
#   make bench-mls       group engine benchmark [SIZES="10 100" SUITES="0x0001 0x0003" FULL_SIZES="10 100"]
#   make bench-server    server load benchmark [BENCH_ARGS="--runs 5 --seconds 5"]
#   make bench-catchup   client catch-up against the verification floor [CATCHUP_N=100000]
#   make bench           bench-mls and bench-server, results and plots in build/bench/
#   make bench-stores    the Python load benchmark on SQLite and PostgreSQL (1 and 2
#                        processes) [STORES_ARGS="--clients 50 --runs 5"]
#   make install PREFIX=/usr/local [DESTDIR=]  headers, libmls.so/.a, libmls.pc
#   make install-check   install into a temporary prefix, build examples/ against it

CC ?= cc
VECTORS ?= ../shared/mls-vectors
SANITIZE ?=

WARN = -Wall -Wextra -Werror -Wshadow -Wpointer-arith -Wstrict-prototypes \
       -Wmissing-prototypes -Wformat=2 -Wvla
CFLAGS ?= -O2 -g
CFLAGS += -std=c11 $(WARN) -D_POSIX_C_SOURCE=200809L -D_DEFAULT_SOURCE -Iinclude

# Library flags come from pkg-config (recursively expanded: the packages are
# installed by scripts/deps.sh before the first link runs).
PKG_CONFIG ?= pkg-config
LDLIBS_CRYPTO = $(shell $(PKG_CONFIG) --libs libcrypto)
LDLIBS_SERVER = $(shell $(PKG_CONFIG) --libs libwebsockets jansson sqlite3 libpq) -lev $(LDLIBS_CRYPTO) -pthread
LDLIBS_CLIENT = $(shell $(PKG_CONFIG) --libs libwebsockets jansson sqlite3 ncursesw) $(LDLIBS_CRYPTO)
LDLIBS_JANSSON = $(shell $(PKG_CONFIG) --libs jansson)

# The library's version; the soname changes with the major number.
MLS_VERSION = 0.1.0
MLS_SOVERSION = 0
PREFIX ?= /usr/local
DESTDIR ?=

ifeq ($(SANITIZE),1)
B = build/san
CFLAGS += -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all
LDFLAGS += -fsanitize=address,undefined
else
B = build/rel
endif

# libFuzzer builds (make fuzz): clang, the library instrumented for coverage
# and ASan+UBSan, in their own build directory.
ifeq ($(FUZZ),1)
B = build/fuzz
CC = clang
CFLAGS += -fsanitize=fuzzer-no-link,address,undefined -fno-omit-frame-pointer \
          -fno-sanitize-recover=all
endif
FUZZ_SECONDS ?= 60
FUZZ_SRC = $(wildcard tests/fuzz/fuzz_*.c)
FUZZ_NAMES = $(FUZZ_SRC:tests/fuzz/%.c=%)
FUZZ_BIN = $(FUZZ_NAMES:%=build/fuzz/bin/%)
# The same harnesses built normally with tests/fuzz/driver.c as main():
# they replay input files (make fuzz-regress), no clang needed.
ifneq ($(FUZZ),1)
FUZZ_REPLAY = $(FUZZ_NAMES:%=$(B)/bin/%)
endif

DEPS_STAMP = build/.deps-ok

LIB_SRC = $(wildcard lib/*.c)
LIB_OBJ = $(LIB_SRC:%.c=$(B)/%.o)
LIB = $(B)/libmls.a
SO_REAL = $(B)/libmls.so.$(MLS_VERSION)
SO_NAME = libmls.so.$(MLS_SOVERSION)
SO = $(B)/libmls.so
# Library objects serve both libmls.a and libmls.so: position independent,
# and only the declarations marked MLS_API (include/mls/mls.h) exported.
# lib/ and the unit tests, vector runner, fuzz harnesses and benchmark
# (which test internals) see the internal headers; the programs do not.
$(B)/lib/%.o: CFLAGS += -fPIC -fvisibility=hidden -Ilib
$(B)/tests/%.o: CFLAGS += -Ilib
$(B)/bench/%.o: CFLAGS += -Ilib

UNIT_SRC = $(wildcard tests/unit/test_*.c)
UNIT_BIN = $(UNIT_SRC:tests/unit/%.c=$(B)/bin/%)

VEC_SRC = $(wildcard tests/vectors/*.c)
VEC_OBJ = $(VEC_SRC:%.c=$(B)/%.o)
VEC_BIN = $(B)/bin/vectors

BENCH_BIN = $(B)/bin/bench_mls
# The server benchmark's own programs (bench/): the C load generator, the
# raw SQLite floor and the minimal non-durable relay (make bench-server).
SRV_BENCH_BIN = $(B)/bin/loadgen $(B)/bin/sqlite_floor $(B)/bin/relay
# tests/tools/mlsforge.c: MLS objects crafted through libmls for the
# governance acceptance tests (tests/integration/test_governance.py).
FORGE_BIN = $(B)/bin/mlsforge
EXAMPLE_BIN = $(B)/bin/example
SIZES ?= 10 100 1000 10000

# Sources live in src/server/ because ./server is the program (seed interface).
# src/common/ holds what both programs use; it is linked into each
# (json_plain.c, which needs jansson, into the server and the client).
COMMON_SRC = $(filter-out src/common/json_plain.c,$(wildcard src/common/*.c))
COMMON_OBJ = $(COMMON_SRC:%.c=$(B)/%.o)
JSON_OBJ = $(B)/src/common/json_plain.o
SERVER_SRC = $(wildcard src/server/*.c)
SERVER_OBJ = $(SERVER_SRC:%.c=$(B)/%.o) $(COMMON_OBJ) $(JSON_OBJ)
CLIENT_SRC = $(wildcard src/client/*.c)
CLIENT_OBJ = $(CLIENT_SRC:%.c=$(B)/%.o) $(COMMON_OBJ) $(JSON_OBJ)
# mlstool (src/mlstool/): libmls's public API only, like the programs.
MLSTOOL_SRC = $(wildcard src/mlstool/*.c)
MLSTOOL_OBJ = $(MLSTOOL_SRC:%.c=$(B)/%.o) $(COMMON_OBJ)
$(B)/src/%.o: CFLAGS += -Isrc/common
# The PostgreSQL store (src/server/store_pg*.c) includes libpq-fe.h.
$(B)/src/server/store_pg.o $(B)/src/server/store_pg_data.o: CFLAGS += $(shell $(PKG_CONFIG) --cflags libpq)

# ./server and ./client at the top are the release programs; a SANITIZE=1
# build keeps its programs in build/san/bin (the tests use those).
ifeq ($(SANITIZE),1)
PROGRAMS = $(B)/bin/server $(B)/bin/client $(B)/bin/mlstool
else
PROGRAMS = server client mlstool
endif

.PHONY: run all deps check unit vectors threads-check valgrind fuzz fuzz-run fuzz-seeds fuzz-regress bench bench-mls bench-server bench-catchup clean integration example install install-check mlstool-check faults faults-short bench-abuse
all: $(DEPS_STAMP) $(LIB) $(SO) $(UNIT_BIN) $(VEC_BIN) $(EXAMPLE_BIN) $(FORGE_BIN) $(PROGRAMS) $(FUZZ_REPLAY) \
     $(SRV_BENCH_BIN)

deps $(DEPS_STAMP): scripts/deps.sh
	@sh scripts/deps.sh
	@mkdir -p build && touch $(DEPS_STAMP)

$(B)/%.o: %.c | $(DEPS_STAMP)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -MMD -MP -c $< -o $@

$(LIB): $(LIB_OBJ)
	@mkdir -p $(dir $@)
	rm -f $@ && ar rcs $@ $^

$(SO_REAL): $(LIB_OBJ)
	@mkdir -p $(dir $@)
	$(CC) -shared -Wl,-soname,$(SO_NAME) -Wl,--no-undefined $(LDFLAGS) -o $@ $^ $(LDLIBS_CRYPTO)
$(SO): $(SO_REAL)
	ln -sf $(notdir $(SO_REAL)) $(B)/$(SO_NAME)
	ln -sf $(SO_NAME) $@

$(B)/libmls.pc: libmls.pc.in Makefile
	@mkdir -p $(dir $@)
	sed -e 's|@PREFIX@|$(PREFIX)|' -e 's|@VERSION@|$(MLS_VERSION)|' $< > $@.tmp && mv -f $@.tmp $@

# Installs the public headers, both libraries and libmls.pc (the .pc is made
# for this PREFIX, so it is rebuilt every time).
install: $(LIB) $(SO)
	@rm -f $(B)/libmls.pc && $(MAKE) --no-print-directory $(B)/libmls.pc
	install -d $(DESTDIR)$(PREFIX)/include/mls $(DESTDIR)$(PREFIX)/lib/pkgconfig
	install -m 644 include/mls/*.h $(DESTDIR)$(PREFIX)/include/mls/
	install -m 644 $(LIB) $(DESTDIR)$(PREFIX)/lib/
	install -m 755 $(SO_REAL) $(DESTDIR)$(PREFIX)/lib/
	ln -sf $(notdir $(SO_REAL)) $(DESTDIR)$(PREFIX)/lib/$(SO_NAME)
	ln -sf $(SO_NAME) $(DESTDIR)$(PREFIX)/lib/libmls.so
	install -m 644 $(B)/libmls.pc $(DESTDIR)$(PREFIX)/lib/pkgconfig/

# examples/example.c built against an installed copy, shared and static,
# and libmls.so exporting only mls_ symbols (scripts/install-check.sh).
install-check: $(LIB) $(SO)
	@MAKE="$(MAKE)" CC="$(CC)" SANITIZE="$(SANITIZE)" sh scripts/install-check.sh $(B)

$(B)/bin/test_%: $(B)/tests/unit/test_%.o $(LIB)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS_CRYPTO)

# Unit tests of the shared modules (tests/unit/test_common_*.c) link src/common/.
$(B)/tests/unit/test_common_%.o: CFLAGS += -Isrc/common
$(B)/bin/test_common_%: $(B)/tests/unit/test_common_%.o $(COMMON_OBJ) $(LIB)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS_CRYPTO)
$(B)/bin/test_common_json_plain: $(B)/tests/unit/test_common_json_plain.o $(JSON_OBJ) $(LIB)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(shell $(PKG_CONFIG) --libs jansson) $(LDLIBS_CRYPTO)

# Unit tests of server modules (tests/unit/test_server_*.c) link the server's
# objects except main.o, and the server's libraries.
SERVER_LIB_OBJ = $(filter-out $(B)/src/server/main.o,$(SERVER_OBJ))
$(B)/tests/unit/test_server_%.o: CFLAGS += -Isrc/server -Isrc/common
$(B)/bin/test_server_%: $(B)/tests/unit/test_server_%.o $(SERVER_LIB_OBJ) $(LIB)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS_SERVER)

# Unit tests of client modules (tests/unit/test_client_*.c) link the client's
# objects except main.o, and the client's libraries.
CLIENT_LIB_OBJ = $(filter-out $(B)/src/client/main.o,$(CLIENT_OBJ))
$(B)/tests/unit/test_client_%.o: CFLAGS += -Isrc/client
$(B)/bin/test_client_%: $(B)/tests/unit/test_client_%.o $(CLIENT_LIB_OBJ) $(LIB)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS_CLIENT)

$(VEC_BIN): $(VEC_OBJ) $(LIB)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS_JANSSON) $(LDLIBS_CRYPTO)

$(BENCH_BIN): $(B)/bench/bench_mls.o $(LIB)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS_CRYPTO)

$(B)/tests/tools/%.o: CFLAGS += -Isrc/common
$(FORGE_BIN): $(B)/tests/tools/mlsforge.o $(B)/src/common/b64.o $(LIB)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS_CRYPTO)

$(EXAMPLE_BIN): $(B)/examples/example.o $(LIB)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS_CRYPTO)

$(B)/bench/loadgen.o: CFLAGS += -Isrc/common
$(B)/bin/loadgen: $(B)/bench/loadgen.o $(COMMON_OBJ) $(LIB)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS_SERVER)
$(B)/bin/sqlite_floor: $(B)/bench/sqlite_floor.o
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS_SERVER)
$(B)/bin/relay: $(B)/bench/relay.o
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS_SERVER)

bench-mls: $(DEPS_STAMP) $(BENCH_BIN)
	@python3 scripts/bench-mls.py $(BENCH_BIN) "$(SIZES)" "$(SUITES)" "$(FULL_SIZES)"

example: $(EXAMPLE_BIN)
	$(EXAMPLE_BIN)

$(B)/bin/server: $(SERVER_OBJ) $(LIB)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS_SERVER)

$(B)/bin/client: $(CLIENT_OBJ) $(LIB)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS_CLIENT)

$(B)/bin/mlstool: $(MLSTOOL_OBJ) $(LIB)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS_CRYPTO)

server: $(B)/bin/server
	cp $< $@.tmp && mv -f $@.tmp $@
client: $(B)/bin/client
	cp $< $@.tmp && mv -f $@.tmp $@
mlstool: $(B)/bin/mlstool
	cp $< $@.tmp && mv -f $@.tmp $@

# mlstool decodes every MLSMessage of the official messages.json, opens
# the Welcomes of welcome.json and one of mlsforge's with their bundles.
mlstool-check: $(B)/bin/mlstool $(FORGE_BIN)
	python3 tests/mlstool/test_mlstool.py $(B)/bin/mlstool $(VECTORS)/messages.json $(FORGE_BIN)

PORT ?= 4000
DB ?= chatserver.db
run: all
	@echo "Starting the mlschat server on port $(PORT) with database $(DB)."
	@echo "Start clients beside it, each in its own terminal:"
	@echo "    ./client --server http://localhost:$(PORT) --config /tmp/mlschat-alice lobby alice"
	@echo "    ./client --server http://localhost:$(PORT) --config /tmp/mlschat-bob lobby bob"
	@echo "(alice answers y to create #lobby; bob waits until alice types /invite bob)"
	./server --port $(PORT) --database $(DB)

unit: $(UNIT_BIN)
	@set -e; for t in $(UNIT_BIN); do echo "== $$t"; $$t; done

vectors: $(VEC_BIN)
	$(VEC_BIN) $(VECTORS)

# The group tests and every vector again with the library's thread pool
# as executor, 1 and 4 threads (issue 12: results independent of it).
threads-check: $(VEC_BIN) $(B)/bin/test_group $(B)/bin/test_group_random $(B)/bin/test_executor
	@set -e; for n in 1 4; do echo "== MLS_TEST_THREADS=$$n"; \
	  MLS_TEST_THREADS=$$n $(B)/bin/test_group; MLS_TEST_THREADS=$$n $(B)/bin/test_group_random; \
	  MLS_TEST_THREADS=$$n $(VEC_BIN) $(VECTORS); done

integration: all
	@set -e; for t in $(wildcard tests/integration/*.sh); do echo "== $$t"; \
	  BUILD=$(B) sh $$t; done

check: all
	@$(MAKE) --no-print-directory unit
	@$(MAKE) --no-print-directory example
	@$(MAKE) --no-print-directory install-check
	@$(MAKE) --no-print-directory vectors
	@$(MAKE) --no-print-directory threads-check
	@$(MAKE) --no-print-directory mlstool-check
	@$(MAKE) --no-print-directory fuzz-regress
	@$(MAKE) --no-print-directory integration

# The fault suite (tests/faults/): the real server under SIGKILLs, a full
# disk, vanished peers, its database moved or deleted, a stalled link; one
# line of figures per case.  Not part of check; .ci/run runs the short form.
# sync_fails preloads this shim into the server: fdatasync/fsync fail with
# EIO while a flag file exists.  Built without the sanitizers' flags.
FAILSYNC_LIB = $(B)/lib/libfailsync.so
$(FAILSYNC_LIB): tests/faults/failsync.c
	@mkdir -p $(dir $@)
	$(CC) -O2 -std=c11 -Wall -Wextra -Werror -shared -fPIC -o $@ $< -ldl
faults: $(B)/bin/server $(FORGE_BIN) $(FAILSYNC_LIB) $(B)/bin/loadgen
	LOADGEN=$(B)/bin/loadgen FAILSYNC_LIB=$(FAILSYNC_LIB) BUILD=$(B) sh tests/faults/faults_test.sh
faults-short: $(B)/bin/server $(FORGE_BIN) $(FAILSYNC_LIB) $(B)/bin/loadgen
	LOADGEN=$(B)/bin/loadgen FAILSYNC_LIB=$(FAILSYNC_LIB) FAULTS_SHORT=1 BUILD=$(B) \
	  sh tests/faults/faults_test.sh

# The server's peak RSS under one abusive client against honest load only,
# same run (scripts/bench-abuse.py); not part of check.  build/bench/abuse.md
bench-abuse: $(B)/bin/server $(FORGE_BIN)
	MLSFORGE=$(FORGE_BIN) python3 scripts/bench-abuse.py $(B)/bin/server --out build/bench $(ABUSE_ARGS)

# The real server under the C load generator, every figure beside its
# same-run baseline (raw SQLite, the minimal relay, the verification
# floor); not part of check (minutes).  Results in build/bench/.
bench-server: $(B)/bin/server $(SRV_BENCH_BIN)
	python3 scripts/bench-server.py $(B)/bin $(B)/bin/server $(BENCH_ARGS)

# Catch-up (issue 13 item 4): CATCHUP_N real messages through the real
# server, then a fresh ./client reads them all (median of CATCHUP_RUNS),
# beside bench_mls sig's verification floor of all cores; minutes.
# CATCHUP_BEFORE=path/to/old/client times another build on the same log.
CATCHUP_N ?= 100000
CATCHUP_RUNS ?= 3
bench-catchup: $(B)/bin/client $(B)/bin/server $(BENCH_BIN)
	python3 scripts/bench-catchup.py $(B)/bin $(CATCHUP_N) $(CATCHUP_RUNS) $(CATCHUP_BEFORE)

# Every benchmark of issue 13 (libmls, the server, the catch-up), their
# results, gnuplot plots and build/bench/summary.md in build/bench/.
BENCH_CATCHUP_N ?= $(CATCHUP_N)
bench: $(DEPS_STAMP)
	@sh scripts/deps.sh gnuplot-nox
	@mkdir -p build/bench
	@$(MAKE) --no-print-directory bench-mls > build/bench/mls.txt
	@cat build/bench/mls.txt
	python3 scripts/bench-plot-mls.py build/bench/mls.txt build/bench
	@$(MAKE) --no-print-directory bench-server
	@$(MAKE) --no-print-directory bench-catchup CATCHUP_N=$(BENCH_CATCHUP_N) | tee build/bench/catchup.txt
	python3 scripts/bench-plot-catchup.py build/bench/catchup.txt build/bench
	@{ echo "# make bench, $$(date -u +%FT%TZ)"; echo; echo "## libmls against mlspp (issue 12)"; echo; \
	  sed -n '/^against mlspp/,/^largest ratio/p' build/bench/mls.txt; echo; echo "## Server"; echo; \
	  cat build/bench/server.md; echo; echo "## Catch-up"; echo; cat build/bench/catchup.md; echo; \
	  echo "Machine: build/bench/machine.txt; plots: build/bench/*.png"; } > build/bench/summary.md
	@cat build/bench/summary.md

# The real server under load from N authenticated clients (Python), on
# SQLite and on a temporary PostgreSQL cluster with one and two server
# processes; not part of check.
bench-stores: $(B)/bin/server $(FORGE_BIN)
	MLSFORGE=$(FORGE_BIN) sh scripts/pg-cluster.sh python3 tests/bench/bench_server.py \
	  $(B)/bin/server $(STORES_ARGS)

VALGRIND = valgrind --error-exitcode=99 --leak-check=full --show-leak-kinds=definite,indirect,possible --errors-for-leak-kinds=definite,indirect,possible -q
valgrind: all
	@sh scripts/deps.sh valgrind
	@set -e; for t in $(UNIT_BIN); do echo "== valgrind $$t"; $(VALGRIND) $$t; done
	$(VALGRIND) $(VEC_BIN) $(VECTORS)

# Fuzzing (tests/fuzz/, README "Fuzzing").  `make fuzz` seeds one corpus
# per harness in build/fuzz/corpus/<harness>/ from the vectors (the vector
# runner with MLS_FUZZ_CORPUS) and from the harnesses themselves
# (MLS_FUZZ_SEEDS: group messages and states they build), then runs each
# harness for FUZZ_SECONDS.  Not part of `make check`; fuzz-regress is.
FUZZ_CORPUS = build/fuzz/corpus
fuzz-seeds: $(VEC_BIN) $(FUZZ_REPLAY)
	@for n in $(FUZZ_NAMES); do mkdir -p $(FUZZ_CORPUS)/$$n; done
	MLS_FUZZ_CORPUS=$(FUZZ_CORPUS) $(VEC_BIN) $(VECTORS) > /dev/null
	@for n in $(FUZZ_NAMES); do MLS_FUZZ_SEEDS=$(FUZZ_CORPUS)/$$n $(B)/bin/$$n > /dev/null; done
	@for n in $(FUZZ_NAMES); do d=tests/fuzz/regressions/$$n; \
	  if [ -d $$d ]; then cp $$d/* $(FUZZ_CORPUS)/$$n/; fi; done

fuzz: fuzz-seeds
	@sh scripts/deps.sh clang
	@$(MAKE) --no-print-directory FUZZ=1 fuzz-run

fuzz-run: $(FUZZ_BIN)
	@set -e; for f in $(FUZZ_BIN); do n=$$(basename $$f); \
	  mkdir -p $(FUZZ_CORPUS)/$$n build/fuzz/crashes/$$n; echo "== $$f"; \
	  $$f -max_total_time=$(FUZZ_SECONDS) -artifact_prefix=build/fuzz/crashes/$$n/ \
	    $(FUZZ_CORPUS)/$$n; done

# Replays every file of tests/fuzz/regressions/<harness>/ (crashers found
# by fuzzing, kept as regression inputs, and a few valid inputs) through
# the normally built harness.
fuzz-regress: $(FUZZ_REPLAY)
	@set -e; for n in $(FUZZ_NAMES); do d=tests/fuzz/regressions/$$n; \
	  if [ -d $$d ]; then $(B)/bin/$$n $$d; fi; done

ifeq ($(FUZZ),1)
FUZZ_LINK = clang -fsanitize=fuzzer,address,undefined
build/fuzz/bin/fuzz_%: build/fuzz/tests/fuzz/fuzz_%.o build/fuzz/tests/fuzz/common.o build/fuzz/libmls.a
	@mkdir -p $(dir $@)
	$(FUZZ_LINK) -o $@ $^ $(LDLIBS_CRYPTO)
build/fuzz/bin/fuzz_server_%: build/fuzz/tests/fuzz/fuzz_server_%.o build/fuzz/tests/fuzz/common.o $(SERVER_LIB_OBJ) build/fuzz/libmls.a
	@mkdir -p $(dir $@)
	$(FUZZ_LINK) -o $@ $^ $(LDLIBS_SERVER)
build/fuzz/bin/fuzz_client_%: build/fuzz/tests/fuzz/fuzz_client_%.o build/fuzz/tests/fuzz/common.o $(CLIENT_LIB_OBJ) build/fuzz/libmls.a
	@mkdir -p $(dir $@)
	$(FUZZ_LINK) -o $@ $^ $(LDLIBS_CLIENT)
else
$(B)/bin/fuzz_%: $(B)/tests/fuzz/fuzz_%.o $(B)/tests/fuzz/common.o $(B)/tests/fuzz/driver.o $(LIB)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS_CRYPTO)
$(B)/bin/fuzz_server_%: $(B)/tests/fuzz/fuzz_server_%.o $(B)/tests/fuzz/common.o $(B)/tests/fuzz/driver.o $(SERVER_LIB_OBJ) $(LIB)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS_SERVER)
$(B)/bin/fuzz_client_%: $(B)/tests/fuzz/fuzz_client_%.o $(B)/tests/fuzz/common.o $(B)/tests/fuzz/driver.o $(CLIENT_LIB_OBJ) $(LIB)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS_CLIENT)
endif
# Keep the harness objects (make would delete them as intermediates).
.SECONDARY: $(FUZZ_SRC:%.c=$(B)/%.o)
$(B)/tests/fuzz/fuzz_server_%.o: CFLAGS += -Isrc/server -Isrc/common
$(B)/tests/fuzz/fuzz_client_%.o: CFLAGS += -Isrc/client -Isrc/common

clean:
	rm -rf build server client mlstool

-include $(LIB_OBJ:.o=.d) $(VEC_OBJ:.o=.d) $(sort $(SERVER_OBJ:.o=.d) $(CLIENT_OBJ:.o=.d) $(MLSTOOL_OBJ:.o=.d))
-include $(UNIT_SRC:tests/unit/%.c=$(B)/tests/unit/%.d)
-include $(B)/bench/bench_mls.d $(B)/examples/example.d $(B)/tests/tools/mlsforge.d
-include $(B)/bench/loadgen.d $(B)/bench/sqlite_floor.d $(B)/bench/relay.d
-include $(FUZZ_SRC:%.c=$(B)/%.d) $(B)/tests/fuzz/common.d $(B)/tests/fuzz/driver.d

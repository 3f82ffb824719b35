# memtap - build, test, install.
#
#   make                 build build/libmemtap.so and build/memtap
#   make check           build and run every test (unit + end-to-end)
#   make demo            trace the bundled example and print its summary
#   make install PREFIX=/usr/local DESTDIR=
#   make bench           run scripts/bench (wall-time ratios, trace size)
#
# Switches: WERROR=1 (warnings are errors; CI sets it), SANITIZE=1 (ASan +
# UBSan for the analyzer and the unit tests, never for the shim), V=1.

PREFIX ?= /usr/local
BINDIR ?= $(PREFIX)/bin
LIBDIR ?= $(PREFIX)/lib
DOCDIR ?= $(PREFIX)/share/doc/memtap
CC ?= cc
CXX ?= c++
B := build

WARN := -Wall -Wextra -Wshadow -Wformat=2 -Wstrict-prototypes -Wmissing-prototypes \
        -Wpointer-arith -Wcast-qual -Wvla -Wno-missing-field-initializers
ifeq ($(WERROR),1)
WARN += -Werror
endif
BASE_CFLAGS := -std=gnu11 -g -O2 $(WARN) -Iinclude -MMD -MP
ifeq ($(SANITIZE),1)
SAN := -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all
B := build-san
endif

# -fno-tree-slp-vectorize: GCC 12 merges neighbouring field updates into
# 16-byte loads and stores, and the shim's hot paths load back what the
# last event stored field by field: a 16-byte load of two fields stored
# apart fails store forwarding (it was the costliest instruction of py_free
# in perf annotate, on two counters). It would vectorize the native walker.
SHIM_CFLAGS := $(BASE_CFLAGS) -fPIC -fvisibility=hidden -ftls-model=initial-exec \
               -fno-plt -fno-tree-slp-vectorize -Ishim
SHIM_LDFLAGS := -shared -Wl,--version-script=shim/libmemtap.map -Wl,-z,now -Wl,-z,relro
SHIM_LIBS := -lunwind -ldl -lpthread -lm

AN_CFLAGS := $(BASE_CFLAGS) $(SAN) -Ianalyzer -I$(B)/gen -DMT_DOCDIR='"$(DOCDIR)"'
AN_LIBS := -lsqlite3 -ldw -lelf -lzstd -lncurses -lprotobuf-c -lz -lm -lstdc++ -lpthread

SHIM_SRC := $(wildcard shim/*.c)
AN_SRC := $(wildcard analyzer/*.c)
AN_LIB_SRC := $(filter-out analyzer/main.c,$(AN_SRC))
SHIM_OBJ := $(SHIM_SRC:%.c=$(B)/%.o)
AN_ASSETS := $(wildcard analyzer/flamegraph/*)
# pprof's profile.proto, as C from protoc-c (analyzer/pprof.c writes it)
PROTO_OBJ := $(B)/gen/profile.pb-c.o
AN_OBJ := $(AN_SRC:%.c=$(B)/%.o) $(B)/analyzer/assets.o $(PROTO_OBJ)
AN_LIB_OBJ := $(AN_LIB_SRC:%.c=$(B)/%.o) $(B)/analyzer/assets.o $(PROTO_OBJ)

UNIT_SRC := $(wildcard tests/unit/test_*.c)
UNIT_BIN := $(UNIT_SRC:tests/unit/%.c=$(B)/tests/%)
E2E_PROG_SRC := $(wildcard tests/e2e/prog_*.c) $(wildcard tests/e2e/prog_*.cc)
E2E_PROGS := $(basename $(E2E_PROG_SRC:tests/e2e/%=$(B)/tests/%))

ifeq ($(V),1)
Q :=
say :=
else
Q := @
say = @printf '  %-6s %s\n' $(1) $(2);
endif

# The Python side, put on PYTHONPATH by `memtap run`: the memtap module,
# and the pytest plugin with the entry point pytest finds it by (pytest11).
PY_FILES := memtap.py memtap_pytest.py memtap_pytest-1.0.dist-info/METADATA \
            memtap_pytest-1.0.dist-info/entry_points.txt
PY_OUT := $(addprefix $(B)/python/,$(PY_FILES))

all: $(B)/libmemtap.so $(B)/memtap $(PY_OUT)

$(B)/python/%: shim/python/%
	$(call say,CP,$@)mkdir -p $(@D) && cp $< $@

# Rebuild everything when the flags change.
$(B)/.flags: FORCE
	@mkdir -p $(B)
	@echo '$(CC) $(SHIM_CFLAGS) $(AN_CFLAGS) $(SAN)' | cmp -s - $@ || echo '$(CC) $(SHIM_CFLAGS) $(AN_CFLAGS) $(SAN)' > $@

$(B)/shim/%.o: shim/%.c $(B)/.flags
	@mkdir -p $(dir $@)
	$(call say,CC,$<)$(CC) $(SHIM_CFLAGS) -c -o $@ $<

$(B)/analyzer/%.o: analyzer/%.c $(B)/.flags
	@mkdir -p $(dir $@)
	$(call say,CC,$<)$(CC) $(AN_CFLAGS) -c -o $@ $<

$(B)/libmemtap.so: $(SHIM_OBJ) shim/libmemtap.map
	$(call say,LD,$@)$(CC) $(SHIM_LDFLAGS) -o $@ $(SHIM_OBJ) $(SHIM_LIBS)

# The shim with fault injection (shim/faults.h), for the tests only.
SHIM_FAULT_OBJ := $(SHIM_SRC:shim/%.c=$(B)/shim-faults/%.o)
$(B)/shim-faults/%.o: shim/%.c $(B)/.flags
	@mkdir -p $(dir $@)
	$(call say,CC,$<)$(CC) $(SHIM_CFLAGS) -DMT_FAULTS -c -o $@ $<

$(B)/libmemtap-faults.so: $(SHIM_FAULT_OBJ) shim/libmemtap.map
	$(call say,LD,$@)$(CC) $(SHIM_LDFLAGS) -o $@ $(SHIM_FAULT_OBJ) $(SHIM_LIBS)

$(B)/gen/profile.pb-c.c $(B)/gen/profile.pb-c.h &: analyzer/proto/profile.proto
	@mkdir -p $(B)/gen
	$(call say,PROTO,$<)protoc-c --proto_path=analyzer/proto --c_out=$(B)/gen $<

$(B)/gen/profile.pb-c.o: $(B)/gen/profile.pb-c.c $(B)/.flags
	$(call say,CC,$<)$(CC) $(AN_CFLAGS) -Wno-cast-qual -c -o $@ $<

$(B)/analyzer/pprof.o: $(B)/gen/profile.pb-c.h

# The flamegraph page's .html/.js/.css are embedded with .incbin.
$(B)/analyzer/assets.o: analyzer/assets.S $(AN_ASSETS)
	@mkdir -p $(dir $@)
	$(call say,AS,$<)$(CC) -c -o $@ $<

$(B)/memtap: $(AN_OBJ)
	$(call say,LD,$@)$(CC) $(SAN) -o $@ $(AN_OBJ) $(AN_LIBS)

# ---- tests --------------------------------------------------------------

$(B)/tests/test_%: tests/unit/test_%.c $(AN_LIB_OBJ) $(B)/.flags
	@mkdir -p $(dir $@)
	$(call say,CC,$<)$(CC) $(AN_CFLAGS) -o $@ $< $(AN_LIB_OBJ) $(AN_LIBS) -lcmocka

$(B)/tests/prog_%: tests/e2e/prog_%.c
	@mkdir -p $(dir $@)
	$(call say,CC,$<)$(CC) -std=gnu11 -g -O1 -fno-omit-frame-pointer -fno-inline -fno-builtin -fno-allocation-dce -Iinclude -o $@ $< -lpthread

$(B)/tests/prog_%: tests/e2e/prog_%.cc
	@mkdir -p $(dir $@)
	$(call say,CXX,$<)$(CXX) -g -O1 -fno-omit-frame-pointer -fno-inline -fno-builtin -fno-allocation-dce -Iinclude -o $@ $< -lpthread

tests: all $(UNIT_BIN) $(E2E_PROGS) $(B)/libmemtap-faults.so

# The analyzer and unit tests are also built with ASan+UBSan (build-san/);
# run-all runs those unit tests and feeds that memtap the bad inputs.
sanitized: $(B)/memtap $(UNIT_BIN)

# demo and check install what they need first (scripts/install-deps: quiet
# when it is all there), then build: a fresh Debian 12 needs nothing else.
deps:
	@scripts/install-deps build

test-deps:
	@scripts/install-deps test

check: test-deps
	@$(MAKE) --no-print-directory tests
	@$(MAKE) --no-print-directory SANITIZE=1 sanitized
	@$(MAKE) --no-print-directory fuzz-build
	@tests/run-all $(B)

# ---- fuzzing (libFuzzer, Debian's clang) ------------------------------------
# The reader and the loader built with clang's fuzzer and sanitizers into
# build-fuzz. `make fuzz` runs each target FUZZ_TIME seconds (default 60)
# from the seed corpus (tests/fuzz/corpus, copied: the runs' finds stay in
# build-fuzz); crashes land in build-fuzz/crashes. `make check` runs the
# corpus and every input that ever crashed (tests/fuzz/crashes) once
# (tests/e2e/fuzz_corpus.sh).
FUZZ_B := build-fuzz
FUZZ_CC ?= clang
FUZZ_TIME ?= 60
FUZZ_SAN := -fsanitize=address,undefined -fno-sanitize-recover=undefined
FUZZ_CFLAGS := -std=gnu11 -g -O1 $(FUZZ_SAN) -fsanitize=fuzzer-no-link -Iinclude -Ianalyzer \
               -I$(B)/gen -DMT_DOCDIR='"$(DOCDIR)"'
FUZZ_OBJ := $(AN_LIB_SRC:%.c=$(FUZZ_B)/%.o) $(FUZZ_B)/analyzer/assets.o $(FUZZ_B)/gen/profile.pb-c.o
FUZZ_TARGETS := $(FUZZ_B)/fuzz_trace $(FUZZ_B)/fuzz_load
.SECONDARY: $(FUZZ_OBJ)

$(FUZZ_B)/analyzer/%.o: analyzer/%.c $(B)/gen/profile.pb-c.h
	@mkdir -p $(dir $@)
	$(call say,CC,$<)$(FUZZ_CC) $(FUZZ_CFLAGS) -c -o $@ $<

$(FUZZ_B)/analyzer/assets.o: analyzer/assets.S $(AN_ASSETS)
	@mkdir -p $(dir $@)
	$(call say,AS,$<)$(FUZZ_CC) -c -o $@ $<

$(FUZZ_B)/gen/profile.pb-c.o: $(B)/gen/profile.pb-c.c
	@mkdir -p $(dir $@)
	$(call say,CC,$<)$(FUZZ_CC) $(FUZZ_CFLAGS) -c -o $@ $<

$(FUZZ_B)/fuzz_%: tests/fuzz/fuzz_%.c $(FUZZ_OBJ)
	$(call say,LD,$@)$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer -o $@ $< $(FUZZ_OBJ) $(AN_LIBS)

fuzz-build:
	@if command -v $(FUZZ_CC) >/dev/null; then $(MAKE) --no-print-directory $(FUZZ_TARGETS); \
	else echo "fuzz: $(FUZZ_CC) not found (Debian's clang): fuzz targets not built"; fi

fuzz: fuzz-build
	@mkdir -p $(FUZZ_B)/crashes
	@for t in trace load; do \
	  rm -rf $(FUZZ_B)/corpus-$$t && cp -r tests/fuzz/corpus $(FUZZ_B)/corpus-$$t && \
	  echo "fuzz_$$t: $(FUZZ_TIME) s" && \
	  $(FUZZ_B)/fuzz_$$t -max_total_time=$(FUZZ_TIME) -rss_limit_mb=2048 -timeout=20 \
	    -max_len=262144 -artifact_prefix=$(FUZZ_B)/crashes/$$t- -print_final_stats=1 \
	    $(FUZZ_B)/corpus-$$t 2>&1 | tail -15; done

demo: deps
	@$(MAKE) --no-print-directory all
	@scripts/demo $(B)

bench: all
	@scripts/bench $(B)

install: all
	install -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(LIBDIR)/memtap $(DESTDIR)$(DOCDIR)
	install -m 0755 $(B)/memtap $(DESTDIR)$(BINDIR)/memtap
	install -m 0755 $(B)/libmemtap.so $(DESTDIR)$(LIBDIR)/memtap/libmemtap.so
	install -d $(DESTDIR)$(LIBDIR)/memtap/python/memtap_pytest-1.0.dist-info
	for f in $(PY_FILES); do install -m 0644 shim/python/$$f $(DESTDIR)$(LIBDIR)/memtap/python/$$f; done
	install -d $(DESTDIR)$(PREFIX)/include
	install -m 0644 include/memtap.h $(DESTDIR)$(PREFIX)/include/memtap.h
	install -m 0644 README.md docs/*.md $(DESTDIR)$(DOCDIR)/

clean:
	rm -rf build build-san build-fuzz

.PHONY: all tests sanitized check demo deps test-deps bench install clean fuzz fuzz-build FORCE
-include $(shell find $(B) -name '*.d' 2>/dev/null)

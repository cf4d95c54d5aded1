# LabShare build. `make run` starts the demo, `make test` runs every test; both install the
# Debian packages they need first (`make deps`). See README.md.

CC ?= gcc
BUILD := build
BIN := $(BUILD)/bin
OBJ := $(BUILD)/obj

# SANITIZE=address,undefined builds everything with sanitizers; WERROR=1 turns warnings into
# errors (CI sets both).
SANITIZE ?=
WERROR ?=

PKGS := libmodbus libmosquitto sqlite3 libmicrohttpd jansson inih libsodium libical libcrypto libpq libcurl
DEB_PKGS := build-essential pkg-config libmodbus-dev libmosquitto-dev mosquitto \
	mosquitto-clients libsqlite3-dev sqlite3 libmicrohttpd-dev libcmocka-dev libjansson-dev \
	libinih-dev libsodium-dev libical-dev libssl-dev openssl socat mbpoll curl python3 python3-icalendar tzdata wrk \
	clang-format chromium fonts-wqy-microhei clang libclang-rt-14-dev fiu-utils libfiu-dev \
	libpq-dev postgresql libcurl4-openssl-dev python3-aiosmtpd

WARN := -Wall -Wextra -Wpedantic -Wshadow -Wconversion -Wstrict-prototypes \
	-Wmissing-prototypes -Wformat=2 -Wvla -Wundef -Wimplicit-fallthrough -Wjump-misses-init
CFLAGS ?= -O2 -g
CFLAGS += -std=c11 -D_GNU_SOURCE -Iinclude -pthread $(WARN) -MMD -MP
ifneq ($(WERROR),)
CFLAGS += -Werror
endif
ifneq ($(SANITIZE),)
CFLAGS += -fsanitize=$(SANITIZE) -fno-omit-frame-pointer -fno-sanitize-recover=all
LDFLAGS += -fsanitize=$(SANITIZE)
endif
PKG_CFLAGS = $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS = $(shell pkg-config --libs $(PKGS) 2>/dev/null)
LDLIBS += $(PKG_LIBS) -lm -pthread

LIB := $(BUILD)/lib/liblabshare.a
LIB_SRC := $(wildcard include/labshare/*.c)
SERVER_SRC := $(wildcard server/*.c server/http/*.c server/storage/*.c)
GATEWAY_SRC := $(wildcard gateway/*.c)
SIM_SRC := $(wildcard firmware-stubs/*.c)
SERVER_LIB_SRC := $(filter-out server/main.c,$(SERVER_SRC))
UNIT_SRC := $(wildcard tests/unit/test_*.c)
FUZZ_SRC := $(wildcard tests/fuzz/fuzz_*.c)

# Objects are rebuilt when the flags change (e.g. SANITIZE on or off).
FLAGS_STAMP := $(BUILD)/.flags
FLAGS_NOW := $(CC) $(CFLAGS) $(LDFLAGS)
$(shell mkdir -p $(BUILD); [ "$$(cat $(FLAGS_STAMP) 2>/dev/null)" = '$(FLAGS_NOW)' ] || \
	echo '$(FLAGS_NOW)' > $(FLAGS_STAMP))

obj = $(patsubst %.c,$(OBJ)/%.o,$(1))
PROGRAMS := $(BIN)/labshare-server $(BIN)/labshare-gateway $(BIN)/labshare-meter-sim
UNIT_BINS := $(patsubst tests/unit/%.c,$(BUILD)/tests/%,$(UNIT_SRC))
FUZZ_BINS := $(patsubst tests/fuzz/%.c,$(BUILD)/fuzz/%,$(FUZZ_SRC))

.PHONY: all deps run test unit integration bench format format-check clean web fuzz fuzz-build
all: $(PROGRAMS) web

# The web UI (server/web) with its npm packages, assembled into build/web, which the server
# serves at / (server/web/assemble.sh; npm ci from the committed package-lock.json).
WEB_SRC := $(shell find server/web -type f -not -path '*/node_modules/*' 2>/dev/null)
web: $(BUILD)/web/index.html
$(BUILD)/web/index.html: $(WEB_SRC)
	@bash server/web/assemble.sh $(BUILD)/web $(BUILD)/npm/web

$(OBJ)/%.o: %.c $(FLAGS_STAMP)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(PKG_CFLAGS) -c $< -o $@

$(LIB): $(call obj,$(LIB_SRC))
	@mkdir -p $(dir $@)
	$(AR) rcs $@ $^

$(BIN)/labshare-server: $(call obj,$(SERVER_SRC)) $(LIB)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(BIN)/labshare-gateway: $(call obj,$(GATEWAY_SRC)) $(LIB)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(BIN)/labshare-meter-sim: $(call obj,$(SIM_SRC)) $(LIB)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

# (cmocka's assert macros cast everything to uintmax_t, hence -Wno-conversion for tests.)
# A unit test links the module objects it names in "// LINK: a/b.c c/d.c" lines (several
# allowed; keep each under 100 columns or clang-format wraps it; ALL_SERVER stands for every
# server module but main.c), plus the
# shared library and cmocka (with --wrap options from a "// WRAP: sym sym" line).
$(BUILD)/tests/%: tests/unit/%.c $(LIB) $(call obj,$(SERVER_SRC) $(GATEWAY_SRC) $(SIM_SRC))
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(PKG_CFLAGS) -Wno-missing-prototypes -Wno-conversion -Wno-sign-conversion $(LDFLAGS) -o $@ $< \
		$(patsubst %.c,$(OBJ)/%.o,$(subst ALL_SERVER,$(SERVER_LIB_SRC),$(shell sed -n 's|^// LINK: ||p' $<))) \
		$(LIB) $(addprefix -Wl$(comma)--wrap=,$(shell sed -n 's|^// WRAP: ||p' $<)) \
		$(LDLIBS) -lcmocka
comma := ,

BENCH_SRC := $(wildcard tests/bench/bench_*.c)
BENCH_BINS := $(patsubst tests/bench/%.c,$(BUILD)/bench/%,$(BENCH_SRC))
$(BUILD)/bench/%: tests/bench/%.c $(LIB) $(call obj,$(SERVER_SRC) $(GATEWAY_SRC) $(SIM_SRC))
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(PKG_CFLAGS) -Wno-missing-prototypes $(LDFLAGS) -o $@ $< \
		$(patsubst %.c,$(OBJ)/%.o,$(subst ALL_SERVER,$(SERVER_LIB_SRC),$(shell sed -n 's|^// LINK: ||p' $<))) \
		$(LIB) $(LDLIBS)

# libFuzzer harnesses (tests/fuzz/fuzz_*.c): clang with the fuzzer, ASan and UBSan, each built
# from its harness, the sources its "// LINK:" lines name and the common library, all
# instrumented. `make fuzz FUZZ_SECONDS=N` runs each for N seconds (tests/fuzz/run.sh).
FUZZ_CC ?= clang
FUZZ_FLAGS := -g -O1 -std=c11 -D_GNU_SOURCE -Iinclude -pthread \
	-fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined
FUZZ_SECONDS ?= 60
$(BUILD)/fuzz/%: tests/fuzz/%.c tests/fuzz/fuzz_common.h $(LIB_SRC) $(SERVER_SRC) $(GATEWAY_SRC) \
		$(SIM_SRC) $(wildcard include/labshare/*.h server/*.h server/http/*.h gateway/*.h firmware-stubs/*.h)
	@mkdir -p $(@D)
	$(FUZZ_CC) $(FUZZ_FLAGS) $(PKG_CFLAGS) -o $@ $< $(shell sed -n 's|^// LINK: *||p' $<) \
		$(LIB_SRC) $(LDLIBS)

fuzz-build: deps $(FUZZ_BINS)

fuzz: fuzz-build
	@bash tests/fuzz/run.sh $(FUZZ_SECONDS)

# Install the Debian packages the build, the tests and the demo need. Idempotent and quiet
# when all are there.
deps:
	@missing=""; for p in $(DEB_PKGS); do \
		dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q "install ok installed" \
			|| missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
		if [ "$$(id -u)" != 0 ]; then \
			echo "make deps: missing Debian packages:$$missing"; \
			echo "make deps: run as root (or: sudo apt-get install$$missing)"; exit 1; fi; \
		echo "make deps: installing$$missing"; \
		export DEBIAN_FRONTEND=noninteractive; \
		apt-get update -qq && apt-get install -y -qq --no-install-recommends $$missing \
			>/dev/null || { echo "make deps: apt-get install failed"; exit 1; }; \
	fi; \
	command -v npm >/dev/null || { echo "make deps: Node.js 20 with npm is needed for the web UI"; \
		exit 1; }

build-all: deps
	@$(MAKE) --no-print-directory all $(UNIT_BINS)

run: deps
	@$(MAKE) --no-print-directory all
	@bash server/demo/run.sh

test: deps
	@$(MAKE) -j$$(nproc) --no-print-directory all $(UNIT_BINS) $(FUZZ_BINS)
	@bash tests/run.sh

unit: $(UNIT_BINS)
	@bash tests/run.sh unit

integration: all
	@bash tests/run.sh integration

bench: deps
	@$(MAKE) --no-print-directory all $(BENCH_BINS)
	@bash tests/bench/run.sh

FORMAT_FILES = $(shell git ls-files '*.c' '*.h' 2>/dev/null)
format:
	clang-format -i $(FORMAT_FILES)
format-check:
	@clang-format --dry-run --Werror $(FORMAT_FILES)

clean:
	rm -rf $(BUILD)

-include $(shell find $(OBJ) -name '*.d' 2>/dev/null)

# wlkit - see README.md. `make` builds common/libwlkit.a and bin/*;
# `make check` runs every test; `make demo` runs the sandbox pipeline.

VERSION  ?= 0.1.0
PREFIX   ?= /usr/local
DESTDIR  ?=
BINDIR    = $(PREFIX)/bin
MANDIR    = $(PREFIX)/share/man
CC       ?= cc
# SANITIZE=1 builds at -O0: a third of -O1's compile time, no finding lost.
CFLAGS   ?= $(if $(filter 1,$(SANITIZE)),-O0 -g,-O2 -g)
WFLAGS    = -std=c11 -Wall -Wextra -Werror -D_GNU_SOURCE -DWLKIT_VERSION='"$(VERSION)"'
LIBS      = -Wl,--as-needed -lyaml -lcjson -larchive -lssl -lcrypto -lz -lm -ldl -pthread

# SANITIZE=1: AddressSanitizer + UBSan (float-cast-overflow too), built
# apart in build/sanitize (programs in build/sanitize/bin) so that it never
# replaces bin/; `make install` and `make dist` take no sanitized program.
ifeq ($(SANITIZE),1)
MODE      = sanitize
SAN_FLAGS = -fsanitize=address,undefined,float-cast-overflow -fno-omit-frame-pointer \
	    -fno-sanitize-recover=undefined,float-cast-overflow
else
MODE      = plain
SAN_FLAGS =
endif

B         = build/$(MODE)
BIN       = $(if $(SAN_FLAGS),$(B)/bin,bin)
ALL_CFLAGS = $(WFLAGS) $(CFLAGS) $(if $(SAN_FLAGS),$(SAN_FLAGS) )-iquote common
LINK      = $(CC) $(CFLAGS) $(SAN_FLAGS) $(LDFLAGS)

PLUGINS   = wlbuild wlrun gpusnap vastrun vkcmd nodeimage
binname   = $(if $(filter nodeimage,$(1)),gcloud-nodeimage,kubectl-$(1))
BINS      = $(foreach p,$(PLUGINS),$(BIN)/$(call binname,$(p)))

COMMON_SRC = $(sort $(wildcard common/*.c))
COMMON_OBJ = $(COMMON_SRC:%.c=$(B)/%.o)
UNIT_SRC   = $(sort $(wildcard tests/unit/test_*.c))
UNIT_BINS  = $(UNIT_SRC:tests/unit/%.c=$(B)/tests/unit/%)

all: $(BINS) $(if $(SAN_FLAGS),$(B)/libwlkit.a,common/libwlkit.a)

# Rebuild everything when the mode or the flags change.
$(B)/.flags: FORCE
	@mkdir -p $(B)
	@echo '$(CC) $(ALL_CFLAGS) $(LDFLAGS)' | cmp -s - $@ || echo '$(CC) $(ALL_CFLAGS) $(LDFLAGS)' > $@

$(B)/%.o: %.c $(B)/.flags
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -MMD -MP -c -o $@ $<

$(B)/libwlkit.a: $(COMMON_OBJ)
	@rm -f $@
	$(AR) rcs $@ $^

common/libwlkit.a: $(B)/libwlkit.a
	cp $< $@

define plugin_rule
$(1)_OBJ = $$(patsubst %.c,$(B)/%.o,$$(sort $$(wildcard plugins/$(1)/*.c)))
$(BIN)/$(call binname,$(1)): $$($(1)_OBJ) $(B)/libwlkit.a
	@mkdir -p $(BIN)
	$$(LINK) -o $$@ $$($(1)_OBJ) $(B)/libwlkit.a $$(LIBS)
endef
$(foreach p,$(PLUGINS),$(eval $(call plugin_rule,$(p))))

$(B)/tests/unit/%: $(B)/tests/unit/%.o $(B)/tests/unit/unit.o $(B)/libwlkit.a
	$(LINK) -o $@ $< $(B)/tests/unit/unit.o $(B)/libwlkit.a $(LIBS)

# The test driver: a thin command-line over common/ for the bats suites.
DRIVER_SRC = $(sort $(wildcard tests/driver/*.c))
DRIVER     = $(if $(DRIVER_SRC),$(B)/tests/wlkit-t)
$(B)/tests/wlkit-t: $(DRIVER_SRC:%.c=$(B)/%.o) $(B)/libwlkit.a
	$(LINK) -o $@ $(DRIVER_SRC:%.c=$(B)/%.o) $(B)/libwlkit.a $(LIBS)

# kubectl-vkcmd's file and socket parts on their own (tests/vkcmd-io.bats).
VKIO_OBJ = $(patsubst %,$(B)/plugins/vkcmd/%.o,logs kubelet kubelet_logs volumes downward bwrap) \
	   $(patsubst %.c,$(B)/%.o,$(wildcard tests/vkcmd-io/*.c))
$(B)/tests/vkcmd-io/vkio.o: ALL_CFLAGS += -iquote plugins/vkcmd
$(B)/tests/vkio: $(VKIO_OBJ) $(B)/libwlkit.a
	$(LINK) -o $@ $(VKIO_OBJ) $(B)/libwlkit.a $(LIBS)

unit: $(UNIT_BINS) $(DRIVER) $(B)/tests/vkio

-include $(shell find build -name '*.d' 2>/dev/null)

# Debian packages the build and the tests need.
DEB_BUILD = gcc make libc6-dev libyaml-dev libcjson-dev libcurl4-openssl-dev \
	    libarchive-dev libssl-dev zlib1g-dev
DEB_TEST  = bats bats-assert bats-support python3 openssl curl procps \
	    iproute2 bubblewrap man-db mandoc nginx-light packer valgrind zsh fish
# deps: the Debian packages (apt-get when root, else the command to run),
# then the npm packages of the tests (s3rver) from tests/package-lock.json.
deps:
	@missing=""; \
	for p in $(DEB_BUILD) $(DEB_TEST); do \
		dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null | grep -q 'ok installed' || missing="$$missing $$p"; \
	done; \
	command -v kubectl >/dev/null 2>&1 || missing="$$missing kubernetes-client"; \
	command -v npm >/dev/null 2>&1 || missing="$$missing nodejs npm"; \
	if [ -n "$$missing" ] && [ "$$(id -u)" = 0 ]; then \
		echo "installing:$$missing" >&2; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing >/dev/null || exit 1; \
	elif [ -n "$$missing" ]; then \
		echo "missing Debian packages; run: sudo apt-get install -y$$missing" >&2; exit 1; \
	fi; \
	if [ ! -f tests/node_modules/.package-lock.json ] || \
	   [ tests/package-lock.json -nt tests/node_modules/.package-lock.json ]; then \
		echo "installing the npm packages of tests/package-lock.json" >&2; \
		npm ci --prefix tests --no-audit --no-fund --loglevel=error >/dev/null || exit 1; \
	fi

# make check: the plain programs under every suite, then the sanitizer stage
# (the unit tests and one e2e suite per program again, with the programs of
# build/sanitize; tests/run's SAN_STAGE), all in one "N passed" line.
# make check SANITIZE=1: every suite with the build/sanitize programs.
# Both builds use every core unless -j was given.
CHECK_J = $(if $(filter -j%,$(MAKEFLAGS)),,-j$(shell nproc))
check: deps
	@$(MAKE) --no-print-directory $(CHECK_J) all unit
ifeq ($(SANITIZE),1)
	@MODE=sanitize tests/run
else
	@$(MAKE) --no-print-directory $(CHECK_J) SANITIZE=1 all unit
	@MODE=plain SAN_STAGE=1 tests/run
endif

demo: deps
	@$(MAKE) --no-print-directory all
	@tests/demo

# The installed programs are always the plain ones of bin/.
ifeq ($(SANITIZE),1)
install:
	@$(MAKE) --no-print-directory SANITIZE= install
else
install: all
	install -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(MANDIR)/man1 $(DESTDIR)$(MANDIR)/man7 \
		$(DESTDIR)$(PREFIX)/share/bash-completion/completions \
		$(DESTDIR)$(PREFIX)/share/zsh/site-functions \
		$(DESTDIR)$(PREFIX)/share/fish/vendor_completions.d
	install -m 0755 $(BINS) $(DESTDIR)$(BINDIR)/
	for p in $(PLUGINS); do b=$$(case $$p in nodeimage) echo gcloud-nodeimage;; *) echo kubectl-$$p;; esac); \
		[ $$p = nodeimage ] || install -m 0755 completions/kubectl_complete-$$p $(DESTDIR)$(BINDIR)/; \
		install -m 0644 man/$$b.1 $(DESTDIR)$(MANDIR)/man1/; \
		install -m 0644 completions/$$b.bash $(DESTDIR)$(PREFIX)/share/bash-completion/completions/$$b; \
		install -m 0644 completions/_$$b $(DESTDIR)$(PREFIX)/share/zsh/site-functions/_$$b; \
		install -m 0644 completions/$$b.fish $(DESTDIR)$(PREFIX)/share/fish/vendor_completions.d/$$b.fish; \
	done
	install -m 0644 man/wlkit.7 $(DESTDIR)$(MANDIR)/man7/
endif

uninstall:
	for p in $(PLUGINS); do b=$$(case $$p in nodeimage) echo gcloud-nodeimage;; *) echo kubectl-$$p;; esac); \
		rm -f $(DESTDIR)$(BINDIR)/$$b $(DESTDIR)$(BINDIR)/kubectl_complete-$$p \
		      $(DESTDIR)$(MANDIR)/man1/$$b.1 \
		      $(DESTDIR)$(PREFIX)/share/bash-completion/completions/$$b \
		      $(DESTDIR)$(PREFIX)/share/zsh/site-functions/_$$b \
		      $(DESTDIR)$(PREFIX)/share/fish/vendor_completions.d/$$b.fish; \
	done
	rm -f $(DESTDIR)$(MANDIR)/man7/wlkit.7

clean:
	rm -rf build bin common/libwlkit.a

.PHONY: all unit deps check demo install uninstall clean FORCE
FORCE:

# Further targets, one file each: mk/dist.mk (make dist, krew manifests),
# mk/fuzz.mk (make fuzz, the libFuzzer targets).
-include $(sort $(wildcard mk/*.mk))

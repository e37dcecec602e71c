# mk/fuzz.mk - the libFuzzer targets (tests/fuzz/TARGET.c, each an
# LLVMFuzzerTestOneInput over one parser) and their replay under `make check`.
#
# `make fuzz [FUZZ_SECONDS=60] [FUZZ_TARGETS="smi ignore"]` builds each target
# with clang -fsanitize=fuzzer,address,undefined against a clang-built copy
# of the library (build/fuzz), runs it for FUZZ_SECONDS over its seeds
# (tests/fuzz/corpus/TARGET; what it learns goes to build/fuzz/corpus/TARGET)
# and prints the executions per target. A crash is written to
# tests/fuzz/crashes/TARGET/ and makes `make fuzz` fail; run with -j to fuzz
# targets side by side.
#
# `make unit` (so `make check`) also builds build/fuzz-replay/replay-TARGET:
# the same entry points under a plain main() (tests/fuzz/replay_main.c),
# built with $(CC) and -fsanitize=address,undefined when $(CC) has them;
# tests/fuzz-replay.bats runs every seed and every kept crash through them.

FUZZ_TARGETS ?= yaml_stream kubeconfig exec_cred watch_split kube_status \
		vast_project ni_vars smi ignore s3_xml
FUZZ_SECONDS ?= 60
FUZZ_CC      ?= clang
FUZZ_FLAGS   ?= -timeout=10 -rss_limit_mb=2048
# Inputs up to 16 KiB; nvidia-smi's output of 8 GPUs is larger.
fuzz_max_len     = $(or $(fuzz_max_len_$(1)),16384)
fuzz_max_len_smi = 131072
FUZZ_B        = build/fuzz
REPLAY_B      = build/fuzz-replay

# The plugin sources a target needs beside libwlkit.a.
fuzz_extra_vast_project = plugins/vastrun/project.c plugins/vastrun/project_yaml.c
fuzz_extra_ni_vars      = plugins/nodeimage/env.c
fuzz_extra_smi          = plugins/gpusnap/smi.c
fuzz_srcs = tests/fuzz/$(1).c tests/fuzz/fuzz_util.c $(fuzz_extra_$(1))

# The library is not ours to warn about twice: -Werror stays on for
# tests/fuzz/*.c only.
FUZZ_WFLAGS   = $(filter-out -Werror,$(WFLAGS)) -iquote common
FUZZ_COMPILE  = -O1 -g -fno-omit-frame-pointer
FUZZ_SAN      = -fsanitize=address,undefined,float-cast-overflow -fno-sanitize-recover=undefined,float-cast-overflow

# -fsanitize=address,undefined when $(CC) can link with them (probed once,
# when a replay object is first built).
REPLAY_SAN = $(eval REPLAY_SAN := $(shell printf 'int main(void){return 0;}\n' | \
	$(CC) $(FUZZ_SAN) -x c -o /dev/null - >/dev/null 2>&1 && echo '$(FUZZ_SAN)'))$(REPLAY_SAN)

FUZZ_BINS   = $(FUZZ_TARGETS:%=$(FUZZ_B)/fuzz-%)
REPLAY_BINS = $(FUZZ_TARGETS:%=$(REPLAY_B)/replay-%)
FUZZ_LIB_OBJ   = $(COMMON_SRC:%.c=$(FUZZ_B)/%.o)
REPLAY_LIB_OBJ = $(COMMON_SRC:%.c=$(REPLAY_B)/%.o)

unit: $(REPLAY_BINS)

# -- the libFuzzer build (clang) ----------------------------------------

$(FUZZ_B)/.flags: FORCE
	@mkdir -p $(FUZZ_B)
	@echo '$(FUZZ_CC) $(FUZZ_WFLAGS) $(FUZZ_COMPILE) $(FUZZ_SAN)' | cmp -s - $@ || \
		echo '$(FUZZ_CC) $(FUZZ_WFLAGS) $(FUZZ_COMPILE) $(FUZZ_SAN)' > $@

$(FUZZ_B)/%.o: %.c $(FUZZ_B)/.flags
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_WFLAGS) $(FUZZ_COMPILE) $(FUZZ_SAN) -fsanitize=fuzzer-no-link \
		-MMD -MP -c -o $@ $<

$(FUZZ_B)/tests/fuzz/%.o: tests/fuzz/%.c $(FUZZ_B)/.flags
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_WFLAGS) -Werror $(FUZZ_COMPILE) $(FUZZ_SAN) -fsanitize=fuzzer-no-link \
		-MMD -MP -c -o $@ $<

$(FUZZ_B)/libwlkit.a: $(FUZZ_LIB_OBJ)
	@rm -f $@
	$(AR) rcs $@ $^

define fuzz_rule
$(FUZZ_B)/fuzz-$(1): $$(patsubst %.c,$(FUZZ_B)/%.o,$$(call fuzz_srcs,$(1))) $(FUZZ_B)/libwlkit.a
	$$(FUZZ_CC) $$(FUZZ_SAN) -fsanitize=fuzzer -o $$@ \
		$$(patsubst %.c,$(FUZZ_B)/%.o,$$(call fuzz_srcs,$(1))) $(FUZZ_B)/libwlkit.a $$(LIBS)

$(REPLAY_B)/replay-$(1): $$(patsubst %.c,$(REPLAY_B)/%.o,$$(call fuzz_srcs,$(1)) \
		tests/fuzz/replay_main.c) $(REPLAY_B)/libwlkit.a
	$$(CC) $$(REPLAY_SAN) -o $$@ \
		$$(patsubst %.c,$(REPLAY_B)/%.o,$$(call fuzz_srcs,$(1)) tests/fuzz/replay_main.c) \
		$(REPLAY_B)/libwlkit.a $$(LIBS)

fuzz-run-$(1): $(FUZZ_B)/fuzz-$(1)
	@mkdir -p $(FUZZ_B)/corpus/$(1) tests/fuzz/crashes/$(1)
	@$(FUZZ_B)/fuzz-$(1) $(FUZZ_FLAGS) -max_len=$(call fuzz_max_len,$(1)) -max_total_time=$(FUZZ_SECONDS) \
		-print_final_stats=1 -artifact_prefix=tests/fuzz/crashes/$(1)/ \
		$(FUZZ_B)/corpus/$(1) tests/fuzz/corpus/$(1) > $(FUZZ_B)/$(1).log 2>&1; \
	rc=$$$$?; \
	n=$$$$(sed -n 's/^stat::number_of_executed_units: *//p' $(FUZZ_B)/$(1).log); \
	if [ $$$$rc -eq 0 ]; then echo "fuzz: $(1): $$$${n:-?} executions, no crash"; \
	else echo "fuzz: $(1): $$$${n:-?} executions, FAILED (exit $$$$rc; see $(FUZZ_B)/$(1).log," \
		"input in tests/fuzz/crashes/$(1)/)"; exit 1; fi
endef
$(foreach t,$(FUZZ_TARGETS),$(eval $(call fuzz_rule,$(t))))

fuzz-build: $(FUZZ_BINS)

fuzz: fuzz-build
	@$(MAKE) --no-print-directory -k $(FUZZ_TARGETS:%=fuzz-run-%)

# -- the replay build ($(CC), sanitizers when it has them) --------------

$(REPLAY_B)/.flags: FORCE
	@mkdir -p $(REPLAY_B)
	@echo '$(CC) $(FUZZ_WFLAGS) $(FUZZ_COMPILE) $(REPLAY_SAN)' | cmp -s - $@ || \
		echo '$(CC) $(FUZZ_WFLAGS) $(FUZZ_COMPILE) $(REPLAY_SAN)' > $@

$(REPLAY_B)/%.o: %.c $(REPLAY_B)/.flags
	@mkdir -p $(dir $@)
	$(CC) $(FUZZ_WFLAGS) $(FUZZ_COMPILE) $(REPLAY_SAN) -MMD -MP -c -o $@ $<

$(REPLAY_B)/tests/fuzz/%.o: tests/fuzz/%.c $(REPLAY_B)/.flags
	@mkdir -p $(dir $@)
	$(CC) $(FUZZ_WFLAGS) -Werror $(FUZZ_COMPILE) $(REPLAY_SAN) -MMD -MP -c -o $@ $<

$(REPLAY_B)/libwlkit.a: $(REPLAY_LIB_OBJ)
	@rm -f $@
	$(AR) rcs $@ $^

fuzz-replay: $(REPLAY_BINS)

# The target names, for tests/fuzz-replay.bats.
fuzz-targets:
	@echo $(FUZZ_TARGETS)

.PHONY: fuzz fuzz-build fuzz-replay fuzz-targets $(FUZZ_TARGETS:%=fuzz-run-%)

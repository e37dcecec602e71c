# mk/dist.mk - `make dist VERSION=x.y.z`: one reproducible .tar.gz per
# program for linux/amd64 in $(DISTDIR), $(DISTDIR)/SHA256SUMS, and krew
# manifests $(DISTDIR)/krew/<plugin>.yaml for the kubectl plugins.
#
# The release binaries are built apart from the developer build, in
# $(DIST_B), with $(DIST_CFLAGS) and the source paths mapped away, so that
# `make dist` neither rebuilds bin/ nor depends on the checkout's path.
# Each archive is flat: the binary, its kubectl_complete-* helper (the
# kubectl plugins only), its man page and LICENSE.

DISTDIR      ?= dist
DIST_B       ?= build/dist
DIST_URL     ?= https://github.com/wlkit/wlkit/releases/download/v$(VERSION)
DIST_HOME    ?= https://github.com/wlkit/wlkit
DIST_CFLAGS  ?= -O2
DIST_LDFLAGS ?= -s
DIST_OS       = linux
DIST_ARCH     = amd64

DIST_ALL_CFLAGS = $(WFLAGS) $(DIST_CFLAGS) -iquote common \
		  -ffile-prefix-map=$(CURDIR)/=
# The kubectl plugins, i.e. the programs with a krew manifest.
DIST_KUBECTL  = $(filter-out nodeimage,$(PLUGINS))
dist_archive  = $(DISTDIR)/$(call binname,$(1))-$(VERSION)-$(DIST_OS)-$(DIST_ARCH).tar.gz
DIST_ARCHIVES = $(foreach p,$(PLUGINS),$(call dist_archive,$(p)))
DIST_MANIFESTS = $(DIST_KUBECTL:%=$(DISTDIR)/krew/%.yaml)

dist: dist-check $(DIST_ARCHIVES) $(DISTDIR)/SHA256SUMS $(DIST_MANIFESTS)

# Refuses what would make an unusable release: no version, another
# platform than the one the archives are labelled with.
dist-check:
	@echo '$(VERSION)' | grep -Eq '^[0-9]+\.[0-9]+\.[0-9]+(-[0-9A-Za-z.-]+)?$$' || \
		{ echo "dist: VERSION '$(VERSION)' is not a semantic version (x.y.z)" >&2; exit 1; }
	@[ "$$(uname -s)/$$(uname -m)" = Linux/x86_64 ] || \
		{ echo "dist: the archives are for linux/amd64, this is '$$(uname -s)/$$(uname -m)'" >&2; exit 1; }

$(DIST_B)/.flags: FORCE
	@mkdir -p $(DIST_B)
	@echo '$(CC) $(DIST_ALL_CFLAGS) $(DIST_LDFLAGS)' | cmp -s - $@ || \
		echo '$(CC) $(DIST_ALL_CFLAGS) $(DIST_LDFLAGS)' > $@

$(DIST_B)/%.o: %.c $(DIST_B)/.flags
	@mkdir -p $(dir $@)
	$(CC) $(DIST_ALL_CFLAGS) -MMD -MP -c -o $@ $<

$(DIST_B)/libwlkit.a: $(COMMON_SRC:%.c=$(DIST_B)/%.o)
	@rm -f $@
	$(AR) rcsD $@ $^

# dist_rule PLUGIN: its release binary and its archive.
define dist_rule
DIST_$(1)_OBJ = $$(patsubst %.c,$(DIST_B)/%.o,$$(sort $$(wildcard plugins/$(1)/*.c)))
DIST_$(1)_FILES = $(DIST_B)/bin/$(call binname,$(1)) \
	$(if $(filter nodeimage,$(1)),,completions/kubectl_complete-$(1)) \
	man/$(call binname,$(1)).1 LICENSE
$(DIST_B)/bin/$(call binname,$(1)): $$(DIST_$(1)_OBJ) $(DIST_B)/libwlkit.a
	@mkdir -p $$(dir $$@)
	$$(CC) $$(DIST_CFLAGS) $$(DIST_LDFLAGS) -o $$@ $$(DIST_$(1)_OBJ) $(DIST_B)/libwlkit.a $$(LIBS)
$(call dist_archive,$(1)): $$(DIST_$(1)_FILES) dist-tools/pack | dist-check
	@mkdir -p $$(dir $$@)
	dist-tools/pack $$@ $$(DIST_$(1)_FILES)
endef
$(foreach p,$(PLUGINS),$(eval $(call dist_rule,$(p))))

# The sums and the manifests are cheap: always rewritten, so that a new
# DIST_URL or a rebuilt archive is never left out.
$(DISTDIR)/SHA256SUMS: $(DIST_ARCHIVES) FORCE
	cd $(DISTDIR) && sha256sum $(notdir $(DIST_ARCHIVES)) > SHA256SUMS.tmp && \
		mv SHA256SUMS.tmp SHA256SUMS

$(DISTDIR)/krew/%.yaml: $(DISTDIR)/SHA256SUMS dist-tools/krew-manifest FORCE
	@mkdir -p $(dir $@)
	dist-tools/krew-manifest $* $(VERSION) $(call dist_archive,$*) \
		'$(DIST_URL)' '$(DIST_HOME)' man/kubectl-$*.1 > $@.tmp && mv $@.tmp $@

.PHONY: dist dist-check

#!/usr/bin/env bats
# The man pages name every flag the programs take: a program's own flags in
# its page, the shared kubectl flags in wlkit(7). Flags come from the
# programs themselves (__complete), so a new flag without documentation
# fails here.

load helpers

# the shared kubectl connection flags and -v/--quiet are documented once, in wlkit(7)
GLOBAL="kubeconfig context cluster user namespace server token certificate-authority client-certificate client-key tls-server-name insecure-skip-tls-verify request-timeout quiet"

# in_man PAGE FLAG: FLAG (--name) is written in PAGE, roff-escaped
in_man() {
	grep -qF -- "$(printf '%s' "$2" | sed 's/-/\\-/g')" "$1"
}

@test "every flag of every command is documented in its man page or wlkit(7)" {
	local missing="" p c f
	for p in kubectl-wlrun kubectl-vkcmd kubectl-gpusnap kubectl-wlbuild gcloud-nodeimage kubectl-vastrun; do
		for c in $("$p" __complete "" | cut -f1 | grep -v '^:'); do
			for f in $("$p" __complete "$c" -- | cut -f1 | grep '^--'); do
				[ "$f" = --v ] && f=-v	# written -v N, as kubectl's
				case " $GLOBAL -v " in
				*" ${f#--} "*) in_man "$WLKIT_ROOT/man/wlkit.7" "$f" || missing+=" wlkit.7:$f" ;;
				*) in_man "$WLKIT_ROOT/man/$p.1" "$f" || missing+=" $p $c:$f" ;;
				esac
			done
		done
	done
	[ -z "$missing" ] || { echo "undocumented:$missing"; false; }
}

@test "every man page renders without mandoc errors" {
	command -v mandoc >/dev/null || skip "mandoc is not installed"
	run mandoc -Tlint -W warning "$WLKIT_ROOT"/man/*.1 "$WLKIT_ROOT/man/wlkit.7"
	refute_output --partial "ERROR"
}

#!/usr/bin/env bats
# make install / uninstall into a temporary DESTDIR, and what was installed
# checked where it lies: man pages (man, mandoc lint), the bash, zsh and fish
# completions in their shells, the kubectl_complete-* helpers through the
# real kubectl. The tree is installed once (setup_file); the last test
# uninstalls it.

load helpers

PROGS="kubectl-wlbuild kubectl-wlrun kubectl-gpusnap kubectl-vastrun kubectl-vkcmd gcloud-nodeimage"

# Per program, what a completion must offer: "PROGRAM|LINE AFTER IT|WORDS",
# WORDS as the program answers (bash shows what follows its last = or :).
CASES=(
	"kubectl-wlrun|de|delete"
	"kubectl-wlrun|--acc|--accelerator"
	"kubectl-wlrun|create --kind=j|--kind=job --kind=jobset"
	"kubectl-wlbuild|st|status"
	"kubectl-wlbuild|--dock|--dockerfile"
	"kubectl-gpusnap|sn|snapshot"
	"kubectl-gpusnap|--format |json yaml"
	"kubectl-vastrun|run-|run-cleanup"
	"kubectl-vastrun|run --proj|--project-file"
	"kubectl-vkcmd|pipe-r|pipe-runner"
	"kubectl-vkcmd|--runtime=a|--runtime=apptainer"
	"gcloud-nodeimage|ref|ref-pool"
	"gcloud-nodeimage|ref-pool --vars|--vars-dir"
)

setup_file() {
	export BATS_NO_PARALLELIZE_WITHIN_FILE=true
	export DEST=$BATS_FILE_TMPDIR/root
	export INST=$DEST/opt/wlkit
	make -C "$WLKIT_ROOT" --no-print-directory install DESTDIR="$DEST" PREFIX=/opt/wlkit \
		SANITIZE="${SANITIZE:-}" >"$BATS_FILE_TMPDIR/install.log" 2>&1 ||
		{ cat "$BATS_FILE_TMPDIR/install.log" >&3; return 1; }
	# The shells and kubectl see only the installed programs, never bin/.
	export IPATH=$INST/bin:/usr/bin:/bin
	export HOME=$BATS_FILE_TMPDIR/home XDG_CONFIG_HOME=$BATS_FILE_TMPDIR/home/.config \
		XDG_DATA_HOME=$BATS_FILE_TMPDIR/home/.local/share KUBECONFIG=/dev/null
	mkdir -p "$HOME" "$BATS_FILE_TMPDIR/empty"
	write_zsh_capture "$BATS_FILE_TMPDIR/capture.zsh"
}

# write_zsh_capture FILE: a zsh script "capture.zsh SITE DUMP LINE..." that
# types each LINE and a tab, one after the other, into one interactive
# `zsh -f` (SITE first on fpath, compinit -C from the dump file DUMP) under
# zsh/zpty and prints every match compsys adds, "<word>" a line, and
# whatever else the completion printed (its errors too), then "@@END@@".
# A completion that works only the first time in a shell shows.
write_zsh_capture() {
	cat >"$1" <<'EOF'
zmodload zsh/zpty || exit 2
site=$1 dump=$2 setup=$2.setup
shift 2
cat >$setup <<SETUP
PS1= PS2= RPS1=
fpath=(${(q)site} \${(M)fpath:#*/Completion(|/Base|/Unix|/Zsh)})
autoload -Uz compinit && compinit -C -d ${(q)dump}
bindkey -e
zstyle ':completion:*' list-grouped false
zstyle ':completion:*' insert-tab false
SETUP
cat >>$setup <<'SETUP'
compadd() {
	if [[ ${@[1,(i)(-|--)]} == *-(O|A|D)\ * ]]; then
		builtin compadd "$@"; return $?
	fi
	local -a __hits __dscr; local __t i
	if (( $@[(I)-d] )); then
		__t=${@[$[${@[(i)-d]}+1]]}
		if [[ $__t == \(* ]]; then eval "__dscr=$__t"; else __dscr=("${(@P)__t}"); fi
	fi
	builtin compadd -A __hits -D __dscr "$@"
	for i in {1..$#__hits}; do print -r -- "<$__hits[$i]>"; done
}
wl_begin() { print -r -- "@@""BEGIN@@" }
wl_end() { print -r -- "@@""END@@" }
# compsys empties these after each completion: set them each time
wl_complete() { compprefuncs=(wl_begin); comppostfuncs=(wl_end); zle complete-word }
zle -N wl_complete
bindkey '^I' wl_complete
SETUP
zpty z 'zsh -f -i'
zpty -w z "source ${(q)setup}"
local line out
for line; do
	zpty -n -w z "$line"$'\t'
	zpty -r z out '*@@END@@*' || exit 1
	out=${out##*@@BEGIN@@}
	out=${out%%@@END@@*}
	print -rn -- "${out//$'\r'/}"
	print -r -- "@@END@@"
	zpty -n -w z $'\C-u\n'
done
zpty -d z
EOF
}

# sorted WORDS...: the words, one a line, sorted.
sorted() {
	printf '%s\n' "$@" | LC_ALL=C sort
}

@test "make install puts binaries, helpers, man pages and completions under DESTDIR/PREFIX" {
	for b in $PROGS; do
		[ -x "$INST/bin/$b" ]
		[ -f "$INST/share/man/man1/$b.1" ]
		[ -f "$INST/share/bash-completion/completions/$b" ]
		[ -f "$INST/share/zsh/site-functions/_$b" ]
		[ -f "$INST/share/fish/vendor_completions.d/$b.fish" ]
		case $b in kubectl-*) [ -x "$INST/bin/kubectl_complete-${b#kubectl-}" ] ;; esac
		PATH=$IPATH run -0 "$b" --version
		assert_output --partial "0."
	done
	[ -f "$INST/share/man/man7/wlkit.7" ]
}

# -W style is mandoc's strictest level (style < warning < error): the
# pages are clean at it, so any new finding fails.
@test "every installed man page renders with man -l and is clean under mandoc -Tlint -W style and groff warnings" {
	for p in "$INST"/share/man/man1/*.1 "$INST"/share/man/man7/wlkit.7; do
		run -0 --separate-stderr man --warnings -l "$p"
		assert_output --partial "NAME"
		case $p in *.1) assert_output --partial "SYNOPSIS" ;; esac
		[ -z "$stderr" ] || fail "$p: $stderr"
	done
	run -0 mandoc -Tlint -W style "$INST"/share/man/man1/*.1 "$INST"/share/man/man7/wlkit.7
	assert_output ""
	[ "$(ls "$INST"/share/man/man1/*.1 | wc -l)" -eq 6 ]
}

@test "bash: each completion loads in bash --norc and completes subcommands, flags and --flag=value" {
	# The driver splits LINE the way bash does (blanks, then = and : as
	# words of their own), sets COMP_WORDS, COMP_CWORD, COMP_LINE and
	# COMP_POINT and calls the function `complete -p` names.
	cat >"$BATS_TEST_TMPDIR/drive.bash" <<'EOF'
set -u
source "$1" || exit 3
prog=$2 line="$2 $3"
spec=$(complete -p "$prog") || exit 4
fn=${spec#*-F } fn=${fn%% *}
read -ra ws <<<"$line"
[[ $line == *" " ]] && ws+=("")
COMP_WORDS=()
for w in "${ws[@]}"; do
	while [[ $w =~ ^([^=:]*)([=:]+)(.*)$ ]]; do
		[[ -n ${BASH_REMATCH[1]} ]] && COMP_WORDS+=("${BASH_REMATCH[1]}")
		COMP_WORDS+=("${BASH_REMATCH[2]}")
		w=${BASH_REMATCH[3]}
		[[ -n $w ]] || continue 2
	done
	COMP_WORDS+=("$w")
done
COMP_CWORD=$((${#COMP_WORDS[@]} - 1)) COMP_LINE=$line COMP_POINT=${#line}
COMPREPLY=()
"$fn" "$prog" "${COMP_WORDS[COMP_CWORD]}" "${COMP_WORDS[COMP_CWORD-1]}" || exit 5
printf '%s\n' "${COMPREPLY[@]}"
EOF
	cd "$BATS_FILE_TMPDIR/empty"
	for c in "${CASES[@]}"; do
		IFS='|' read -r prog line want <<<"$c"
		# bash replaces only what follows the last = (a COMP_WORDBREAKS)
		[[ $line == *=* ]] && want=$(for w in $want; do printf '%s ' "${w##*=}"; done)
		PATH=$IPATH run -0 --separate-stderr bash --norc --noprofile "$BATS_TEST_TMPDIR/drive.bash" \
			"$INST/share/bash-completion/completions/$prog" "$prog" "$line"
		[ -z "$stderr" ] || fail "$prog $line: $stderr"
		[ "$(sorted $output)" = "$(sorted $want)" ] || fail "bash: $prog $line<TAB>: got '$output', want '$want'"
	done
}

@test "zsh: compinit registers each completion without errors; each completes subcommands, flags and --flag=value" {
	cd "$BATS_FILE_TMPDIR/empty"
	local dump=$BATS_TEST_TMPDIR/zcompdump
	for b in $PROGS; do
		run -0 zsh -n "$INST/share/zsh/site-functions/_$b"
	done
	# A full compinit (it reads every file's #compdef line) writes the dump
	# the session below starts from; fpath: ours and compsys's own (Base,
	# Unix, Zsh), not the 2,000 other commands' completions.
	run -0 --separate-stderr env PATH="$IPATH" zsh -f -c '
		fpath=("$1" ${(M)fpath:#*/Completion(|/Base|/Unix|/Zsh)})
		autoload -Uz compinit && compinit -u -d "$2" || exit 1
		shift 2
		for b; do print -r -- "$b $_comps[$b]"; autoload +X _$b && (( $+functions[_$b] )) || exit 1; done' \
		zsh "$INST/share/zsh/site-functions" "$dump" $PROGS
	[ -z "$stderr" ] || fail "zsh: $stderr"
	for b in $PROGS; do
		assert_line "$b _$b"
	done
	local -a typed=() got=() block=()
	for c in "${CASES[@]}"; do
		IFS='|' read -r prog line want <<<"$c"
		typed+=("$prog $line")
	done
	PATH=$IPATH run -0 timeout 30 zsh -f "$BATS_FILE_TMPDIR/capture.zsh" \
		"$INST/share/zsh/site-functions" "$dump" "${typed[@]}"
	for l in "${lines[@]}"; do
		if [ -z "$l" ]; then
			continue
		elif [ "$l" = "@@END@@" ]; then
			got+=("${block[*]}")
			block=()
		elif [[ $l == \<*\> ]]; then
			l=${l#<}
			block+=("${l%>}")
		else
			fail "zsh: a completion printed more than matches: $l"
		fi
	done
	[ "${#got[@]}" -eq "${#CASES[@]}" ] || fail "zsh: ${#got[@]} completions for ${#CASES[@]} lines: $output"
	for i in "${!CASES[@]}"; do
		IFS='|' read -r prog line want <<<"${CASES[i]}"
		[ "$(sorted ${got[i]})" = "$(sorted $want)" ] || fail "zsh: $prog $line<TAB>: got '${got[i]}', want '$want'"
	done
}

@test "fish: each completion loads in fish --no-config and complete -C lists subcommands, flags and --flag=value" {
	cd "$BATS_FILE_TMPDIR/empty"
	for c in "${CASES[@]}"; do
		IFS='|' read -r prog line want <<<"$c"
		PATH=$IPATH run -0 --separate-stderr fish --no-config -c 'source $argv[1]; and complete -C $argv[2]' \
			"$INST/share/fish/vendor_completions.d/$prog.fish" "$prog $line"
		[ -z "$stderr" ] || fail "fish: $prog: $stderr"
		got=$(printf '%s\n' "${lines[@]}" | cut -f1)
		[ "$(sorted $got)" = "$(sorted $want)" ] || fail "fish: $prog $line: got '$output', want '$want'"
	done
	# descriptions come along
	PATH=$IPATH run -0 fish --no-config -c 'source $argv[1]; and complete -C $argv[2]' \
		"$INST/share/fish/vendor_completions.d/kubectl-wlrun.fish" "kubectl-wlrun de"
	assert_output "delete	Delete workloads"
}

@test "every kubectl_complete-* helper answers the real kubectl's __complete for its plugin" {
	cd "$BATS_FILE_TMPDIR/empty"
	for c in "${CASES[@]}"; do
		IFS='|' read -r prog line want <<<"$c"
		case $prog in kubectl-*) ;; *) continue ;; esac
		read -ra args <<<"$line"
		[[ $line == *" " ]] && args+=("")
		PATH=$IPATH run -0 --separate-stderr kubectl __complete "${prog#kubectl-}" "${args[@]}"
		# stderr carries kubectl's own [Debug] lines
		assert_output --regexp $'\n:[0-9]+$'
		got=$(printf '%s\n' "${lines[@]}" | sed '$d' | cut -f1)
		[ "$(sorted $got)" = "$(sorted $want)" ] || fail "kubectl __complete ${prog#kubectl-} $line: got '$output', want '$want'"
	done
	# kubectl offers the plugins themselves as commands
	PATH=$IPATH run -0 --separate-stderr kubectl __complete wl
	assert_line --regexp $'^wlbuild\t'
	assert_line --regexp $'^wlrun\t'
}

@test "kubectl plugin list with the installed bin dir on PATH lists the five plugins and prints no warning" {
	PATH=$IPATH run -0 kubectl plugin list
	for b in $PROGS; do
		case $b in kubectl-*) assert_line "$INST/bin/$b" ;; esac
	done
	refute_output --partial "warning"
	refute_output --partial "kubectl_complete"
}

@test "make uninstall removes everything make install put there" {
	run -0 make -C "$WLKIT_ROOT" --no-print-directory uninstall DESTDIR="$DEST" PREFIX=/opt/wlkit
	run -0 find "$DEST" -type f
	assert_output ""
}

@test "the wlkit(7) page documents the stream protocol, exit codes and environment" {
	run -0 man -l "$WLKIT_ROOT/man/wlkit.7"
	assert_output --partial "THE STREAM PROTOCOL"
	assert_output --partial "124"
	assert_output --partial "125"
	assert_output --partial "WLKIT_SERVICEACCOUNT_DIR"
	assert_output --partial "</dev/null"
}

@test "make deps prints the exact apt-get command for what is missing when not root" {
	local stubs=$BATS_TEST_TMPDIR/stubs
	mkdir -p "$stubs"
	# bats-assert is missing and we are not root
	printf '#!/bin/sh\ncase "$*" in *bats-assert*) exit 1;; esac\necho "install ok installed"\n' >"$stubs/dpkg-query"
	printf '#!/bin/sh\necho 1000\n' >"$stubs/id"
	chmod +x "$stubs/dpkg-query" "$stubs/id"
	PATH="$stubs:$PATH" run -2 make -C "$WLKIT_ROOT" --no-print-directory deps
	assert_output --partial "missing Debian packages; run: sudo apt-get install -y bats-assert"
}

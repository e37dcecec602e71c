/* ignore.h - which files of a build context are left out of the upload.
 *
 * ignore_load() picks the rules for a directory the way `gcloud builds
 * submit` (and `gcloud meta list-files-for-upload`) does, then falls back to
 * Docker's for wlkit's local builds:
 *
 *  1. DIR/.gcloudignore, when it can be read: gcloud's gitignore dialect.
 *  2. else, when DIR/.git or DIR/.gitignore exists: the default file gcloud
 *     generates (".gcloudignore", ".git", ".gitignore", then
 *     "#!include:.gitignore" when .gitignore exists); nothing is written.
 *  3. else DIR/.dockerignore, when it can be read: Docker's dialect.
 *  4. else nothing is left out.
 *
 * gcloud's dialect, as its gcloudignore.py and glob.py implement it (which
 * is not quite git's):
 *  - lines split as Python's str.splitlines(); a line starting with '#' is a
 *    comment, unless what follows the '#' (leading blanks skipped) starts
 *    with "!include:": the rest of the line names a file in DIR whose rules
 *    are inserted there (a '/' in the name is an error, a missing file is an
 *    error, "#!include:" inside an included file is ignored);
 *  - '!' negates; a trailing '/' (removed before anything else) matches
 *    directories only (a symlink to a directory counts as one);
 *  - unescaped trailing spaces are trimmed, "\ " is a space, "\x" is x, a
 *    line ending in an odd number of '\' is dropped, blank lines are dropped;
 *    an escaped '*', '?' or '[' stays a wildcard (gcloud unescapes before
 *    globbing);
 *  - the pattern is split at '/' and matched part by part from the right
 *    against the path's last parts with Python's fnmatch (case-sensitive,
 *    '*' and '?' match dots, "[!...]" negates, ranges, no escapes); so a
 *    pattern matches at any depth unless it starts with '/' (a middle '/'
 *    does not anchor: "a/b" matches "x/a/b"); a part "**" matches any number
 *    of leading directories and anchors what is left of it at the root (a
 *    trailing "**" part also matches the directory before it); a lone "*"
 *    never spans two directories whose parent name is longer than one
 *    character (gcloud's quirk);
 *  - the last matching rule wins, checked for every leading directory of a
 *    path in turn: once a directory is left out nothing under it can be put
 *    back by a later '!' rule.
 *
 * Docker's dialect (moby/patternmatcher and its ignorefile reader): '#'
 * comments only at the start of a line, surrounding blanks trimmed, paths
 * cleaned (filepath.Clean) and anchored at DIR, a leading '/' dropped, '*'
 * and '?' never match '/', "**" matches any number of directories, '\'
 * escapes, "[...]" / "[^...]" classes; a rule matches a path or any of its
 * parents; the last matching rule wins, and '!' can put back a file under a
 * left-out directory (the directory's own entry stays out).
 *
 * Not implemented: gcloud's global `gcloudignore/enabled=false` property and
 * its --ignore-file flag.
 *
 * Ownership: ignore_load() gives the caller a struct ignore to free with
 * ignore_free(). Paths passed in are borrowed, relative to DIR, '/'-separated,
 * without "./", "//" or a trailing '/'. Functions returning int give 0 or -1
 * with a message in *err.
 */
#ifndef WLKIT_IGNORE_H
#define WLKIT_IGNORE_H

#include <stdbool.h>

#include "buf.h"

enum ignore_kind {
	IGNORE_NONE,		/* nothing is left out */
	IGNORE_GCLOUD,		/* .gcloudignore or gcloud's default */
	IGNORE_DOCKER,		/* .dockerignore */
};

struct ignore;

/* Loads the rules that apply to the directory dir (see above). */
int ignore_load(const char *dir, struct ignore **out, struct buf *err);
/* Parses rules given as text in one dialect; dir is where "#!include:" files
 * are read from (NULL: includes are an error). For tests and callers with
 * their own ignore file. */
int ignore_parse(enum ignore_kind kind, const char *text, const char *dir,
		 struct ignore **out, struct buf *err);
void ignore_free(struct ignore *ig);

enum ignore_kind ignore_kind(const struct ignore *ig);
/* What the rules came from, for messages: ".gcloudignore", "default
 * .gcloudignore", ".dockerignore" or "none". */
const char *ignore_source(const struct ignore *ig);
/* The number of rules (after includes). */
int ignore_count(const struct ignore *ig);

/* True when the path is left out. is_dir: the path is a directory or a
 * symlink to one. */
bool ignore_excluded(const struct ignore *ig, const char *path, bool is_dir);
/* For a directory that ignore_excluded() left out: true when a walk must
 * still look inside it because a later rule may put files back (Docker's
 * dialect only; gcloud never re-includes under a left-out directory). */
bool ignore_descend(const struct ignore *ig, const char *dir_path);

#endif

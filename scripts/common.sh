# scripts/common.sh -- shell functions shared by scripts/test, scripts/demo
# and scripts/pg-majors.
#
# Sourced, not run.  test and demo must work on a fresh Debian 12 machine,
# as root (CI) or as a user with sudo: they install what they need, and run
# PostgreSQL as an unprivileged user, since it refuses to run as root.

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)

# the unprivileged user that runs clusters when we are root
TEST_USER=dbreset_test

say() { printf '%s: %s\n' "${0##*/}" "$*" >&2; }
die() { printf '%s: error: %s\n' "${0##*/}" "$*" >&2; exit 1; }
# refuse MSG: what must not be done, e.g. a server and headers that must not
# be paired (pg-majors): exit 3
refuse() { printf '%s: refused: %s\n' "${0##*/}" "$*" >&2; exit 3; }

# as_root CMD...: run as root, through sudo when we are not root
as_root() {
	if [ "$(id -u)" -eq 0 ]; then
		"$@"
	else
		sudo "$@"
	fi
}

# as_test_user CMD...: run as the user that owns the clusters
as_test_user() {
	if [ "$(id -u)" -eq 0 ]; then
		runuser -u "$TEST_USER" -- "$@"
	else
		"$@"
	fi
}

# ensure_packages PKG...: install the Debian packages that are missing
ensure_packages() {
	local missing=() p
	for p in "$@"; do
		dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'ok installed' ||
			missing+=("$p")
	done
	[ ${#missing[@]} -eq 0 ] && return 0
	say "installing ${missing[*]}"
	as_root apt-get update -q >&2 || die "apt-get update failed"
	as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q \
		--no-install-recommends "${missing[@]}" >&2 ||
		die "apt-get install ${missing[*]} failed"
}

# ensure_base: the build and PostgreSQL 15 from Debian, and the TAP modules
ensure_base() {
	ensure_packages make gcc postgresql-15 postgresql-client-15 \
		postgresql-server-dev-15 libipc-run-perl
	if [ "$(id -u)" -eq 0 ] && ! id "$TEST_USER" >/dev/null 2>&1; then
		useradd --create-home --shell /bin/bash "$TEST_USER" ||
			die "could not create user $TEST_USER"
	fi
}

# Exit hooks: at_exit CMD runs CMD (eval'd) when the script exits, the
# latest first; an interrupt or TERM exits through them too.
EXIT_HOOKS=()
at_exit() { EXIT_HOOKS+=("$1"); }
run_exit_hooks() {
	local i
	for ((i = ${#EXIT_HOOKS[@]} - 1; i >= 0; i--)); do
		eval "${EXIT_HOOKS[i]}" || true
	done
	EXIT_HOOKS=()
}
trap run_exit_hooks EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# cache_dir: where scripts/pg-majors keeps the downloaded and assembled
# PostgreSQL prefixes, shared by all runs (its flock serialises fetches).
# .cache/pg in the clone, unless we are root and the test user cannot reach
# into the clone (a clone under a private directory): then
# /var/tmp/dbreset-cache.  Runs never use the cache directly: they copy a
# prefix into their own directory (see new_run_dir).
cache_dir() {
	local d=/var/tmp/dbreset-cache
	if [ "$(id -u)" -eq 0 ] &&
		! runuser -u "$TEST_USER" -- test -x "$ROOT" 2>/dev/null; then
		mkdir -p "$d"
		# made by root in a world-writable directory: must be root's own
		[ -d "$d" ] && [ ! -L "$d" ] && [ "$(stat -c %u "$d")" -eq 0 ] ||
			die "$d exists and is not a directory of root's"
		chmod 755 "$d"
		echo "$d"
	else
		echo "$ROOT/.cache/pg"
	fi
}

# new_run_dir: this run's own directory, $RUN (mode 755, under /var/tmp):
# build trees, owned by the test user, and the copies of the PostgreSQL
# prefixes that dbreset is installed into.  Removed at exit -- only it,
# nothing another run made -- unless DBRESET_KEEP_RUN is set.
new_run_dir() {
	RUN=$(mktemp -d /var/tmp/dbreset-run.XXXXXX) ||
		die "could not create a directory under /var/tmp"
	chmod 755 "$RUN"
	at_exit remove_run_dir
}
remove_run_dir() {
	if [ -n "${DBRESET_KEEP_RUN:-}" ]; then
		say "kept $RUN (DBRESET_KEEP_RUN is set)"
	else
		rm -rf "$RUN"
	fi
}

# sync_tree DEST: a copy of the source tree (tracked and new files, not the
# caches) owned by the test user, so that builds and test output of several
# majors never mix and PostgreSQL can write there.
sync_tree() {
	local dest=$1
	rm -rf "$dest"
	mkdir -p "$dest"
	if git -C "$ROOT" rev-parse --git-dir >/dev/null 2>&1; then
		(cd "$ROOT" && git ls-files -co --exclude-standard -z |
			grep -zv '^\.cache/\|^\.build/' |
			xargs -0 tar -cf - --) | tar -xf - -C "$dest"
	else
		(cd "$ROOT" && tar -cf - --exclude=./.cache --exclude=./.build .) |
			tar -xf - -C "$dest"
	fi
	if [ "$(id -u)" -eq 0 ]; then
		chown -R "$TEST_USER" "$dest"
	fi
}

# build_install DIR PG_CONFIG [MAKE ARGS...]: build as the test user, and
# install into PG_CONFIG's prefix as ourselves: a per-run copy of a cached
# prefix (scripts/pg-majors copy), ours, never the system's directories.
build_install() {
	local dir=$1 pg_config=$2
	shift 2
	as_test_user make -s -C "$dir" PG_CONFIG="$pg_config" "$@" >&2 ||
		return 1
	make -s -C "$dir" PG_CONFIG="$pg_config" "$@" install >&2
}

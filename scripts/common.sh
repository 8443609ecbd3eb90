# scripts/common.sh -- shell functions shared by scripts/test and scripts/demo.
#
# Sourced, not run.  Both scripts must work on a fresh Debian 12 machine,
# as root (CI) or as a user with sudo: they install what they need, and run
# PostgreSQL as an unprivileged user, since it refuses to run as root.

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)

# the unprivileged user that runs clusters when we are root
TEST_USER=dbreset_test

say() { printf '%s: %s\n' "${0##*/}" "$*" >&2; }
die() { printf '%s: error: %s\n' "${0##*/}" "$*" >&2; exit 1; }

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

# work_dir: where builds and downloaded servers go.  The repository itself,
# unless we are root and the test user cannot reach into it (a clone under
# a private directory): PostgreSQL, running as that user, must be able to
# read its own binaries and the build tree.
work_dir() {
	if [ "$(id -u)" -eq 0 ] &&
		! runuser -u "$TEST_USER" -- test -x "$ROOT" 2>/dev/null; then
		mkdir -p /var/tmp/dbreset-work
		chmod 755 /var/tmp/dbreset-work
		echo /var/tmp/dbreset-work
	else
		echo "$ROOT"
	fi
}

# build_install DIR PG_CONFIG: build as the test user, install as root
build_install() {
	local dir=$1 pg_config=$2
	as_test_user make -s -C "$dir" PG_CONFIG="$pg_config" >&2 ||
		return 1
	as_root make -s -C "$dir" PG_CONFIG="$pg_config" install >&2
}

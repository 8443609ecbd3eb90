# shellcheck shell=bash
# scripts/pg-majors.d/system.sh -- the system kind: 15, a copy of the
# system's Debian packages postgresql-15, postgresql-client-15 and
# postgresql-server-dev-15 (installed with apt if missing): the files of
# /usr/lib/postgresql/15, /usr/share/postgresql/15 and
# /usr/include/postgresql/15 under <prefix>/usr/..., the same relative
# layout, so that the server finds its share and lib directories relative
# to its binary.  The packages' files only, not what anyone installed into
# those directories since.  Sourced by scripts/pg-majors.

SYSTEM_PACKAGES=("postgresql-$SYSTEM_MAJOR" "postgresql-client-$SYSTEM_MAJOR"
	"postgresql-server-dev-$SYSTEM_MAJOR")

# "postgresql-15=15.20-0+deb12u1 ...": the installed versions of the
# system packages the 15 copy is made of
system_debs() {
	local p v out=()
	for p in "${SYSTEM_PACKAGES[@]}"; do
		v=$(dpkg-query -W -f='${Version}' "$p" 2>/dev/null) || v=none
		out+=("$p=$v")
	done
	echo "${out[*]}"
}

# system_dev_version DEBS: the version of postgresql-server-dev-15 in DEBS,
# as system_debs prints them
system_dev_version() {
	tr ' ' '\n' <<<"$1" | sed -n "s/^postgresql-server-dev-$SYSTEM_MAJOR=//p"
}

# the hooks of the kind (kind_do in scripts/pg-majors)
system_ready() { [[ $(stamp_get "$1" debs 2>/dev/null) == "$(system_debs)" ]]; }
system_headers_deb() { system_dev_version "$(stamp_get "$1" debs)"; }
system_info() { echo "(copy of $(stamp_get "$1" debs))"; }

# The system's 15 packages (the source of the 15 copy and of the TAP modules).
ensure_system_packages() {
	local m=$SYSTEM_MAJOR pkgs=("${SYSTEM_PACKAGES[@]}" libipc-run-perl) install
	if [[ -x $SYSTEM_PREFIX/bin/postgres && -x $SYSTEM_PREFIX/bin/psql &&
		-f $SYSTEM_PREFIX/lib/pgxs/src/makefiles/pgxs.mk ]] &&
		perl -MIPC::Run -e1 2>/dev/null; then
		return 0
	fi
	[[ $(id -u) == 0 ]] || die "PG $m: system install incomplete; as root run: apt-get install ${pkgs[*]}"
	say "PG $m: installing ${pkgs[*]} from the system's apt sources"
	install=(env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${pkgs[@]}")
	if ! "${install[@]}" >&2; then
		apt-get -q update >&2 || die "PG $m: apt-get update failed"
		"${install[@]}" >&2 || die "PG $m: apt-get install ${pkgs[*]} failed"
	fi
}

system_fetch() {
	local m=$1 prefix list debs bin ver
	ensure_system_packages
	debs=$(system_debs)
	if cached "$m" "copy of $debs"; then
		return 0
	fi
	new_work "$m"
	prefix=$WORK/prefix
	mkdir -p "$prefix"
	list=$WORK/files
	dpkg -L "${SYSTEM_PACKAGES[@]}" |
		grep -E "^/usr/(lib/postgresql/$m|share/postgresql/$m|include/postgresql/$m)(/|\$)" |
		while IFS= read -r f; do [[ -e $f || -L $f ]] && printf '%s\n' "${f#/}"; done |
		sort -u >"$list"
	tar -C / --no-recursion -cf - -T "$list" | tar -C "$prefix" -xf - ||
		die "PG $m: copying the system install failed"
	bin=$prefix/usr/lib/postgresql/$m/bin
	[[ -x $bin/postgres && -f $prefix/usr/include/postgresql/$m/server/postgres.h ]] ||
		die "PG $m: the copy of $debs lacks bin/postgres or the server headers"
	pg_config_from_real "$m" "$prefix" "copy of the system's PostgreSQL $m ($debs)." "$bin/pg_config"
	ver=${PGC[version]#PostgreSQL }
	check_server "$m" "$prefix" "$ver" "$(system_dev_version "$debs")" "copied "
	finish_prefix "$m" "$prefix" "layout=debian" "version=$ver" "debs=$debs"
	say "PG $m: ready in $CACHE/$m (copy of $debs)"
}

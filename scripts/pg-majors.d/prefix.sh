# shellcheck shell=bash
# scripts/pg-majors.d/prefix.sh -- what the prefixes of every kind share:
# stamps, layout, the server/headers check, the pg_config stand-in,
# wrappers, PGXS fixes, copies.  Sourced by scripts/pg-majors.
#
# Each prefix has a pg_config stand-in that computes every path from its own
# location (the npm build ships no pg_config, Debian's would print the
# system's paths), so a prefix can be copied: scripts/test and scripts/demo
# install dbreset into a per-run copy ("copy"), never into the cache.  PGXS
# TAP tests use the PostgreSQL::Test perl modules of the system's 15.
#
# Headers never newer than the server: a module built against minor X loads
# only into servers of minor X or later (17.12's headers call
# heap_datum_check(), which 17.10 lacks).  fetch refuses such a pair, and so
# does `check`, which scripts/test runs before building each major.

# Bump STAMP_FORMAT when the layout this script builds changes: prefixes with
# another stamp are rebuilt on the next fetch.
STAMP_FORMAT=2

stamp_file() { echo "$CACHE/$1/.pg-majors-stamp"; }

stamp_get() { # stamp_get MAJOR KEY
	local f
	f=$(stamp_file "$1")
	[[ -f $f ]] || return 1
	sed -n "s/^$2=//p" "$f" | head -n1
}

# Paths of the programs and of the server headers in a prefix of MAJOR: the
# npm build's own layout, or the Debian packages' (system, debian)
bin_rel() {
	case $(major_kind "$1") in
	npm) echo bin ;;
	*) echo "usr/lib/postgresql/$1/bin" ;;
	esac
}
server_include_rel() {
	case $(major_kind "$1") in
	npm) echo include/postgresql/server ;;
	*) echo "usr/include/postgresql/$1/server" ;;
	esac
}
pg_config_rel() { echo "$(bin_rel "$1")/pg_config"; }
postgres_rel() { echo "$(bin_rel "$1")/postgres"; }

is_ready() { # the cached prefix of MAJOR is complete and built by this script version
	local m=$1
	[[ $(stamp_get "$m" format 2>/dev/null) == "$STAMP_FORMAT" &&
		-x $CACHE/$m/$(pg_config_rel "$m") ]] || return 1
	kind_do ready "$m"
}

require_ready() {
	is_ready "$1" || die "PG $1 is not fetched: run 'scripts/pg-majors fetch $1'"
}

# cached MAJOR WHAT: whether the cached prefix of MAJOR is ready; if so, say
# so and WHAT it holds
cached() {
	is_ready "$1" || return 1
	say "PG $1: cached ($CACHE/$1, $2)"
}

pg_version() {
	local v
	v=$("$CACHE/$1/$(pg_config_rel "$1")" --version) || die "PG $1: pg_config --version failed"
	v=${v#PostgreSQL }
	echo "${v%% *}"
}

# ---------------------------------------------------------------------------
# server and headers: never headers of a newer minor than the server

# A PostgreSQL or Debian package version in dpkg's order: "17.12-0+deb13u1"
# -> "17.12", "1:19~rc1-1" -> "19~rc1", "19rc1" -> "19~rc1".
pg_upstream() {
	local v=${1#*:}
	[[ $v == *-* ]] && v=${v%-*}
	sed -E 's/^([0-9.]+)(devel|alpha|beta|rc)/\1~\2/' <<<"$v"
}

# pg_newer A B: version A is newer than B (both through pg_upstream)
pg_newer() {
	local rc=0
	dpkg --compare-versions "$(pg_upstream "$1")" gt "$(pg_upstream "$2")" || rc=$?
	((rc < 2)) || die "cannot compare PostgreSQL versions '$1' and '$2'"
	return "$rc"
}

# check_pair MAJOR ROOT HEADERS_DEB: refuse the prefix ROOT of MAJOR if its
# server headers -- package postgresql-server-dev-MAJOR of Debian version
# HEADERS_DEB, and the PG_VERSION of their pg_config.h -- are of a newer
# minor than its `postgres --version`.  Prints "SERVER HEADERS".
check_pair() {
	local m=$1 root=$2 deb=$3 srv hdr out
	out=$("$root/$(postgres_rel "$m")" --version) || die "PG $m: $(postgres_rel "$m") --version failed"
	srv=$(sed -n 's/^postgres (PostgreSQL) \([^ ]*\).*/\1/p' <<<"$out")
	[[ -n $srv ]] || die "PG $m: cannot read the server version from '$out'"
	# Debian's: "17.12 (Debian 17.12-0+deb13u1)"
	hdr=$(sed -n 's/^#define PG_VERSION "\([^ "]*\).*/\1/p' "$root/$(server_include_rel "$m")/pg_config.h")
	[[ -n $hdr ]] || die "PG $m: no PG_VERSION in $(server_include_rel "$m")/pg_config.h"
	[[ -n $deb ]] || die "PG $m: the version of postgresql-server-dev-$m is not known"
	if pg_newer "$deb" "$srv" || pg_newer "$hdr" "$srv"; then
		refuse "PG $m: server $srv with headers $hdr (postgresql-server-dev-$m $deb):" \
			"headers of a newer minor than the server; a module built against them may not" \
			"load into it (undefined symbol, e.g. heap_datum_check with 17.12 headers on a" \
			"17.10 server).  Use headers of the server's own minor or an older one."
	fi
	echo "$srv $hdr"
}

# check_server MAJOR ROOT VERSION HEADERS_DEB [FROM]: the prefix ROOT of
# MAJOR, about to be stamped, has a bin/postgres of VERSION and headers not
# of a newer minor (check_pair).  FROM: where the server came from, for the
# message.
check_server() {
	local m=$1 root=$2 v=$3 deb=$4 from=${5:-} bin
	bin=$root/$(postgres_rel "$m")
	"$bin" --version | grep -q "^postgres (PostgreSQL) $v\$" ||
		die "PG $m: ${from}bin/postgres --version is '$("$bin" --version)', expected $v"
	check_pair "$m" "$root" "$deb" >/dev/null
}

# ---------------------------------------------------------------------------
# pg_config stand-in, wrappers and PGXS

# Option names of pg_config, in its order.
PGC_OPTIONS=(bindir docdir htmldir includedir pkgincludedir includedir-server
	libdir pkglibdir localedir mandir sharedir sysconfdir pgxs configure cc
	cppflags cflags cflags_sl ldflags ldflags_ex ldflags_sl libs version)
declare -A PGC=()

# write_pg_config FILE UP NOTE: a pg_config stand-in answering PGC[option];
# "@ROOT@" in a value stands for the prefix's root, computed at run time as
# FILE's directory/UP.  (What it writes keeps its indentation of 4 spaces:
# the stand-ins of new prefixes are those of the prefixes already cached.)
write_pg_config() {
	local file=$1 up=$2 note=$3 o v
	{
		cat <<EOF
#!/bin/sh
# pg_config stand-in written by dbreset's scripts/pg-majors: $note
# Paths are computed from this script's location, so the prefix may be copied
# or moved.
set -e
self=\$(readlink -f "\$0")
root=\$(cd "\$(dirname "\$self")/$up" && pwd)

sub() {  # sub VALUE: print VALUE with @ROOT@ replaced by \$root
    v=\$1 out=
    while :; do
        case \$v in
            *@ROOT@*) out=\$out\${v%%@ROOT@*}\$root v=\${v#*@ROOT@} ;;
            *) break ;;
        esac
    done
    printf '%s\n' "\$out\$v"
}

val() {
    case \$1 in
EOF
		for o in "${PGC_OPTIONS[@]}"; do
			v=${PGC[$o]-}
			printf "        --%s) sub '%s' ;;\n" "$o" "${v//\'/\'\\\'\'}"
		done
		cat <<EOF
        *) return 1 ;;
    esac
}

if [ \$# -eq 0 ]; then
    for o in ${PGC_OPTIONS[*]}; do
        echo "\$(echo "\$o" | tr a-z A-Z) = \$(val "--\$o")"
    done
    exit 0
fi
for a in "\$@"; do
    case \$a in
        --help | -\\?)
            echo "pg_config stand-in; options as in pg_config(1)"
            exit 0 ;;
    esac
    if ! val "\$a"; then
        echo "pg_config: invalid argument: \$a" >&2
        echo "Try \\"pg_config --help\\" for more information." >&2
        exit 1
    fi
done
EOF
	} >"$file"
	chmod 755 "$file"
}

write_wrapper() { # write_wrapper FILE LINE...: a /bin/sh script of these lines
	local f=$1
	shift
	{
		echo '#!/bin/sh'
		echo '# written by dbreset scripts/pg-majors'
		printf '%s\n' "$@"
	} >"$f"
	chmod 755 "$f"
}

# Makefile.global value of VAR
mg_get() { sed -n "s/^$2[[:space:]]*=[[:space:]]*//p" "$1" | head -n1 | sed 's/[[:space:]]*$//'; }

# supported_flags CC FLAG...: the FLAGs this machine's compiler accepts
supported_flags() {
	local cc=$1 f out=()
	shift
	for f in "$@"; do
		case $f in
		-W* | -f*)
			local msg
			msg=$("$cc" "$f" -x c -c -o /dev/null /dev/null 2>&1) || true
			[[ ! $msg =~ unrecognized|unknown|not\ supported ]] || continue
			;;
		esac
		out+=("$f")
	done
	echo "${out[*]}"
}

# patch_makefile_global MAJOR MG: make a Debian-built PGXS usable with this
# machine's compiler: the compiler it names (or gcc), no LLVM bitcode when
# its clang is not installed (19: clang-21), and no CFLAGS this gcc rejects
# (19's build used gcc 16: -Wmissing-variable-declarations).
patch_makefile_global() {
	local m=$1 mg=$2 cc clang cflags new
	cc=$(mg_get "$mg" CC)
	if ! command -v "$cc" >/dev/null 2>&1; then
		say "PG $m: PGXS: compiler '$cc' not installed, using gcc"
		sed -i "s|^CC = .*|CC = gcc|" "$mg"
		cc=gcc
	fi
	clang=$(mg_get "$mg" CLANG)
	if [[ $(mg_get "$mg" with_llvm) == yes && ! -x ${clang:-/nonexistent} ]]; then
		say "PG $m: PGXS: with_llvm = no (${clang:-clang} not installed)"
		sed -i 's/^with_llvm\([[:space:]]*\)= yes/with_llvm\1= no/' "$mg"
	fi
	cflags=$(mg_get "$mg" CFLAGS)
	# shellcheck disable=SC2086 # split into flags
	new=$(supported_flags "$cc" $cflags)
	if [[ $new != "$cflags" ]]; then
		say "PG $m: PGXS: CFLAGS without what $cc rejects:" \
			"$(comm -23 <(tr ' ' '\n' <<<"$cflags" | sort -u) <(tr ' ' '\n' <<<"$new" | sort -u) | tr '\n' ' ')"
		local esc=${new//\\/\\\\}
		esc=${esc//&/\\&}
		sed -i "s|^CFLAGS = .*|CFLAGS = ${esc//|/\\|}|" "$mg"
	fi
	PGC[cflags]=$new
	PGC[cc]=$cc
	case " $new " in
	*" -std=gnu99 "* | *" -std=c99 "* | *" -std=gnu89 "*)
		die "PG $m: PGXS CFLAGS select an old C standard: $new"
		;;
	esac
}

# pgc_from_real_pg_config ROOT CMD...: PGC from the output of a real
# pg_config (run as CMD) installed under ROOT: every path under ROOT becomes
# @ROOT@/...  PostgreSQL computes them relative to its executable, so BINDIR
# must come out under ROOT.
pgc_from_real_pg_config() {
	local root=$1 key val o
	shift
	PGC=()
	while IFS= read -r line; do
		key=${line%% = *}
		val=${line#* = }
		[[ $line == *" = "* ]] || continue
		o=$(tr '[:upper:]' '[:lower:]' <<<"$key")
		[[ $val == "$root"/* ]] && val=@ROOT@${val#"$root"}
		PGC[$o]=$val
	done < <("$@")
	[[ ${PGC[bindir]:-} == @ROOT@/* ]] ||
		die "real pg_config did not relocate its paths under $root (BINDIR = ${PGC[bindir]:-?})"
}

# pg_config_from_real MAJOR ROOT NOTE CMD...: in the prefix ROOT of MAJOR,
# of the Debian packages' layout, the pg_config stand-in (NOTE: what the
# prefix is) in place of the real one, which CMD runs; PGXS patched for this
# machine's compiler.
pg_config_from_real() {
	local m=$1 root=$2 note=$3 pgdir=$2/usr/lib/postgresql/$1
	shift 3
	pgc_from_real_pg_config "$root" "$@"
	patch_makefile_global "$m" "$pgdir/lib/pgxs/src/Makefile.global"
	write_pg_config "$pgdir/bin/pg_config" ../../../../.. "$note"
}

# ---------------------------------------------------------------------------
# building a prefix, and copying it

# need_tools MAJOR TOOL...: every TOOL is installed
need_tools() {
	local m=$1 tool
	shift
	for tool in "$@"; do
		command -v "$tool" >/dev/null || die "PG $m: '$tool' is needed but not installed"
	done
}

# WORK: the scratch directory in the cache where a prefix is built
# (new_work MAJOR), removed at exit unless finish_prefix has moved the
# prefix into place
WORK=
new_work() {
	mkdir -p "$CACHE"
	WORK=$(mktemp -d "$CACHE/.work-$1.XXXXXX")
}
remove_work() { [[ -z $WORK ]] || rm -rf "$WORK"; }
at_exit remove_work

# finish_prefix MAJOR PREFIX STAMP_LINES...: stamp PREFIX (in WORK), and
# move it into place
finish_prefix() {
	local m=$1 prefix=$2
	shift 2
	printf '%s\n' "format=$STAMP_FORMAT" "$@" >"$prefix/.pg-majors-stamp"
	chmod -R a+rX,go-w "$prefix"
	rm -rf "${CACHE:?}/$m"
	mv "$prefix" "$CACHE/$m"
	remove_work
	WORK=
}

# copy_prefix MAJOR DEST: DEST, a new directory, a copy of the cached prefix:
# hard links to the cached files (new directories, so what is installed into
# the copy stays there) when DEST is on the cache's file system, else a full
# copy.  Nothing writes into an installed file in place, so the links are safe.
copy_prefix() {
	local m=$1 dest=$2
	[[ ! -e $dest ]] || die "copy: $dest already exists"
	mkdir -p "$(dirname "$dest")"
	if ! cp -al "$CACHE/$m" "$dest" 2>/dev/null; then
		rm -rf "$dest"
		cp -a "$CACHE/$m" "$dest" || die "PG $m: copying $CACHE/$m to $dest failed"
	fi
}

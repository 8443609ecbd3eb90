# shellcheck shell=bash
# scripts/pg-majors.d/apt.sh -- a private apt configuration, for Debian
# packages of other suites than the system's: 17, 18 and 19 (debian.sh) and
# 13's server headers (npm.sh).  Sourced by scripts/pg-majors.
#
# It reads the mirrors the system's apt sources name and trusts Debian's
# archive keyring; its lists, status and downloads are under
# <cache>/.apt/SUITES, removed once a prefix is built: the system's apt
# sources and state are never touched.

KEYRING=/usr/share/keyrings/debian-archive-keyring.gpg

# Debian suites of a major's private apt configuration: for an npm major the
# suite that carries postgresql-server-dev-NN, for a debian major the suite
# of its libraries first, of its server last (override:
# DBRESET_PG<MAJOR>_SUITE="SUITE..."; packages of one version:
# DBRESET_PG<MAJOR>_DEB=<Debian version>).
debian_suite() {
	local var=DBRESET_PG$1_SUITE
	if [[ -n ${!var:-} ]]; then echo "${!var}"; return; fi
	case $1 in
	13) echo bullseye ;;
	17) echo trixie ;;
	18) echo sid ;;
	19) echo "sid experimental" ;;
	*) return 1 ;;
	esac
}

os_codename() {
	# shellcheck disable=SC1091
	(. /etc/os-release && echo "${VERSION_CODENAME:-}")
}

# Print "URI SUITE" for every deb source of the system's apt configuration.
system_apt_sources() {
	local f
	for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
		[[ -f $f ]] || continue
		# deb [options] URI SUITE COMPONENT...
		awk '$1 == "deb" {
				i = 2
				if ($i ~ /^\[/) { while ($i !~ /\]$/) i++; i++ }
				print $i, $(i + 1)
			}' "$f"
	done
	for f in /etc/apt/sources.list.d/*.sources; do
		[[ -f $f ]] || continue
		# deb822 stanzas, separated by blank lines.
		awk 'function flush() {
				if (types ~ /(^| )deb( |$)/)
					for (u = 1; u <= nu; u++)
						for (s = 1; s <= ns; s++) print uris[u], suites[s]
				types = ""; nu = 0; ns = 0
			}
			/^[ \t]*$/ { flush(); next }
			/^#/ { next }
			tolower($1) == "types:" { $1 = ""; types = $0 " " }
			tolower($1) == "uris:" { for (i = 2; i <= NF; i++) uris[++nu] = $i }
			tolower($1) == "suites:" { for (i = 2; i <= NF; i++) suites[++ns] = $i }
			END { flush() }' "$f"
	done
}

# Mirror URI serving SUITE_SUFFIX ("" for the main archive, "-security") of the
# machine's own Debian release.
system_mirror() {
	local want codename
	codename=$(os_codename)
	[[ -n $codename ]] || die "cannot tell the Debian codename from /etc/os-release"
	want=$codename$1
	system_apt_sources | awk -v want="$want" '$2 == want { print $1; exit }'
}

# apt_private_setup MAJOR SUITE...: a private apt state for these suites in
# $APT_DIR, and `apt-get update`.  Sets APT_OPTS (array) for later
# apt-get/apt-cache calls.
apt_private_setup() {
	local m=$1 main_uri sec_uri arch s
	shift
	APT_DIR=$CACHE/.apt/$(IFS=+; echo "$*")
	main_uri=$(system_mirror "")
	[[ -n $main_uri ]] || die "PG $m: no Debian mirror for $(os_codename) found in the system's apt sources"
	sec_uri=$(system_mirror -security)
	[[ -f $KEYRING ]] || die "PG $m: keyring $KEYRING missing (install debian-archive-keyring)"
	arch=$(dpkg --print-architecture)
	mkdir -p "$APT_DIR/lists/partial" "$APT_DIR/cache/archives/partial" "$APT_DIR/etc"
	: >"$APT_DIR/status"
	for s in "$@"; do
		echo "deb [arch=$arch signed-by=$KEYRING] $main_uri $s main"
		case $s in
		sid | unstable | experimental) ;;
		*) [[ -z $sec_uri ]] || echo "deb [arch=$arch signed-by=$KEYRING] $sec_uri $s-security main" ;;
		esac
	done >"$APT_DIR/etc/sources.list"
	APT_OPTS=(
		-o "Dir::State::Lists=$APT_DIR/lists"
		-o "Dir::State::status=$APT_DIR/status"
		-o "Dir::Cache=$APT_DIR/cache"
		-o "Dir::Cache::pkgcache=pkgcache.bin"
		-o "Dir::Cache::srcpkgcache=srcpkgcache.bin"
		-o "Dir::Etc::SourceList=$APT_DIR/etc/sources.list"
		-o "Dir::Etc::SourceParts=/dev/null"
		-o "Dir::Etc::Preferences=/dev/null"
		-o "Dir::Etc::PreferencesParts=/dev/null"
		-o "Acquire::Languages=none"
		-o "APT::Get::List-Cleanup=true"
	)
	if [[ $(id -u) == 0 ]]; then
		# The cache is root's: apt's _apt download sandbox could not write to it.
		APT_OPTS+=(-o "APT::Sandbox::User=root")
	fi
	say "PG $m: apt-get update (private config, suites $*)"
	if ! apt-get "${APT_OPTS[@]}" -q update >"$APT_DIR/update.log" 2>&1; then
		cat "$APT_DIR/update.log" >&2
		die "PG $m: apt-get update of Debian suites $* failed (log above)"
	fi
	# apt-get update exits 0 on some fetch/signature failures: check the log.
	if grep -qE '^(E:|W: (GPG|The repository|Failed))' "$APT_DIR/update.log"; then
		cat "$APT_DIR/update.log" >&2
		die "PG $m: apt-get update of Debian suites $* reported errors (log above)"
	fi
}

# All versions of PKG in the private apt configuration, newest first.
apt_versions() {
	apt-cache "${APT_OPTS[@]}" madison "$1" | awk -F'|' '{ gsub(/ /, "", $2); print $2 }' |
		sort -u | sort -r -V
}

#!/usr/bin/env bash
# fetch-lwip.sh - put lwIP 2.2.1 sources into third_party/lwip (git-ignored)
#
# Usage: fetch-lwip.sh [--from TARBALL|DIR] [--dest DIR]
#
# Sources, first that works:
#   --from TARBALL   a local lwip_2.2.1+dfsg1.orig.tar.xz or upstream lwip-2.2.1.zip/tar.gz
#   --from DIR       an unpacked lwIP 2.2.1 source tree (copied as is)
#   $SANDNET_LWIP_SRC  same as --from
#   Debian           'apt-get source --download-only lwip' from suite trixie,
#                    through a private apt directory whose mirror URIs are read
#                    from this system's apt configuration.
# Every tarball is verified by sha256 before it is unpacked. Then the patches
# in third_party/patches/*.patch are applied in name order with `patch -p1`;
# one already in the tree is skipped, one that does not apply stops the
# script. An existing lwIP tree gets the patches it lacks the same way, so
# running this again after a pull brings new patches in.
set -euo pipefail

DEBIAN_ORIG=lwip_2.2.1+dfsg1.orig.tar.xz
DEBIAN_SHA256=83729c274c499d3348e9fbbe043a3113f3fa8953e7efddc7c21c7fcbb1f2b7b1

here=$(cd "$(dirname "$0")" && pwd)
dest="$here/lwip"
from="${SANDNET_LWIP_SRC:-}"

die() { echo "fetch-lwip: $*" >&2; exit 1; }

while [ $# -gt 0 ]; do
	case "$1" in
	--from) [ $# -ge 2 ] || die "--from needs a path"; from=$2; shift 2 ;;
	--dest) [ $# -ge 2 ] || die "--dest needs a path"; dest=$2; shift 2 ;;
	-h|--help) sed -n '2,17p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
	*) die "unknown argument '$1' (see --help)" ;;
	esac
done

# apply_patches() - apply third_party/patches/*.patch in order, each once
apply_patches() {
	local tree=$1 p name
	for p in "$here"/patches/*.patch; do
		[ -e "$p" ] || continue
		name=$(basename "$p")
		if patch -d "$tree" -p1 -R -s -f --dry-run < "$p" >/dev/null 2>&1; then
			echo "fetch-lwip: $name already applied"
		elif patch -d "$tree" -p1 -N -s -f --dry-run < "$p" >/dev/null 2>&1; then
			patch -d "$tree" -p1 -N -s -f --no-backup-if-mismatch < "$p" ||
				die "patch $name failed"
			echo "fetch-lwip: applied $name"
		else
			patch -d "$tree" -p1 -N -f --dry-run < "$p" >&2 || true
			die "patch $name does not apply to $tree"
		fi
	done
}

if [ -f "$dest/src/Filelists.cmake" ]; then
	echo "fetch-lwip: $dest already holds lwIP"
	apply_patches "$dest"
	exit 0
fi

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# unpack_verified() - check a tarball's sha256 against the known ones, unpack to $dest
unpack_verified() {
	local tb=$1 sum
	sum=$(sha256sum "$tb" | cut -d' ' -f1)
	case "$sum" in
	"$DEBIAN_SHA256") ;;
	*) die "$tb: sha256 $sum is not lwIP 2.2.1's ($DEBIAN_SHA256)" ;;
	esac
	mkdir -p "$work/x"
	tar -xJf "$tb" -C "$work/x"
	install_tree "$work/x/lwip-2.2.1"
}

# install_tree() - copy an lwIP source tree to $dest after a sanity check
install_tree() {
	local src=$1
	[ -f "$src/src/Filelists.cmake" ] || die "$src: not an lwIP source tree (no src/Filelists.cmake)"
	grep -q 'LWIP_VERSION_MINOR *2U\?$\|LWIP_VERSION_MINOR *2$\|define LWIP_VERSION_MINOR *2' \
		"$src/src/include/lwip/init.h" || die "$src: not lwIP 2.2.x"
	rm -rf "$dest.tmp"
	cp -a "$src" "$dest.tmp"
	apply_patches "$dest.tmp"
	rm -rf "$dest"
	mv "$dest.tmp" "$dest"
	echo "fetch-lwip: lwIP 2.2.1 ready in $dest"
}

# apt_uris() - the Debian mirror URIs this system's apt uses (deb822 or one-line)
apt_uris() {
	{
		if [ -r /etc/apt/sources.list.d/debian.sources ]; then
			sed -n 's/^URIs:[[:space:]]*//p' /etc/apt/sources.list.d/debian.sources
		fi
		if [ -r /etc/apt/sources.list ]; then
			awk '$1 == "deb" || $1 == "deb-src" {
				for (i = 2; i <= NF; i++) if ($i !~ /^\[/ && $i !~ /\]$/) { print $i; break } }' \
				/etc/apt/sources.list
		fi
	} | tr ' ' '\n' | grep -v -- '-security' | grep -E '^[a-z]+:' | sort -u
}

fetch_debian() {
	command -v apt-get >/dev/null || die "no apt-get: pass --from TARBALL|DIR"
	local uris d="$work/apt"
	uris=$(apt_uris | tr '\n' ' ')
	[ -n "$uris" ] || die "no Debian mirror found in the apt configuration: pass --from TARBALL|DIR"
	mkdir -p "$d/sources.list.d" "$d/lists/partial" "$d/archives/partial" "$d/dl"
	printf 'Types: deb-src\nURIs: %s\nSuites: trixie\nComponents: main\nSigned-By: /usr/share/keyrings/debian-archive-keyring.gpg\n' \
		"$uris" > "$d/sources.list.d/lwip.sources"
	local opts=(-o Dir::Etc::SourceList=/dev/null -o "Dir::Etc::SourceParts=$d/sources.list.d"
		-o "Dir::State::Lists=$d/lists" -o "Dir::Cache::archives=$d/archives" -q)
	echo "fetch-lwip: fetching Debian's lwip source package (suite trixie)"
	apt-get "${opts[@]}" update >"$work/apt.log" 2>&1 || { cat "$work/apt.log" >&2; die "apt-get update failed"; }
	# The .dsc may fail to download while the orig tarball arrives: judge by the tarball.
	(cd "$d/dl" && apt-get "${opts[@]}" source --download-only lwip) >>"$work/apt.log" 2>&1 || true
	[ -f "$d/dl/$DEBIAN_ORIG" ] || { cat "$work/apt.log" >&2; die "apt-get source did not bring $DEBIAN_ORIG"; }
	unpack_verified "$d/dl/$DEBIAN_ORIG"
}

if [ -n "$from" ]; then
	if [ -d "$from" ]; then install_tree "$from"
	elif [ -f "$from" ]; then unpack_verified "$from"
	else die "$from: no such file or directory"
	fi
else
	fetch_debian
fi

#!/usr/bin/env bash
# Makes the Debian 12 base the Dockerfile builds FROM (debian:bookworm-slim) without a registry:
# debootstrap --variant=minbase into a directory, with the apt sources of the official image
# (bookworm, bookworm-updates, bookworm-security), packed as a tarball for `docker import`.
#
#   tests/docker/make-debian-base.sh OUT.tar
#
# Runs as root (debootstrap does). SWITCHYARD_DEBIAN_MIRROR overrides the mirror.
set -euo pipefail
[[ $# -eq 1 ]] || { echo "usage: $0 OUT.tar" >&2; exit 2; }
out=$1
mirror=${SWITCHYARD_DEBIAN_MIRROR:-http://deb.debian.org/debian}
security_mirror=${SWITCHYARD_DEBIAN_SECURITY_MIRROR:-http://deb.debian.org/debian-security}

root=$(mktemp -d /tmp/swy-debootstrap.XXXXXX)
trap 'rm -rf "$root"' EXIT
debootstrap --variant=minbase bookworm "$root" "$mirror" >&2

rm -f "$root/etc/apt/sources.list"
cat > "$root/etc/apt/sources.list.d/debian.sources" <<SOURCES
Types: deb
URIs: $mirror
Suites: bookworm bookworm-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb
URIs: $security_mirror
Suites: bookworm-security
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
SOURCES
# As the official slim image: apt keeps no downloaded .debs or binary caches in a layer, and
# dpkg installs no documentation, man pages or translations.
cat > "$root/etc/apt/apt.conf.d/docker-clean" <<'APT'
DPkg::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };
APT::Update::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };
Dir::Cache::pkgcache "";
Dir::Cache::srcpkgcache "";
APT
cat > "$root/etc/dpkg/dpkg.cfg.d/docker" <<'DPKG'
path-exclude /usr/share/doc/*
path-include /usr/share/doc/*/copyright
path-exclude /usr/share/man/*
path-exclude /usr/share/info/*
path-exclude /usr/share/locale/*
DPKG
find "$root/usr/share/doc" -mindepth 2 ! -name copyright ! -type d -delete
rm -rf "$root"/usr/share/man/* "$root"/usr/share/info/* "$root"/usr/share/locale/*
rm -rf "$root"/var/cache/apt/archives/*.deb "$root"/var/cache/apt/*.bin "$root"/var/lib/apt/lists/* \
       "$root"/var/log/*.log
# debootstrap leaves the host's hostname and resolv.conf; docker provides its own.
: > "$root/etc/resolv.conf"
echo localhost > "$root/etc/hostname"

tmp="$out.partial.$$"
tar --numeric-owner -C "$root" -cf "$tmp" .
mv "$tmp" "$out"
echo "made $out ($(du -h "$out" | cut -f1))" >&2

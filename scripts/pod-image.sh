#!/usr/bin/env bash
# Makes a container image of tsbuild from this machine's own files (no Docker Hub, no network)
# and imports it into dockerd: `scripts/pod-image.sh [--subids] [TAG]` (default tsbuild-pod:dev). Needs
# root, dockerd, and `npm run build` done (the image takes dist/bundle/tsbuild.cjs).
#
# What goes in, and why:
# - node (this machine's /usr/bin/node) and tsbuild's launcher and bundle. The bundle is
#   self-contained: its npm dependencies are bundled, xxhash-wasm's module inlined, the seccomp
#   profile a JSON module; nothing of node_modules is needed at run time.
# - every tool tsbuild starts (src/process/, src/executor/, src/snapshot/, src/image/,
#   src/sources/, src/registry/): runc; mount, umount, dmesg, unshare, setpriv (util-linux);
#   getfattr, setfattr (attr); cp, rm, mknod, readlink (coreutils: rm --one-file-system and
#   cp -a as tsbuild uses them are GNU's); chattr (e2fsprogs); bash (the tool shell); zstd, xz,
#   bzip2 (layer and ADD archive formats); newuidmap/newgidmap (rootless mode); perl-base
#   (isolation chroot enters a step's root with it, as root); proot and its libtalloc (isolation
#   chroot as any other user: chroot(2) is root's); git (ADD/context from git). Each binary is
#   copied with the shared libraries ldd lists.
# - busybox for /bin/sh and the small commands a shell wants, CA certificates, /etc/passwd and
#   /etc/group with root and app (uid/gid 1000, home /home/app), /tmp, /run.
# /etc/subuid and /etc/subgid only with --subids (app:100000:65536): rootless mode needs user
# namespaces, which dockerd's default seccomp profile refuses (README, Running in CI and Kubernetes).
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
subids=0
if [[ "${1:-}" == --subids ]]; then
  subids=1
  shift
fi
tag="${1:-tsbuild-pod:dev}"
docker="${DOCKER:-/usr/bin/docker}"
[[ -f "$here/dist/bundle/tsbuild.cjs" ]] || { echo "pod-image: run npm run build first" >&2; exit 1; }
command -v setcap >/dev/null || { echo "pod-image: needs setcap (Debian: libcap2-bin)" >&2; exit 1; }

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
root="$work/rootfs"
mkdir -p "$root"/{usr/bin,usr/sbin,usr/lib,usr/lib64,usr/local/bin,etc/ssl/certs,tmp,run,root,home/app,proc,sys,dev}
# Debian's merged /usr
ln -s usr/bin "$root/bin"
ln -s usr/sbin "$root/sbin"
ln -s usr/lib "$root/lib"
ln -s usr/lib64 "$root/lib64"

# A file at its host path (below /usr when the host path is in a merged-/usr link).
copy_file() {
  local src="$1" dest
  dest="$(readlink -f "$src")"
  case "$dest" in /bin/* | /sbin/* | /lib/* | /lib64/*) dest="/usr$dest" ;; esac
  mkdir -p "$root$(dirname "$dest")"
  cp -a "$dest" "$root$dest"
  # keep the name it was asked by (libc.so.6 -> libc-2.36.so style links)
  local want="$src"
  case "$want" in /bin/* | /sbin/* | /lib/* | /lib64/*) want="/usr$want" ;; esac
  if [[ "$want" != "$dest" && ! -e "$root$want" ]]; then
    mkdir -p "$root$(dirname "$want")"
    ln -s "$dest" "$root$want"
  fi
}

# A program into /usr/bin (or where it is), with its shared libraries.
copy_program() {
  local name="$1" path
  path="$(command -v "$name" || true)"
  [[ -n "$path" ]] || { echo "pod-image: $name is not installed here" >&2; exit 1; }
  copy_file "$path"
  ldd "$path" 2>/dev/null | grep -oE '/[^ ]+' | while read -r lib; do copy_file "$lib"; done
}

for p in node runc bash mount umount dmesg unshare setpriv getfattr setfattr cp rm mknod readlink chattr \
  zstd xz bzip2 newuidmap newgidmap perl proot git; do
  copy_program "$p"
done
# newuidmap/newgidmap: file capabilities instead of the host's setuid bit (as podman's images
# have them). Setuid root, newuidmap's euid is 0, not the owner of the namespace it maps, and
# writing the map then needs CAP_SYS_ADMIN, which a container without --privileged lacks; with
# cap_setuid alone its euid stays the user's, who owns the namespace.
chmod u-s "$root/usr/bin/newuidmap" "$root/usr/bin/newgidmap"
setcap cap_setuid=ep "$root/usr/bin/newuidmap"
setcap cap_setgid=ep "$root/usr/bin/newgidmap"
# perl-base's modules (POSIX for the chroot mode's entry script)
dpkg -L perl-base | while read -r f; do if [[ -f "$f" && "$f" == /usr/lib/* ]]; then copy_file "$f"; fi; done
# git's helpers (git-remote-http etc.) and its shared files
if [[ -d /usr/lib/git-core ]]; then
  cp -a /usr/lib/git-core "$root/usr/lib/"
  ldd /usr/lib/git-core/git-remote-http 2>/dev/null | grep -oE '/[^ ]+' | while read -r lib; do copy_file "$lib"; done
fi

# bash is /bin/sh: Debian's busybox shell runs its own applets before PATH (unshare, mknod, cp…
# would be busybox's, not the programs above)
ln -s bash "$root/usr/bin/sh"
# busybox: every applet no real program above provides
cp /bin/busybox "$root/usr/bin/busybox"
for a in $(/bin/busybox --list); do
  if [[ ! -e "$root/usr/bin/$a" && ! -L "$root/usr/bin/$a" && ! -e "$root/usr/sbin/$a" ]]; then
    ln -s busybox "$root/usr/bin/$a"
  fi
done

cp -L /etc/ssl/certs/ca-certificates.crt "$root/etc/ssl/certs/ca-certificates.crt"
cat >"$root/etc/passwd" <<'P'
root:x:0:0:root:/root:/bin/sh
app:x:1000:1000:app:/home/app:/bin/sh
nobody:x:65534:65534:nobody:/nonexistent:/bin/false
P
cat >"$root/etc/group" <<'G'
root:x:0:
app:x:1000:
nogroup:x:65534:
G
echo 'hosts: files dns' >"$root/etc/nsswitch.conf"
chmod 1777 "$root/tmp"
chown 1000:1000 "$root/home/app"
# --subids: app may run rootless, where the pod allows user namespaces
if ((subids)); then
  echo 'app:100000:65536' >"$root/etc/subuid"
  echo 'app:100000:65536' >"$root/etc/subgid"
fi

# tsbuild: the launcher, its entry script and the bundle. bin/tsbuild.cjs takes the bundle while
# it is at least as new as dist/cli/main.js; the image has no compiled modules, so main.js is a
# stub dated 1970 that says so if it is ever reached.
opt="$root/opt/tsbuild"
mkdir -p "$opt/bin" "$opt/dist/bundle" "$opt/dist/cli"
cp "$here/bin/tsbuild" "$here/bin/tsbuild.cjs" "$here/bin/tsbuild-client.pl" "$opt/bin/"
# the build server's clients and what they read (the image has no perl: node's client serves)
cp "$here/dist/bundle/tsbuild.cjs" "$here/dist/bundle/client.cjs" "$here/dist/bundle/client-info" "$opt/dist/bundle/"
cp "$here/package.json" "$opt/"
echo "throw new Error('this image holds the bundle only (dist/bundle/tsbuild.cjs)');" >"$opt/dist/cli/main.js"
touch -d @0 "$opt/dist/cli/main.js"
ln -s /opt/tsbuild/bin/tsbuild "$root/usr/local/bin/tsbuild"

tar -C "$root" --numeric-owner --xattrs --xattrs-include='security.capability' -cf - . |
  "$docker" import \
    --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
    --change 'ENV SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt' \
    --change 'WORKDIR /' \
    --change 'ENTRYPOINT []' \
    --change 'CMD ["tsbuild", "--help"]' \
    - "$tag" >/dev/null
echo "$tag"

#!/usr/bin/env bash
# Installs what tsbuild and its tests need on Debian 12 (root): the OCI runtime and image tools
# from Debian, then the npm packages. Re-running it does only what is missing.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
# runc, crun: RUN steps (crun where it can run them: src/executor/oci-runtime.ts); attr: overlay
# opaque-dir xattrs; skopeo/umoci: reading our images from outside (tests, demo); docker-registry:
# pull tests on 127.0.0.1; busybox-static: the fixture base image;
# zstd: zstd layer compression (Node 20's zlib has none); openssl: the registry tests' TLS and
# token-signing certificates; apache2-utils: htpasswd (bcrypt) for the Basic-auth test registry;
# git: ADD from git repositories (and git daemon in its tests); bzip2, xz-utils: ADD of .tar.bz2/.tar.xz;
# iproute2, procps, util-linux: the torture tests (ip, ps, unshare for a loopback-only fuzz network);
# qemu-user-static, binfmt-support: RUN for another architecture (--platform), through binfmt_misc
# handlers registered with the F flag. proot: isolation chroot's RUN steps for a user other than root.
# openssh-client: ssh-agent, ssh-keygen and ssh-add for the --ssh tests (testSSHFileDescriptorsClosed).
PKGS=(runc crun attr e2fsprogs skopeo umoci docker-registry busybox-static jq curl ca-certificates zstd openssl apache2-utils git bzip2 xz-utils iproute2 procps util-linux qemu-user-static binfmt-support proot openssh-client)
missing=()
for p in "${PKGS[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "installing Debian packages: ${missing[*]}" >&2
  apt-get update
  DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${missing[@]}"
fi
if [[ ! -d node_modules ]] || [[ package-lock.json -nt node_modules/.package-lock.json ]]; then
  npm ci --no-audit --no-fund
fi
# binfmt_misc: where the kernel keeps the emulators' handlers (a container may not have it mounted)
if [[ ! -e /proc/sys/fs/binfmt_misc/status ]]; then
  mount -t binfmt_misc binfmt_misc /proc/sys/fs/binfmt_misc 2>/dev/null || echo "cannot mount binfmt_misc: RUN for other architectures will fail" >&2
fi
if [[ -e /proc/sys/fs/binfmt_misc/status && ! -e /proc/sys/fs/binfmt_misc/qemu-aarch64 ]]; then
  update-binfmts --enable 2>/dev/null || true
fi
# arm64 packages for the multi-platform tests' base (busybox-static:arm64, downloaded, not installed)
if ! dpkg --print-foreign-architectures | grep -qx arm64; then
  dpkg --add-architecture arm64
  apt-get update
fi
npm run --silent build
bash fixtures/base/make-busybox-layout.sh
bash fixtures/base/make-multiarch-layout.sh || echo "no multi-platform base: test/integration/multi-platform.test.ts will skip" >&2

#!/usr/bin/env bash
# Idempotent set-up of the base images the bench's own workloads (bench/workloads/) build from,
# in the local registry that ../shared/bench/setup-anchors.sh starts on 127.0.0.1:5000:
#   127.0.0.1:5000/tsb-debian:bookworm  Debian 12 minbase (debootstrap), linux/amd64: the realapp workload
#   127.0.0.1:5000/tsb-multi:latest     busybox-static for linux/amd64 and linux/arm64 (an image index):
#                                       the multiplatform workload
# Re-running it only does what is missing. Needs root and Debian's apt mirrors (deb.debian.org).
# Not run by the tests; npm run bench says to run it when an image is missing.
set -euo pipefail

REG="${REGISTRY_ADDR:-127.0.0.1:5000}"
WORK="${BENCH_IMAGES_DIR:-/tmp/tsbuild-bench-images}"
log() { printf '[bench-images] %s\n' "$*" >&2; }
have() { skopeo inspect --raw --tls-verify=false "docker://$REG/$1" >/dev/null 2>&1; }

curl -fsS "http://$REG/v2/" >/dev/null || { log "no registry on $REG: run ../shared/bench/setup-anchors.sh"; exit 1; }
missing=()
for p in debootstrap umoci skopeo jq curl; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if ((${#missing[@]})); then
  log "installing: ${missing[*]}"
  DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${missing[@]}"
fi
mkdir -p "$WORK"

# An OCI layout image of one rootfs tar: $1 layout, $2 tag, $3 rootfs tar, $4 architecture, $5 history note.
layout_image() {
  local layout=$1 tag=$2 tar=$3 arch=$4 note=$5 bundle="$WORK/bundle-$2"
  rm -rf "$bundle"
  [[ -f "$layout/index.json" ]] || umoci init --layout "$layout"
  umoci new --image "$layout:$tag"
  umoci unpack --image "$layout:$tag" "$bundle"
  tar -C "$bundle/rootfs" -xpf "$tar"
  umoci repack --image "$layout:$tag" --history.created 1970-01-01T00:00:00Z --history.created_by "$note" "$bundle"
  umoci config --no-history --image "$layout:$tag" --os linux --architecture "$arch" \
    --config.env PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin --config.cmd /bin/sh \
    --created 1970-01-01T00:00:00Z
  rm -rf "$bundle"
}

# ---------------------------------------------------------------- Debian 12 minbase
if ! have tsb-debian:bookworm; then
  root="$WORK/debian-rootfs"
  if [[ ! -f "$WORK/debian.tar" ]]; then
    log "debootstrap --variant=minbase bookworm (a few minutes)"
    rm -rf "$root"
    debootstrap --variant=minbase bookworm "$root" http://deb.debian.org/debian
    # apt inside the image needs no caches from the build host
    rm -rf "$root"/var/cache/apt/archives/*.deb "$root"/var/lib/apt/lists/*
    tar -C "$root" --numeric-owner -cpf "$WORK/debian.tar.part" .
    mv "$WORK/debian.tar.part" "$WORK/debian.tar"
    rm -rf "$root"
  fi
  rm -rf "$WORK/debian-layout"
  layout_image "$WORK/debian-layout" bookworm "$WORK/debian.tar" amd64 'tsb-debian: debootstrap --variant=minbase bookworm'
  log "skopeo -> $REG/tsb-debian:bookworm"
  skopeo copy --dest-tls-verify=false "oci:$WORK/debian-layout:bookworm" "docker://$REG/tsb-debian:bookworm"
fi

# ---------------------------------------------------------------- busybox for amd64 and arm64
if ! have tsb-multi:latest; then
  for arch in amd64 arm64; do
    if ! have "tsb-multi:$arch"; then
      dir="$WORK/busybox-$arch"
      rm -rf "$dir" && mkdir -p "$dir/rootfs"
      (cd "$dir" && apt-get download "busybox-static:$arch" >/dev/null)
      dpkg-deb -x "$dir"/busybox-static_*.deb "$dir/pkg"
      r="$dir/rootfs"
      mkdir -p "$r"/{bin,sbin,usr/bin,usr/sbin,etc,tmp,root,proc,sys,dev}
      cp "$dir/pkg/bin/busybox" "$r/bin/busybox"
      # the host's busybox lists the applets (the same version as the foreign one)
      /bin/busybox --list-full | while read -r p; do
        [[ "$p" == "bin/busybox" || "$p" == "linuxrc" ]] && continue
        d=$(dirname "$p"); rel=$(printf '%s' "$d" | sed 's#[^/]\+#..#g')
        ln -sf "$rel/bin/busybox" "$r/$p"
      done
      printf 'root:x:0:0:root:/root:/bin/sh\n' > "$r/etc/passwd"
      printf 'root:x:0:\n' > "$r/etc/group"
      tar -C "$r" --numeric-owner -cpf "$dir/rootfs.tar" .
      rm -rf "$WORK/multi-layout-$arch"
      layout_image "$WORK/multi-layout-$arch" "$arch" "$dir/rootfs.tar" "$arch" "tsb-multi: busybox-static $arch"
      skopeo copy --dest-tls-verify=false "oci:$WORK/multi-layout-$arch:$arch" "docker://$REG/tsb-multi:$arch"
    fi
  done
  # an OCI index of the two, put straight into the registry
  entries=()
  for arch in amd64 arm64; do
    # the bytes as the registry has them (a shell variable would lose a trailing newline)
    skopeo inspect --raw --tls-verify=false "docker://$REG/tsb-multi:$arch" > "$WORK/manifest-$arch.json"
    digest="sha256:$(sha256sum < "$WORK/manifest-$arch.json" | cut -d' ' -f1)"
    entries+=("$(jq -n --arg d "$digest" --argjson s "$(stat -c %s "$WORK/manifest-$arch.json")" --arg a "$arch" \
      '{mediaType:"application/vnd.oci.image.manifest.v1+json",digest:$d,size:$s,platform:{architecture:$a,os:"linux"}}')")
  done
  index=$(printf '%s\n' "${entries[@]}" | jq -cs '{schemaVersion:2,mediaType:"application/vnd.oci.image.index.v1+json",manifests:.}')
  log "index -> $REG/tsb-multi:latest"
  curl -fsS -X PUT -H 'Content-Type: application/vnd.oci.image.index.v1+json' --data-binary "$index" \
    "http://$REG/v2/tsb-multi/manifests/latest" >/dev/null
fi
log "ready: $REG/tsb-debian:bookworm, $REG/tsb-multi:latest"

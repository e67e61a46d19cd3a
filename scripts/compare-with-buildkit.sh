#!/usr/bin/env bash
# Developer tool, not part of tsbuild: builds one fixture with dockerd's BuildKit and with
# tsbuild, both FROM the same registry base image, and diffs the results: every file (type,
# mode, owner, size, content, link target) and the config fields BuildKit sets.
# Needs ../shared/bench/setup-anchors.sh to have started dockerd and the registry on :5000.
#   scripts/compare-with-buildkit.sh fixtures/demo [--build-arg K=V ...]
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
fixture="$1"; shift
base="${BASE:-127.0.0.1:5000/tsb-base:latest}"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
name="tsb-compare-$(basename "$fixture")"
DOCKER_BUILDKIT=1 /usr/bin/docker build -q --network none --build-arg "BASE=$base" "$@" -t "$name" "$fixture" >/dev/null
/usr/bin/docker save "$name" -o "$work/bk.tar"
TSBUILD_ROOT="${TSBUILD_ROOT:-$work/state}" ./bin/tsbuild --progress=plain --build-arg "BASE=$base" "$@" -o "type=oci,dest=$work/ts.tar" "$fixture" 2>"$work/ts.log" || { cat "$work/ts.log"; exit 1; }
skopeo copy -q "docker-archive:$work/bk.tar" "oci:$work/layout:bk"
skopeo copy -q "oci-archive:$work/ts.tar" "oci:$work/layout:ts"
# Configs are read raw from each engine's own archive: a format conversion would drop Docker's fields.
skopeo inspect --config --raw "docker-archive:$work/bk.tar" > "$work/bk.raw"
skopeo inspect --config --raw "oci-archive:$work/ts.tar" > "$work/ts.raw"
for t in bk ts; do
  umoci unpack --image "$work/layout:$t" "$work/$t" >/dev/null
  node scripts/tree-manifest.mjs "$work/$t/rootfs" > "$work/$t.files"
  jq -S '.config | {Env, Cmd, Entrypoint, WorkingDir, User, ExposedPorts, Labels, Volumes, StopSignal, Healthcheck, OnBuild, Shell}' "$work/$t.raw" > "$work/$t.config"
  jq -r '.history[] | "\(.empty_layer // false) \(.created_by)"' "$work/$t.raw" > "$work/$t.history"
  echo "$t: $(jq '.rootfs.diff_ids | length' "$work/$t.raw") layers" >&2
done
status=0
echo "== files ($(wc -l < "$work/bk.files") paths in BuildKit's image)"
diff -u "$work/bk.files" "$work/ts.files" && echo "identical" || status=1
echo "== config"
diff -u "$work/bk.config" "$work/ts.config" && echo "identical" || status=1
echo "== history (not compared for equality: informational)"
diff -u "$work/bk.history" "$work/ts.history" || true
exit $status

#!/usr/bin/env bash
# Builds fixtures/demo (two stages, a build arg, COPY --from, USER, WORKDIR, ENTRYPOINT/CMD),
# cold and then cached, writes it as an OCI archive, and runs the image from that archive with
# tools that are not tsbuild: umoci turns it into a runtime bundle, runc runs it.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
out="$(mktemp -d)"
trap 'rm -rf "$out"' EXIT
export TSBUILD_ROOT="${TSBUILD_ROOT:-$out/state}"
# the demo's base, oci-layout://../base/busybox, is outside its context: grant reading it
allow=(--allow "fs.read=$PWD/fixtures/base")
echo "== cold build" >&2
time ./bin/tsbuild "${allow[@]}" -t demo:1.0 --build-arg GREETING=hello --progress=plain -o "type=oci,dest=$out/demo.tar" fixtures/demo
# usually handed to the warm build server the cold build started (README "The build server"): it
# runs with this script's env, keeps nothing of $out after the build, logs to its own file (never
# to this script's output), and exits after TSBUILD_SERVER_IDLE seconds (900) without a build
echo "== cached rebuild" >&2
time ./bin/tsbuild "${allow[@]}" -t demo:1.0 --build-arg GREETING=hello --progress=plain -o "type=oci,dest=$out/demo2.tar" fixtures/demo
echo "== skopeo inspect" >&2
skopeo inspect --config "oci-archive:$out/demo.tar" | jq -c '.config | {Entrypoint, Cmd, User, WorkingDir, Env}'
echo "== run the image (umoci unpack + runc run)" >&2
mkdir -p "$out/layout"
tar -xf "$out/demo.tar" -C "$out/layout"
umoci unpack --image "$out/layout:1.0" "$out/bundle" >/dev/null
jq '.process.terminal = false' "$out/bundle/config.json" > "$out/bundle/config.tmp" && mv "$out/bundle/config.tmp" "$out/bundle/config.json"
runc run --bundle "$out/bundle" "tsbuild-demo-$$" </dev/null

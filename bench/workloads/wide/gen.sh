#!/usr/bin/env bash
# Writes a Dockerfile of a wide DAG into $1: 200 independent stages, each a small RUN, and a
# final image that takes a file from each. Docker's overlay2 stacks at most 125 layers, so the
# 200 COPY --from go through 10 gather stages (20 each) and the final stage copies the 10.
set -euo pipefail
dst=${1:?usage: gen.sh DIR}
mkdir -p "$dst"
{
  for s in $(seq 1 200); do
    echo "FROM 127.0.0.1:5000/tsb-base:latest AS s$s"
    echo "RUN mkdir -p /out && echo stage $s > /out/s$s.txt"
  done
  for g in $(seq 0 9); do
    echo "FROM 127.0.0.1:5000/tsb-base:latest AS g$g"
    for k in $(seq 1 20); do echo "COPY --from=s$((g * 20 + k)) /out/ /out/"; done
  done
  echo 'FROM 127.0.0.1:5000/tsb-base:latest'
  for g in $(seq 0 9); do echo "COPY --from=g$g /out/ /out/"; done
  echo 'RUN ls /out | wc -l > /count'
} > "$dst/Dockerfile"

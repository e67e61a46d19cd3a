#!/usr/bin/env bash
# Writes a Dockerfile of 1,000 instructions into $1 (with the files it copies): one FROM, then
# blocks of ENV, LABEL, RUN and COPY. Docker's overlay2 stacks at most 125 layers, so layers
# come only from the 60 RUN and 60 COPY; the other 879 instructions change the config only.
set -euo pipefail
dst=${1:?usage: gen.sh DIR}
mkdir -p "$dst/files"
{
  echo 'FROM 127.0.0.1:5000/tsb-base:latest'
  n=1
  for block in $(seq 1 60); do
    echo "RUN echo $block > /r$block"
    echo "COPY files/f$block.txt /files/"
    n=$((n + 2))
    for i in $(seq 1 14); do
      if ((i % 2)); then echo "ENV V${block}_$i=value-$block-$i"; else echo "LABEL l${block}.$i=\"label $block $i\""; fi
      n=$((n + 1))
    done
  done
  while ((n < 1000)); do echo "ENV TAIL_$n=$n"; n=$((n + 1)); done
} > "$dst/Dockerfile"
for block in $(seq 1 60); do echo "file $block" > "$dst/files/f$block.txt"; done

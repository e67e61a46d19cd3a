/**
 * Mutations of a Dockerfile for the fuzzer: line edits (delete, duplicate, swap, truncate),
 * character edits (flip, insert a hostile token: quotes, backslashes, heredoc markers, `${`, NUL,
 * a very long word, CR, a BOM) and instruction edits (a random flag, a random instruction).
 * Each mutant names the edits that made it, so a finding can be read and replayed.
 */
import type { Rng } from './prng.js';

export interface Mutant {
  text: string;
  edits: string[];
}

const TOKENS = [
  '"',
  "'",
  '\\',
  '\\\n',
  '`',
  '$',
  '${',
  '${X',
  '${X:-',
  '${X:+y}',
  '${X#*}',
  '${X/a/b}',
  '}',
  '{',
  '[',
  ']',
  '["',
  '"]',
  ',',
  '=',
  '--',
  '<<EOF',
  '<<-EOF',
  "<<'EOF'",
  '<<"EOF"',
  '<<EOF\n',
  '\nEOF\n',
  'EOF',
  '<<',
  '3<<X',
  '#',
  '# escape=`\n',
  '# syntax=x\n',
  '\0',
  '\r',
  '\r\n',
  '\t',
  '\ufeff',
  '\u00e9',
  '\u{1f600}',
  ' ',
  '\n',
  '\n\n',
  '*',
  '?',
  '**/',
  '../',
  '/..',
  '//',
  '.',
  '-',
  ':',
  '@',
  '@sha256:',
  '%',
  '\\$',
  '&&',
  '|',
  ';',
];

/** Flags by the instructions that take them (and a few no instruction takes). */
const FLAGS: Record<string, string[]> = {
  COPY: [
    '--from=0',
    '--from=build',
    '--from=nope',
    '--from=',
    '--chown=1:1',
    '--chown=nobody',
    '--chown=',
    '--chown=a:b:c',
    '--chmod=755',
    '--chmod=999',
    '--chmod=u+x',
    '--link',
    '--link=false',
    '--parents',
    '--exclude=*.txt',
    '--exclude=',
    '--chown',
  ],
  ADD: [
    '--checksum=sha256:00',
    '--checksum=',
    '--keep-git-dir',
    '--keep-git-dir=maybe',
    '--chown=0',
    '--chmod=4755',
    '--link',
    '--exclude=**',
  ],
  RUN: [
    '--network=none',
    '--network=host',
    '--network=x',
    '--security=sandbox',
    '--security=insecure',
    '--mount=type=cache,target=/c',
    '--mount=type=cache,target=/c,sharing=locked,id=x,uid=5',
    '--mount=type=tmpfs,target=/t,size=1k',
    '--mount=type=bind,target=/b',
    '--mount=type=bind,source=..,target=/b',
    '--mount=type=bind,from=0,target=/b,rw',
    '--mount=type=secret,id=s',
    '--mount=type=secret,id=s,required',
    '--mount=type=ssh',
    '--mount=type=ssh,required=true',
    '--mount=type=nope',
    '--mount=target',
    '--mount=',
    '--mount',
    '--mount=type=cache,target=',
    '--mount=type=bind,target=/,rw',
  ],
  FROM: [
    '--platform=linux/amd64',
    '--platform=$BUILDPLATFORM',
    '--platform=$TARGETPLATFORM',
    '--platform=bogus',
    '--platform=',
    '--platform=linux/arm64',
  ],
  HEALTHCHECK: [
    '--interval=1s',
    '--interval=0s',
    '--timeout=x',
    '--retries=-1',
    '--start-period=1h',
    '--start-interval=0s',
    '--retries=99999999999999999999',
  ],
  any: ['--bogus', '--', '-', '--=', '--x=${', '--from=0'],
};
FLAGS.ONBUILD = FLAGS.RUN!;

const LINES = [
  'FROM scratch',
  'FROM scratch AS s2',
  'FROM s2',
  'FROM ${BASE} AS base',
  'ARG BASE',
  'ARG X=${X:-y}',
  'ARG',
  'ENV A=1 B="two" C',
  'ENV',
  'LABEL',
  'LABEL a',
  'WORKDIR',
  'WORKDIR relative/../../..',
  'USER',
  'USER nobody:nogroup',
  'USER 12345',
  'SHELL []',
  'SHELL ["/bin/false"]',
  'SHELL not-json',
  'CMD',
  'CMD []',
  'ENTRYPOINT ["a",',
  'EXPOSE 99999',
  'EXPOSE 1-',
  'EXPOSE 80/bogus',
  'VOLUME',
  'VOLUME []',
  'STOPSIGNAL',
  'STOPSIGNAL SIGNOPE',
  'HEALTHCHECK NONE',
  'HEALTHCHECK CMD',
  'HEALTHCHECK --interval=0s CMD true',
  'ONBUILD',
  'ONBUILD ONBUILD RUN true',
  'ONBUILD FROM x',
  'MAINTAINER',
  'COPY',
  'COPY .',
  'COPY . .',
  'COPY <<EOF /f\nx\nEOF',
  'COPY <<A <<B /d/\na\nA\nb\nB',
  'ADD',
  'ADD . /',
  'COPY --from=0 / /r/',
  'RUN',
  'RUN []',
  'RUN <<EOF\ntrue\nEOF',
  'RUN <<EOF',
  'RUN true \\',
  'RUN ["true"',
  'RUN exit 3',
  'RUN true',
  'RUN 3<<X cat <&3\nx\nX',
  'ARG X\nRUN echo ${X:?must be set}',
  'FROM ${UNSET}',
  'FROM "',
  'CMD ["\\u0000"]',
  '\\',
  '#',
  '# comment \\',
];

type Edit = (lines: string[], rng: Rng) => string;

const pos = (s: string, rng: Rng): number => rng.int(s.length + 1);

const EDITS: Record<string, Edit> = {
  'delete line': (l, rng) => {
    const i = rng.int(l.length);
    l.splice(i, 1);
    return `delete line ${i + 1}`;
  },
  'duplicate line': (l, rng) => {
    const i = rng.int(l.length);
    l.splice(i, 0, l[i] ?? '');
    return `duplicate line ${i + 1}`;
  },
  'swap lines': (l, rng) => {
    const i = rng.int(l.length);
    const j = rng.int(l.length);
    [l[i], l[j]] = [l[j] ?? '', l[i] ?? ''];
    return `swap lines ${i + 1} and ${j + 1}`;
  },
  'flip a character': (l, rng) => {
    const i = rng.int(l.length);
    const s = l[i] ?? '';
    const p = rng.int(Math.max(1, s.length));
    const c = rng.chance(0.5) ? rng.pick(TOKENS).slice(0, 1) : String.fromCharCode(32 + rng.int(95));
    l[i] = s.slice(0, p) + c + s.slice(p + 1);
    return `line ${i + 1} col ${p + 1}: ${JSON.stringify(s[p] ?? '')} -> ${JSON.stringify(c)}`;
  },
  'insert a token': (l, rng) => {
    const i = rng.int(l.length);
    const s = l[i] ?? '';
    const p = pos(s, rng);
    const t = rng.pick(TOKENS);
    l[i] = s.slice(0, p) + t + s.slice(p);
    return `line ${i + 1} col ${p + 1}: insert ${JSON.stringify(t)}`;
  },
  'insert a long word': (l, rng) => {
    const i = rng.int(l.length);
    const s = l[i] ?? '';
    const p = pos(s, rng);
    const n = rng.pick([1_000, 20_000, 70_000]);
    const unit = rng.pick(['a', '/x', '${A}', '\\', '"', '-', '*']);
    const t = unit.repeat(Math.ceil(n / unit.length));
    l[i] = s.slice(0, p) + t + s.slice(p);
    return `line ${i + 1} col ${p + 1}: insert ${JSON.stringify(unit)} x ${Math.ceil(n / unit.length)}`;
  },
  'random flag': (l, rng) => {
    const candidates = l.map((s, i) => [s, i] as const).filter(([s]) => /^\s*[A-Za-z]+\s/.test(s));
    if (!candidates.length) return 'random flag (no instruction)';
    const [s, i] = rng.pick(candidates);
    const m = /^(\s*[A-Za-z]+)(\s)/.exec(s)!;
    const own = FLAGS[m[1]!.trim().toUpperCase()];
    const flag = rng.pick(own && rng.chance(0.8) ? own : Object.values(FLAGS).flat());
    l[i] = `${m[1]} ${flag}${s.slice(m[1]!.length)}`;
    return `line ${i + 1}: add flag ${flag}`;
  },
  'insert an instruction': (l, rng) => {
    const i = rng.int(l.length + 1);
    const line = rng.pick(LINES);
    l.splice(i, 0, line);
    return `insert at line ${i + 1}: ${JSON.stringify(line)}`;
  },
  truncate: (l, rng) => {
    const text = l.join('\n');
    const p = rng.int(text.length + 1);
    l.splice(0, l.length, ...text.slice(0, p).split('\n'));
    return `truncate at byte ${p}`;
  },
};

const NAMES = Object.keys(EDITS);

/** 1 to 3 random edits of `text`. */
export function mutate(text: string, rng: Rng): Mutant {
  const lines = text.split('\n');
  const edits: string[] = [];
  const n = 1 + rng.int(3);
  for (let k = 0; k < n; k++) edits.push(EDITS[rng.pick(NAMES)]!(lines, rng));
  return { text: lines.join('\n'), edits };
}

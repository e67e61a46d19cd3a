import { describe, expect, it } from 'vitest';
import { UserError } from '../errors.js';
import { DEFAULT_CHECK_OPTIONS } from './checks/check-options.js';
import { Linter } from './checks/linter.js';
import type { Instruction, Warning } from './instruction-types.js';
import { toInstructions } from './instructions.js';
import { parseDockerfile } from './parser.js';

const typed = (src: string) => {
  const warnings: Warning[] = [];
  const ast = toInstructions(
    parseDockerfile(src, 'Dockerfile'),
    'Dockerfile',
    Linter.create(DEFAULT_CHECK_OPTIONS, warnings),
  );
  return { ...ast, warnings };
};
// An intersection, not Extract: COPY and ADD share one record whose kind is 'COPY' | 'ADD', which Extract drops.
type InstructionOf<K extends Instruction['kind']> = Instruction & { kind: K };
const only = <K extends Instruction['kind']>(src: string, kind: K): InstructionOf<K> => {
  const ins = typed(src).instructions.at(-1)!;
  expect(ins.kind).toBe(kind);
  return ins as InstructionOf<K>;
};

function errorOf(src: string): UserError {
  try {
    typed(src);
  } catch (err) {
    if (err instanceof UserError) return err;
    throw err;
  }
  throw new Error('converted without error');
}

describe('toInstructions: records', () => {
  it('FROM lowercases the stage name and warns about its case', () => {
    const ast = typed('FROM --platform=linux/arm64 alpine:3 AS Builder\n');
    expect(ast.instructions[0]).toMatchObject({
      kind: 'FROM',
      image: 'alpine:3',
      stageName: 'builder',
      platform: 'linux/arm64',
    });
    expect(ast.warnings.map((w) => [w.rule?.name, w.message])).toEqual([
      ['StageNameCasing', "Stage name 'Builder' should be lowercase"],
    ]);
  });

  it('RUN keeps shell form whole and collects its flags', () => {
    const run = only(
      'RUN --mount=type=cache,target=/c --mount=type=secret,id=s --network=none --security=insecure make all\n',
      'RUN',
    );
    expect(run).toMatchObject({
      command: ['make all'],
      prependShell: true,
      mounts: ['type=cache,target=/c', 'type=secret,id=s'],
      network: 'none',
      security: 'insecure',
    });
    expect(only('RUN ["a", "b c"]\n', 'RUN')).toMatchObject({ command: ['a', 'b c'], prependShell: false });
  });

  it('RUN heredocs are chomped once, at this level', () => {
    const run = only('RUN <<-EOT\n\techo hi\nEOT\n', 'RUN');
    expect(run.command).toEqual(['<<-EOT']);
    expect(run.heredocs).toEqual([{ name: 'EOT', content: 'echo hi\n', expand: true, chomp: true }]);
  });

  it('COPY and ADD read their flags, sources and heredoc sources', () => {
    const copy = only(
      "COPY --from=build --chown=1:1 --chmod=644 --link --parents --exclude=*.md --exclude=.git a <<'X' /d/\nbody $V\nX\n",
      'COPY',
    );
    expect(copy).toMatchObject({
      sources: ['a', '<<X'],
      dest: '/d/',
      from: 'build',
      chown: '1:1',
      chmod: '644',
      link: true,
      parents: true,
      exclude: ['*.md', '.git'],
      heredocs: [{ name: 'X', content: 'body $V\n', expand: false, chomp: false }],
    });
    const add = only('ADD --checksum=sha256:abc --keep-git-dir --link=false https://x/y.tgz /d\n', 'ADD');
    expect(add).toMatchObject({ checksum: 'sha256:abc', keepGitDir: true, link: false, unpack: undefined });
    expect(only('ADD --unpack=false a.tgz /d\n', 'ADD').unpack).toBe(false);
  });

  it('ENV and LABEL keep values as written, and mark the legacy form (checked when the stage is built)', () => {
    const ast = typed('ENV A="x y" B=z\nENV C the rest\nLABEL "k"=v\n');
    expect(ast.instructions.map((i) => ('pairs' in i ? i.pairs : []))).toEqual([
      [
        { key: 'A', value: '"x y"' },
        { key: 'B', value: 'z' },
      ],
      [{ key: 'C', value: 'the rest' }],
      [{ key: '"k"', value: 'v' }],
    ]);
    expect(ast.instructions.map((i) => ('legacyFormat' in i ? i.legacyFormat : undefined))).toEqual([
      false,
      true,
      false,
    ]);
    expect(ast.warnings).toEqual([]);
  });

  it('ARG, EXPOSE, VOLUME, WORKDIR, USER, STOPSIGNAL', () => {
    expect(only('ARG A B=1 C=\n', 'ARG').args).toEqual([
      { key: 'A' },
      { key: 'B', value: '1' },
      { key: 'C', value: '' },
    ]);
    expect(only('EXPOSE 80/tcp $P\n', 'EXPOSE').ports).toEqual(['80/tcp', '$P']);
    expect(only('VOLUME ["/a", "/b"]\n', 'VOLUME').volumes).toEqual(['/a', '/b']);
    expect(only('WORKDIR /a b\n', 'WORKDIR').path).toBe('/a b');
    expect(only('USER app:app\n', 'USER').user).toBe('app:app');
    expect(only('STOPSIGNAL SIGKILL\n', 'STOPSIGNAL').signal).toBe('SIGKILL');
  });

  it('CMD, ENTRYPOINT and SHELL', () => {
    expect(only('CMD echo hi\n', 'CMD')).toMatchObject({ command: ['echo hi'], prependShell: true });
    expect(only('ENTRYPOINT []\n', 'ENTRYPOINT')).toMatchObject({ command: [], prependShell: false });
    expect(only('SHELL ["/bin/bash", "-c"]\n', 'SHELL').shell).toEqual(['/bin/bash', '-c']);
  });

  it('HEALTHCHECK stores durations in nanoseconds', () => {
    const hc = only(
      'HEALTHCHECK --interval=1m30s --timeout=500ms --start-period=0s --start-interval=2s --retries=3 CMD curl -f x\n',
      'HEALTHCHECK',
    );
    expect(hc).toMatchObject({
      test: ['CMD-SHELL', 'curl -f x'],
      interval: 90_000_000_000,
      timeout: 500_000_000,
      startPeriod: 0, // given as 0s: "use the default", still recorded
      startInterval: 2_000_000_000,
      retries: 3,
    });
    expect(only('HEALTHCHECK CMD ["a", "b"]\n', 'HEALTHCHECK').test).toEqual(['CMD', 'a', 'b']);
    expect(only('HEALTHCHECK none\n', 'HEALTHCHECK').test).toEqual(['NONE']);
  });

  it('ONBUILD keeps the trigger text, heredoc bodies included', () => {
    expect(only('ONBUILD  RUN echo hi\n', 'ONBUILD').expression).toBe('RUN echo hi');
    expect(only('onbuild COPY <<EOF /x\nhi\nEOF\n', 'ONBUILD').expression).toBe('COPY <<EOF /x\nhi\nEOF');
  });

  it('MAINTAINER works but warns', () => {
    const ast = typed('MAINTAINER me <me@example.com>\n');
    expect(ast.instructions[0]).toMatchObject({ kind: 'MAINTAINER', maintainer: 'me <me@example.com>' });
    expect(ast.warnings.map((w) => [w.rule?.name, w.message])).toEqual([
      ['MaintainerDeprecated', 'Maintainer instruction is deprecated in favor of using label'],
    ]);
  });
});

describe('toInstructions: errors', () => {
  it('unknown instructions, with a suggestion', () => {
    const err = errorOf('FROM a\nCOPPY . /\n');
    expect(err.message).toBe('unknown instruction: COPPY');
    expect(err.hint).toBe('did you mean COPY?');
    expect(err.location).toMatchObject({ line: 2, column: 1 });
  });

  it('unknown, repeated and flagless flags fail the same way, at the flag', () => {
    const unknown = errorOf('FROM a\nCOPY --chowm=1 . /\n');
    expect(unknown).toMatchObject({
      message: 'unknown flag: --chowm',
      hint: 'did you mean --chown?',
      location: { line: 2, column: 6 },
    });
    expect(errorOf('COPY --bogus=1 . /\n').hint).toBe(
      'COPY accepts --from, --chown, --chmod, --link, --parents, --exclude',
    );
    expect(errorOf('COPY --from=a --from=b . /\n').message).toBe('duplicate flag specified: --from');
    expect(errorOf('WORKDIR --x=1 /a\n')).toMatchObject({
      message: 'unknown flag: --x',
      hint: 'WORKDIR takes no flags',
    });
    expect(errorOf('HEALTHCHECK --interval=1s NONE\n').hint).toBe('HEALTHCHECK NONE takes no flags');
    expect(errorOf('COPY --from . /\n').message).toBe('missing a value on flag: --from');
    expect(errorOf('COPY --link=maybe . /\n').message).toBe('expecting boolean value for flag --link, not: maybe');
  });

  it('missing or extra arguments', () => {
    expect(errorOf('FROM\n').message).toBe('FROM requires either one or three arguments');
    expect(errorOf('FROM a b\n').message).toBe('FROM requires either one or three arguments');
    expect(errorOf('RUN\n').message).toBe('RUN requires at least one argument');
    expect(errorOf('USER\n').message).toBe('USER requires exactly one argument'); // `USER a b` is one argument
    expect(errorOf('ARG\n').message).toBe('ARG requires at least one argument');
    expect(errorOf('ARG =x\n').message).toBe('ARG names can not be blank');
    expect(errorOf('VOLUME [""]\n').message).toBe('VOLUME specified can not be an empty string');
    expect(errorOf('SHELL /bin/sh -c\n').message).toBe('SHELL requires the arguments to be in JSON form');
    expect(errorOf('HEALTHCHECK CMD\n').message).toBe('Missing command after HEALTHCHECK CMD');
    expect(errorOf('HEALTHCHECK NONE x\n').message).toBe('HEALTHCHECK NONE takes no arguments');
    expect(errorOf('HEALTHCHECK PING x\n').message).toBe('Unknown type "PING" in HEALTHCHECK (try CMD)');
  });

  it('bad values', () => {
    expect(errorOf('FROM a AS 1st\n').message).toContain('invalid name for build stage: "1st"');
    expect(errorOf('RUN --network=bridge x\n').message).toBe('unsupported network mode "bridge"');
    const dur = errorOf('HEALTHCHECK --interval=5 CMD x\n');
    expect(dur).toMatchObject({ message: 'time: missing unit in duration "5"', location: { column: 13 } });
    expect(errorOf('HEALTHCHECK --timeout=10us CMD x\n').message).toBe('Interval "timeout" cannot be less than 1ms');
    expect(errorOf('HEALTHCHECK --retries=-1 CMD x\n').message).toBe('--retries cannot be negative (-1)');
    expect(errorOf('COPY <<EOF <<X\nEOF\nX\n').message).toBe('COPY cannot accept a heredoc as a destination');
  });

  it('ONBUILD checks its trigger now rather than in every child image', () => {
    expect(errorOf('ONBUILD\n').message).toBe('ONBUILD requires at least one argument');
    expect(errorOf('ONBUILD ONBUILD RUN x\n').message).toBe("Chaining ONBUILD via `ONBUILD ONBUILD` isn't allowed");
    expect(errorOf('ONBUILD MAINTAINER me\n').message).toBe("MAINTAINER isn't allowed as an ONBUILD trigger");
    expect(errorOf('ONBUILD RUNN x\n')).toMatchObject({
      message: 'unknown instruction: RUNN',
      location: { column: 9 },
    });
  });
});

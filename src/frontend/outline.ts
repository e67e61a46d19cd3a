/**
 * `--call=outline` and `--call=targets`: what a build of a target takes (build args, secrets,
 * ssh ids) and which stages a Dockerfile has, with their descriptions (a `# NAME text` comment
 * right above a stage or ARG), in BuildKit's shapes and as buildx prints them. Read from the
 * Dockerfile alone: nothing is resolved or built.
 */
import { splitCsv } from '../csv.js';
import { docComment } from './checks/describe.js';
import { lineRanges, type Range } from './checks/lint-report.js';
import { parseToAst } from './convert.js';
import type { ArgInstruction, Instruction } from './instruction-types.js';
import { platformArgs } from './platform.js';
import { ShellLex } from './shell-lexer.js';
import type { Stage } from './stage-state.js';
import { findStage, resolveTarget, splitStages } from './stages.js';

interface Located {
  name: string;
  location: { ranges: Range[] };
}
export interface OutlineArg extends Located {
  description?: string;
  value?: string;
}
export interface OutlineNeed extends Located {
  required?: boolean;
}
export interface Outline {
  name?: string;
  description?: string;
  args?: OutlineArg[];
  secrets?: OutlineNeed[];
  ssh?: OutlineNeed[];
  sources: string[];
}

export interface OutlineInput {
  file: string;
  source: string;
  buildArgs: ReadonlyMap<string, string>;
  target?: string | undefined;
}

const at = (ins: Instruction) => ({ ranges: lineRanges(ins.location.line, ins.endLine) });

interface ArgInfo {
  arg: OutlineArg;
  deps: Set<string>;
}

export function outline(input: OutlineInput): Outline {
  const ast = parseToAst(input.source, input.file);
  const { globalArgs, stages } = splitStages(ast);
  const lex = new ShellLex(ast.directives.escape);
  const predefined = platformArgs();
  const globals = new Map<string, ArgInfo>();
  const globalValues = new Map<string, string | undefined>();
  const globalScope = (n: string) => (globalValues.has(n) ? globalValues.get(n) : predefined.get(n));
  for (const ins of globalArgs) addArgs(ins, globals, globalValues, globalScope, input, lex);

  const target = resolveTarget(stages, input.target, input.file);
  const reachable = reachableStages(stages, target, lex, globalScope);
  const used = new Set<string>();
  const stageArgs = new Map<string, ArgInfo>();
  const secrets = new Map<string, OutlineNeed>();
  const ssh = new Map<string, OutlineNeed>();
  for (const stage of reachable) {
    for (const word of [stage.from.image, stage.from.platform ?? '']) {
      for (const n of names(lex, word, globalScope)) used.add(n);
    }
    const values = new Map<string, string | undefined>();
    const scope = (n: string) => values.get(n);
    for (const ins of stage.instructions) {
      if (ins.kind === 'ARG') {
        for (const { key, value } of ins.args) {
          // `ARG NAME` without a value takes the global one, which the outline lists in its place
          if (value === undefined && !input.buildArgs.has(key) && globals.has(key)) {
            used.add(key);
            values.set(key, globalValues.get(key));
          } else {
            addArgs(
              { ...ins, args: [{ key, ...(value !== undefined ? { value } : {}) }] },
              stageArgs,
              values,
              scope,
              input,
              lex,
            );
          }
        }
      } else if (ins.kind === 'RUN') {
        for (const mount of ins.mounts) addMountNeed(mount, ins, secrets, ssh, (w) => lex.processWord(w, scope));
      }
    }
  }
  // a global ARG used by another one's default is used too
  const pending = [...used];
  while (pending.length) {
    for (const dep of globals.get(pending.pop()!)?.deps ?? []) {
      if (!used.has(dep)) {
        used.add(dep);
        pending.push(dep);
      }
    }
  }
  const byLine = <T extends Located>(list: T[]) =>
    list.sort((a, b) => (a.location.ranges[0]?.start.line ?? 0) - (b.location.ranges[0]?.start.line ?? 0));
  const args = byLine([
    ...[...globals].filter(([k]) => used.has(k)).map(([, a]) => a.arg),
    ...[...stageArgs.values()].map((a) => a.arg),
  ]);
  const description = docComment(target.from.comments, target.name ?? '');
  return {
    ...(target.name ? { name: target.name } : {}),
    ...(description ? { description } : {}),
    ...(args.length ? { args } : {}),
    ...(secrets.size ? { secrets: byLine([...secrets.values()]) } : {}),
    ...(ssh.size ? { ssh: byLine([...ssh.values()]) } : {}),
    sources: [Buffer.from(input.source).toString('base64')],
  };
}

function names(lex: ShellLex, word: string, scope: (n: string) => string | undefined): string[] {
  try {
    const m = lex.processWordWithMatches(word, scope);
    return [...m.matched, ...m.unmatched];
  } catch {
    return [];
  }
}

function addArgs(
  ins: ArgInstruction,
  into: Map<string, ArgInfo>,
  values: Map<string, string | undefined>,
  scope: (n: string) => string | undefined,
  input: OutlineInput,
  lex: ShellLex,
): void {
  for (const { key, value } of ins.args) {
    let v: string | undefined;
    let deps = new Set<string>();
    if (value !== undefined) {
      try {
        const m = lex.processWordWithMatches(value, scope);
        v = m.result;
        deps = new Set([...m.matched, ...m.unmatched]);
      } catch {
        v = value;
      }
    }
    if (input.buildArgs.has(key)) v = input.buildArgs.get(key);
    values.set(key, v);
    const description = docComment(ins.comments, key);
    // a redeclared ARG keeps what its earlier values used (`ARG FOO=${FOO}x`)
    for (const dep of into.get(key)?.deps ?? []) deps.add(dep);
    into.set(key, {
      arg: { name: key, ...(description ? { description } : {}), ...(v ? { value: v } : {}), location: at(ins) },
      deps,
    });
  }
}

function addMountNeed(
  text: string,
  ins: Instruction,
  secrets: Map<string, OutlineNeed>,
  ssh: Map<string, OutlineNeed>,
  expand: (w: string) => string,
): void {
  const kv = new Map<string, string>();
  let fields: string[];
  try {
    fields = splitCsv(text);
  } catch {
    return;
  }
  for (const f of fields) {
    const eq = f.indexOf('=');
    const key = (eq < 0 ? f : f.slice(0, eq)).trim().toLowerCase();
    kv.set(key === 'dst' || key === 'destination' ? 'target' : key, eq < 0 ? 'true' : expand(f.slice(eq + 1)));
  }
  const type = kv.get('type');
  if (type !== 'secret' && type !== 'ssh') return;
  const target = kv.get('target') ?? '';
  const id = kv.get('id') || (type === 'ssh' ? 'default' : target.slice(target.lastIndexOf('/') + 1));
  if (!id) return;
  const required = ['true', '1'].includes(kv.get('required') ?? 'false');
  const into = type === 'secret' ? secrets : ssh;
  if (!into.has(id)) into.set(id, { name: id, ...(required ? { required } : {}), location: at(ins) });
}

/** The target and every stage it needs: its FROM parent, COPY --from and RUN --mount from= sources. */
function reachableStages(
  stages: readonly Stage[],
  target: Stage,
  lex: ShellLex,
  globalScope: (n: string) => string | undefined,
): Stage[] {
  const seen = new Set<Stage>();
  const visit = (stage: Stage): void => {
    if (seen.has(stage)) return;
    seen.add(stage);
    let image = stage.from.image;
    try {
      image = lex.processWord(image, globalScope);
    } catch {
      // left as written
    }
    const parent = findStage([...stages], image, stage.index);
    if (parent && parent.name === image.toLowerCase()) visit(parent);
    for (const ins of stage.instructions) {
      const froms =
        ins.kind === 'COPY' || ins.kind === 'ADD'
          ? [ins.from ?? '']
          : ins.kind === 'RUN'
            ? ins.mounts.map((m) => /(?:^|,)from=([^,]+)/.exec(m)?.[1] ?? '')
            : [];
      for (const word of froms) {
        const found = word ? findStage([...stages], word) : undefined;
        if (found && found !== stage) visit(found);
      }
    }
  };
  visit(target);
  return stages.filter((s) => seen.has(s));
}

export interface TargetList {
  targets: {
    name?: string;
    default?: boolean;
    description?: string;
    base?: string;
    platform?: string;
    location: { ranges: Range[] };
  }[];
  sources: string[];
}

/** Every stage, in file order; the last is the default target. */
export function listTargets(input: Pick<OutlineInput, 'file' | 'source'>): TargetList {
  const { stages } = splitStages(parseToAst(input.source, input.file));
  return {
    targets: stages.map((s, i) => {
      const description = docComment(s.from.comments, s.name ?? '');
      return {
        ...(s.name ? { name: s.name } : {}),
        ...(i === stages.length - 1 ? { default: true } : {}),
        ...(description ? { description } : {}),
        base: s.from.image,
        ...(s.from.platform ? { platform: s.from.platform } : {}),
        location: at(s.from),
      };
    }),
    sources: [Buffer.from(input.source).toString('base64')],
  };
}

/** Go's text/tabwriter as buildx uses it: every cell but a line's last padded to its column's width. */
export function tabulate(rows: string[][], padding: number): string {
  const widths: number[] = [];
  for (const row of rows) {
    row.slice(0, -1).forEach((c, i) => {
      widths[i] = Math.max(widths[i] ?? 0, c.length);
    });
  }
  return rows
    .map((row) => row.map((c, i) => (i < row.length - 1 ? c.padEnd(widths[i]! + padding) : c)).join('') + '\n')
    .join('');
}

export function printOutline(o: Outline): string {
  let out = '';
  if (o.name || o.description) {
    const rows = [['TARGET:', o.name || '(default)']];
    if (o.description) rows.push(['DESCRIPTION:', o.description]);
    out += tabulate(rows, 1) + '\n';
  }
  if (o.args?.length)
    out +=
      tabulate(
        [['BUILD ARG', 'VALUE', 'DESCRIPTION'], ...o.args.map((a) => [a.name, a.value ?? '', a.description ?? ''])],
        3,
      ) + '\n';
  for (const [title, list] of [
    ['SECRET', o.secrets],
    ['SSH', o.ssh],
  ] as const) {
    if (list?.length)
      out += tabulate([[title, 'REQUIRED'], ...list.map((s) => [s.name, s.required ? 'true' : ''])], 3) + '\n';
  }
  return out;
}

export function printTargets(l: TargetList): string {
  return tabulate(
    [
      ['TARGET', 'DESCRIPTION'],
      ...l.targets.map((t) => [
        t.name ? (t.default ? `${t.name} (default)` : t.name) : t.default ? '(default)' : '',
        t.description ?? '',
      ]),
    ],
    1,
  );
}

/** The answer to `--call=outline|targets[,format=json]`: stdout's text and the exit code. */
export function outlineCall(
  call: { name: 'outline' | 'targets'; format: 'text' | 'json' },
  input: OutlineInput,
): { output: string; exitCode: number } {
  const value = call.name === 'outline' ? outline(input) : listTargets(input);
  if (call.format === 'json') return { output: `${JSON.stringify(value, null, 2)}\n`, exitCode: 0 };
  return {
    output: call.name === 'outline' ? printOutline(value as Outline) : printTargets(value as TargetList),
    exitCode: 0,
  };
}

/**
 * Dockerfile → build plan, as a pipeline of small steps (STYLE.md): parse → typed instructions →
 * global ARGs → stages → target → dispatch of the stages the target needs → final image config.
 */
import { UserError, nearest, withLocation, type SourceLocation } from '../errors.js';
import type { Vertex } from '../solver/graph.js';
import type { BuildPlan, FrontendOptions, NamedContext, ResolvedBase } from './build-plan.js';
import {
  addHistory,
  dispatchCmd,
  dispatchEnv,
  dispatchExpose,
  dispatchHealthcheck,
  dispatchLabel,
  dispatchMaintainer,
  dispatchOnbuild,
  dispatchShell,
  dispatchStopSignal,
  dispatchUser,
  dispatchVolume,
} from './dispatch-config.js';
import type { FromSource, FsDispatchContext } from './dispatch-common.js';
import { dispatchCopy } from './dispatch-copy.js';
import { dispatchRun } from './dispatch-run.js';
import { dispatchWorkdir } from './dispatch-workdir.js';
import { parseCheckOptions } from './checks/check-options.js';
import { checkCopyIgnored } from './checks/copy-ignored-file.js';
import { checkDefaultBaseNames, checkFromLine } from './checks/from-checks.js';
import {
  checkExposePorts,
  checkLegacyKeyValue,
  checkSecretKeys,
  checkShellForm,
  checkUndefinedVars,
  checkUsedOnce,
  checkWorkdir,
} from './checks/instruction-checks.js';
import { Linter } from './checks/linter.js';
import { RULES } from './checks/rules.js';
import { checkInstructionCasing, checkStageNames } from './checks/stage-checks.js';
import type { ArgInstruction, DockerfileAst, Instruction, Warning } from './instruction-types.js';
import { toInstructions } from './instructions.js';
import { checkSyntaxDirective } from './syntax-directive.js';
import { parseDockerfile } from './parser.js';
import { hostPlatform, platformArgs, PROXY_ARGS } from './platform.js';
import { formatPlatform, normalizePlatform, parsePlatform, type PlatformSpec } from '../registry/platform.js';
import { ShellLex } from './shell-lexer.js';
import {
  DEFAULT_PATH,
  DEFAULT_SHELL,
  envLookup,
  expansionScope,
  stageEnv,
  type Stage,
  type StageState,
} from './stage-state.js';
import { resolveEpochValue } from './source-date-epoch.js';
import { findStage, resolveTarget, splitStages } from './stages.js';
import { lookupNamedContext } from './named-contexts.js';

export function parseToAst(source: string, file: string, lint?: Linter): DockerfileAst {
  return toInstructions(parseDockerfile(source, file), file, lint);
}

interface Converter {
  opts: FrontendOptions;
  ast: DockerfileAst;
  stages: Stage[];
  lex: ShellLex;
  globalArgs: Map<string, string | undefined>;
  consumedArgs: Set<string>;
  warnings: Warning[];
  lint: Linter;
  converted: Map<number, Promise<StageState>>;
  inProgress: Set<number>;
  imageVertices: Map<string, Promise<{ vertex: Vertex; base: ResolvedBase }>>;
  /** The stage (index) whose first step names each base image vertex: the first in the Dockerfile on it. */
  baseNamedBy: Map<Vertex, number>;
  /** The platform this conversion builds for (TARGETPLATFORM); stages run on it unless FROM --platform says otherwise. */
  target: PlatformSpec;
  /** The `--build-context` directories FROM uses, one vertex each. */
  localVertices: Map<string, Vertex>;
  vertexCounter: number;
  /** The predefined ARGs: the platform ones for `target` (built on the host) and TARGETSTAGE. */
  predefined: Map<string, string>;
}

/** Build args BuildKit's frontend reads itself: never reported as unused. */
const FRONTEND_ARGS = new Set([
  'BUILDKIT_DOCKERFILE_CHECK',
  'BUILDKIT_SYNTAX',
  'BUILDKIT_SANDBOX_HOSTNAME',
  'SOURCE_DATE_EPOCH',
]);

/** BuildKit's predefined ARGs: the platform's, and TARGETSTAGE (the target, else the last stage's name, else "default"). */
function predefinedArgs(stages: Stage[], target: string | undefined, platform: PlatformSpec): Map<string, string> {
  const args = platformArgs(platform);
  args.set('TARGETSTAGE', target || stages[stages.length - 1]?.name || 'default');
  return args;
}

export async function convertDockerfile(opts: FrontendOptions): Promise<BuildPlan> {
  // the caller's list keeps the checks that ran before an error (--check reports both)
  const warnings = opts.warnings ?? [];
  const raw = parseDockerfile(opts.source, opts.file);
  checkSyntaxDirective(raw.directives.syntax, opts.buildArgs, opts.file);
  // BUILDKIT_DOCKERFILE_CHECK replaces the directive, as in BuildKit
  const lint = Linter.create(
    parseCheckOptions(opts.buildArgs.get('BUILDKIT_DOCKERFILE_CHECK') ?? raw.directives.check ?? ''),
    warnings,
  );
  const ast = toInstructions(raw, opts.file, lint);
  const { globalArgs, stages } = splitStages(ast);
  checkStageNames(stages, lint);
  checkInstructionCasing(stages, lint);
  const conv: Converter = {
    opts,
    ast,
    stages,
    lex: new ShellLex(ast.directives.escape),
    globalArgs: new Map(),
    consumedArgs: new Set(),
    warnings,
    lint,
    converted: new Map(),
    inProgress: new Set(),
    imageVertices: new Map(),
    baseNamedBy: new Map(),
    target: opts.platform ?? hostPlatform(),
    localVertices: new Map(),
    vertexCounter: 0,
    predefined: predefinedArgs(stages, opts.target, opts.platform ?? hostPlatform()),
  };
  checkDefaultBaseNames(stages, conv.lex, defaultGlobalScope(conv, globalArgs), lint);
  evaluateGlobalArgs(conv, globalArgs);
  const known = new Set([...conv.globalArgs.keys(), ...conv.predefined.keys()]);
  for (const stage of stages) checkFromLine(stage, conv.lex, globalValues(conv), known, lint);
  const epoch = await dockerfileEpoch(conv, globalArgs);
  const target = resolveTarget(stages, opts.target, opts.file);
  const state = await convertStage(conv, target);
  // --check without --target: every stage, as BuildKit lints them all
  if (opts.allStages) for (const stage of stages) await convertStage(conv, stage);
  for (const key of opts.buildArgs.keys()) {
    if (!conv.consumedArgs.has(key) && !PROXY_ARGS.has(key) && !conv.predefined.has(key) && !FRONTEND_ARGS.has(key)) {
      conv.warnings.push({ message: `build argument "${key}" was given but no ARG in the stages built consumes it` });
    }
  }
  const violation = lint.violation();
  if (violation) throw violation;
  const config = { ...state.config };
  if (config.OnBuild && config.OnBuild.length === 0) delete config.OnBuild;
  return {
    target: state.vertex,
    image: {
      ...imagePlatform(state.platform, opts.platform),
      config,
      history: state.history,
      ...(state.author ? { author: state.author } : {}),
    },
    stages: [...conv.converted.keys()].sort((a, b) => a - b).map((i) => stages[i]!.name ?? `stage-${i}`),
    warnings: conv.warnings,
    ...(epoch !== undefined ? { sourceDateEpoch: epoch } : {}),
  };
}

/**
 * The image's os/architecture/variant. BuildKit (dockerfile2llb convert.go, when the target platform is
 * not implicit): with --platform given, the image is for that platform even where the last stage ran on
 * another (`FROM --platform=$BUILDPLATFORM`), so each entry of a multi-platform index says its own
 * platform; the stage's variant stays only where os and architecture agree and the target names none.
 */
function imagePlatform(stage: PlatformSpec, target: PlatformSpec | undefined): PlatformSpec {
  const out = (p: PlatformSpec, variant = p.variant): PlatformSpec => ({
    architecture: p.architecture,
    os: p.os,
    ...(variant ? { variant } : {}),
  });
  if (!target) return out(stage);
  const sameOsArch = stage.os === target.os && stage.architecture === target.architecture;
  return out(target, target.variant || !sameOsArch ? target.variant : stage.variant);
}

/** SOURCE_DATE_EPOCH from a global ARG's default or --build-arg (source-date-epoch.ts). */
async function dockerfileEpoch(conv: Converter, args: ArgInstruction[]): Promise<number | undefined> {
  const name = 'SOURCE_DATE_EPOCH';
  const declared = args.find((a) => a.args.some((kv) => kv.key === name));
  const value = conv.globalArgs.has(name) ? conv.globalArgs.get(name) : conv.opts.buildArgs.get(name);
  const resolved = resolveEpochValue(
    value,
    conv.stages,
    (w) => conv.lex.processWord(w, globalScope(conv)),
    declared?.location,
    (n) => lookupNamedContext(conv.opts.namedContexts, n),
  );
  if (resolved.kind === 'seconds') return resolved.seconds;
  // `context`: the date of a remote context's source, as BuildKit's (a local directory has none)
  if (value === 'context' && conv.opts.contextDate) return conv.opts.contextDate();
  if ((resolved.kind === 'stage' || resolved.kind === 'named') && conv.opts.sourceDate) {
    const where = resolved.kind === 'stage' ? resolved.stage.from.location : declared?.location;
    const seconds = await conv.opts.sourceDate(resolved.source).catch((err: unknown) => {
      throw where ? withLocation(err, where) : err;
    });
    // the stages see the date, not the stage's name, as BuildKit's do
    conv.globalArgs.set(name, String(seconds));
    return seconds;
  }
  if (resolved.kind === 'stage')
    throw new UserError(`SOURCE_DATE_EPOCH from the date of stage "${resolved.stage.name}" is not supported yet`, {
      location: resolved.stage.from.location,
      hint: `give SOURCE_DATE_EPOCH as a number of seconds (e.g. the commit's: git log -1 --format=%ct)`,
    });
  return undefined;
}

function evaluateGlobalArgs(conv: Converter, args: ArgInstruction[]): void {
  const predefined = conv.predefined;
  const scope = (name: string): string | undefined =>
    conv.globalArgs.has(name) ? conv.globalArgs.get(name) : predefined.get(name);
  for (const ins of args) {
    for (const { key, value } of ins.args) {
      let v: string | undefined;
      if (conv.opts.buildArgs.has(key)) v = conv.opts.buildArgs.get(key);
      else if (value !== undefined) v = conv.lex.processWord(value, scope);
      else v = predefined.get(key);
      conv.globalArgs.set(key, v);
    }
  }
}

/** The global ARGs' values as they would be with no --build-arg (InvalidDefaultArgInFrom). */
function defaultGlobalScope(conv: Converter, args: ArgInstruction[]): (name: string) => string | undefined {
  const predefined = conv.predefined;
  const values = new Map<string, string | undefined>();
  const scope = (name: string): string | undefined => (values.has(name) ? values.get(name) : predefined.get(name));
  for (const ins of args) {
    for (const { key, value } of ins.args) {
      try {
        values.set(key, value !== undefined ? conv.lex.processWord(value, scope) : predefined.get(key));
      } catch {
        values.set(key, undefined);
      }
    }
  }
  return scope;
}

/** Global ARG values for the checks: like globalScope, without marking any ARG consumed. */
function globalValues(conv: Converter): (name: string) => string | undefined {
  const predefined = conv.predefined;
  return (name) => (conv.globalArgs.has(name) ? conv.globalArgs.get(name) : predefined.get(name));
}

/** Global ARGs (and the predefined platform ARGs) as FROM sees them. */
function globalScope(conv: Converter): (name: string) => string | undefined {
  const predefined = conv.predefined;
  return (name) => {
    if (conv.globalArgs.has(name)) {
      conv.consumedArgs.add(name);
      return conv.globalArgs.get(name);
    }
    return predefined.get(name);
  };
}

function convertStage(conv: Converter, stage: Stage): Promise<StageState> {
  const existing = conv.converted.get(stage.index);
  if (existing) {
    if (conv.inProgress.has(stage.index)) {
      throw new UserError(`circular dependency detected on stage "${stage.name ?? stage.index}"`, {
        location: stage.from.location,
        hint: 'a stage cannot use itself, directly or through other stages, in FROM or COPY --from',
      });
    }
    return existing;
  }
  conv.inProgress.add(stage.index);
  // Started from a fresh microtask: a chain of thousands of stages (each FROM the one before)
  // would otherwise descend into each other on one stack and overflow it.
  const p = Promise.resolve()
    .then(() => dispatchStage(conv, stage))
    .finally(() => conv.inProgress.delete(stage.index));
  conv.converted.set(stage.index, p);
  return p;
}

async function baseImageVertex(
  conv: Converter,
  ref: string,
  location: Stage['from']['location'],
  platform: PlatformSpec = conv.target,
): Promise<{ vertex: Vertex; base: ResolvedBase }> {
  const memo = `${ref}\0${formatPlatform(platform)}`;
  let entry = conv.imageVertices.get(memo);
  if (!entry) {
    entry = (async () => {
      const base = await conv.opts.resolveImage(ref, location, platform);
      const vertex: Vertex = {
        id: `v${conv.vertexCounter++}`,
        op: base.vertexOp,
        inputs: [],
        // until the first stage on it names it (nameBaseStep)
        name: `[internal] load ${base.vertexOp.ref}`,
        stage: '',
        location,
      };
      return { vertex, base };
    })();
    conv.imageVertices.set(memo, entry);
  }
  return entry;
}

async function initialState(conv: Converter, stage: Stage): Promise<StageState> {
  const image = conv.lex.processWord(stage.from.image, globalScope(conv));
  if (image.trim() === '') {
    throw new UserError('FROM names an empty image', {
      location: stage.from.location,
      hint: 'check the ARG used in FROM has a value (pass --build-arg)',
    });
  }
  const platform = stage.from.platform !== undefined ? fromPlatform(conv, stage) : conv.target;
  // BuildKit numbers only the steps that make a filesystem vertex, plus FROM of an image
  const parentStage = findStage(conv.stages, image, stage.index);
  const fromImage = image.toLowerCase() !== 'scratch' && !(parentStage && parentStage.name === image.toLowerCase());
  const base = stageBase(stage, fromImage, conv.opts.showPlatform ? platform : undefined);
  const parent = findStage(conv.stages, image, stage.index);
  if (parent && parent.name === image.toLowerCase()) {
    const p = await convertStage(conv, parent);
    return {
      ...base,
      vertex: p.vertex,
      platform: { ...p.platform },
      config: structuredClone(p.config),
      // Entries are never changed once pushed: sharing them keeps a long chain of stages linear in memory.
      history: [...p.history],
      shell: [...p.shell],
      ...(p.author ? { author: p.author } : {}),
      workdirSet: p.workdirSet,
      // the parent stage's ARGs carry over, as BuildKit's dispatchState.init appends its base's buildArgs
      args: new Map(p.args),
    };
  }
  if (image.toLowerCase() === 'scratch') return scratchState(conv, base, platform);
  const named = lookupNamedContext(conv.opts.namedContexts, image);
  if (named) return namedContextState(conv, base, named, stage.from.location, platform);
  return imageState(conv, base, image, stage.from.location, platform);
}

type StateBase = Omit<StageState, 'vertex' | 'platform' | 'config' | 'history'>;

/** `shown`: the platform the step names carry (`[linux/arm64 build 2/4]`), in a build of several. */
function stageBase(stage: Stage, fromImage: boolean, shown?: PlatformSpec): StateBase {
  const prefix = shown ? `${formatPlatform(shown)} ` : '';
  return {
    stage,
    args: new Map(),
    unmatched: new Set(),
    workdirSet: false,
    usedOnce: new Map(),
    shell: [...DEFAULT_SHELL],
    cmdSet: false,
    label: `${prefix}${stage.name ?? `stage-${stage.index}`}`,
    stepNumber: fromImage ? 1 : 0,
    stepTotal: (fromImage ? 1 : 0) + countSteps(stage.instructions),
  };
}

function scratchVertex(conv: Converter): Vertex {
  return { id: `v${conv.vertexCounter++}`, op: { type: 'scratch' }, inputs: [], name: '[internal] scratch', stage: '' };
}

function scratchState(
  conv: Converter,
  base: StateBase,
  platform: PlatformSpec,
  vertex: Vertex = scratchVertex(conv),
): StageState {
  return {
    ...base,
    vertex,
    // BuildKit's scratch image (dockerfile2llb/image.go emptyImage): the platform's os, architecture and variant
    platform: {
      os: platform.os,
      architecture: platform.architecture,
      ...(platform.variant ? { variant: platform.variant } : {}),
    },
    // BuildKit's empty image has WorkingDir "/" (dockerfile2llb/image.go emptyImage)
    config: { Env: [`PATH=${DEFAULT_PATH}`], WorkingDir: '/' },
    history: [],
  };
}

async function imageState(
  conv: Converter,
  base: StateBase,
  image: string,
  location: Stage['from']['location'],
  platform: PlatformSpec,
): Promise<StageState> {
  const { vertex, base: resolved } = await baseImageVertex(conv, image, location, platform);
  checkBasePlatform(conv, base.stage, image, resolved, platform);
  const config = structuredClone(resolved.config);
  if (!envLookup(config.Env).has('PATH')) config.Env = [`PATH=${DEFAULT_PATH}`, ...(config.Env ?? [])];
  return {
    ...base,
    vertex,
    platform: {
      os: resolved.os,
      architecture: resolved.architecture,
      ...(resolved.variant ? { variant: resolved.variant } : {}),
    },
    config,
    history: structuredClone(resolved.history),
    shell: resolved.config.Shell ? [...resolved.config.Shell] : [...DEFAULT_SHELL],
  };
}

/**
 * A `--build-context` directory as a rootfs (FROM, or a stage it replaces): its files, after its
 * own .dockerignore, copied onto an empty image, as BuildKit's local source is.
 */
function localContextVertex(conv: Converter, name: string): Vertex {
  let vertex = conv.localVertices.get(name);
  if (!vertex) {
    vertex = {
      id: `v${conv.vertexCounter++}`,
      op: {
        type: 'copy',
        sources: [{ kind: 'context', paths: ['/'], context: name }],
        dest: '/',
        exclude: [],
        preserveOwner: false,
        cwd: '/',
      },
      inputs: [scratchVertex(conv)],
      name: `[context ${name}] load from client`,
      stage: '',
    };
    conv.localVertices.set(name, vertex);
  }
  return vertex;
}

/** The state a `--build-context` gives FROM: its image (config and all), the empty image, or its directory. */
function namedContextState(
  conv: Converter,
  base: StateBase,
  named: NamedContext,
  location: Stage['from']['location'],
  platform: PlatformSpec,
): Promise<StageState> | StageState {
  if (named.kind === 'image') return imageState(conv, base, named.ref, location, platform);
  if (named.kind === 'scratch') return scratchState(conv, base, platform);
  return scratchState(conv, base, platform, localContextVertex(conv, named.name));
}

async function dispatchStage(conv: Converter, stage: Stage): Promise<StageState> {
  // A named context called like the stage replaces the whole stage, as in BuildKit.
  const replacement = stage.name ? lookupNamedContext(conv.opts.namedContexts, stage.name) : undefined;
  if (replacement)
    return namedContextState(
      conv,
      stageBase(stage, false, conv.opts.showPlatform ? conv.target : undefined),
      replacement,
      stage.from.location,
      conv.target,
    );
  const state = await initialState(conv, stage);
  const noCache =
    !!conv.opts.noCache ||
    !!(
      conv.opts.noCacheStages &&
      (conv.opts.noCacheStages.has('*') || (stage.name && conv.opts.noCacheStages.has(stage.name)))
    );
  const ctx: FsDispatchContext = {
    lex: conv.lex,
    buildArgs: conv.opts.buildArgs,
    noCache,
    nextVertexId: () => `v${conv.vertexCounter++}`,
    resolveFrom: (word, ins, mountTarget) => resolveCopyFrom(conv, stage, word, ins, mountTarget),
    ...(conv.opts.runSettings ? { runSettings: conv.opts.runSettings } : {}),
  };
  const triggers = state.config.OnBuild ?? [];
  // only when there are triggers: assigning the key otherwise would move it in the config's JSON (its digest)
  if (triggers.length) state.config.OnBuild = null;
  const parsed = triggers.map((t) => parseToAst(t, `${conv.opts.file} (ONBUILD of ${stage.from.image})`).instructions);
  state.stepTotal += parsed.reduce((n, list) => n + countSteps(list), 0);
  nameBaseStep(conv, state);
  for (const list of parsed) for (const ins of list) await dispatchInstruction(conv, state, ins, ctx);
  for (const ins of stage.instructions) await dispatchInstruction(conv, state, ins, ctx);
  return state;
}

/**
 * A base image shows as its stage's first step, `[stage 1/N] FROM REF@sha256:…`, as BuildKit names it. The
 * vertex is shared by the stages on that image: the first of them in the Dockerfile names it, whatever order
 * they convert in, so a build for several platforms makes the same name in each conversion (and merges it).
 * Named once the stage's step total is known (ONBUILD triggers add to it).
 */
function nameBaseStep(conv: Converter, state: StageState): void {
  const v = state.vertex;
  if (v.op.type !== 'image') return;
  const by = conv.baseNamedBy.get(v);
  if (by !== undefined && by <= state.stage.index) return;
  conv.baseNamedBy.set(v, state.stage.index);
  const pinned = v.op.ref.includes('@') ? v.op.ref : `${v.op.ref}@${v.op.manifestDigest}`;
  const width = String(state.stepTotal).length;
  v.name = `[${state.label} ${'1'.padStart(width)}/${state.stepTotal}] FROM ${pinned}`;
}

/** InvalidBaseImagePlatform: a base image that is not for the platform being built. */
function checkBasePlatform(
  conv: Converter,
  stage: Stage,
  image: string,
  base: ResolvedBase,
  platform: PlatformSpec,
): void {
  if (base.os === platform.os && base.architecture === platform.architecture) return;
  const actual = [base.os, base.architecture, base.variant].filter(Boolean).join('/');
  conv.lint
    .withComments(stage.from.comments)
    .run(
      RULES.InvalidBaseImagePlatform,
      { location: stage.from.location, endLine: stage.from.endLine },
      RULES.InvalidBaseImagePlatform.format(image, formatPlatform(platform), actual),
    );
}

/** `FROM --platform=…`: the platform the stage is for, its expression expanded with the global ARGs. */
function fromPlatform(conv: Converter, stage: Stage): PlatformSpec {
  const wanted = conv.lex.processWord(stage.from.platform!, globalScope(conv)).trim();
  if (wanted === '') {
    throw new UserError(`empty platform value from expression ${stage.from.platform}`, {
      location: stage.from.location,
      hint: 'declare the ARG the expression uses before the first FROM, or use $BUILDPLATFORM / $TARGETPLATFORM',
    });
  }
  const parsed = parsePlatform(wanted);
  if (!parsed) {
    throw new UserError(`FROM --platform=${wanted}: not a platform`, {
      location: stage.from.location,
      hint: 'write os/arch[/variant], e.g. linux/arm64, or use $BUILDPLATFORM / $TARGETPLATFORM',
    });
  }
  return normalizePlatform(parsed);
}

/** The instructions BuildKit numbers in step names: those that make a filesystem vertex. */
function countSteps(instructions: Instruction[]): number {
  return instructions.filter((i) => ['ADD', 'COPY', 'RUN', 'WORKDIR'].includes(i.kind)).length;
}

async function resolveCopyFrom(
  conv: Converter,
  stage: Stage,
  word: string,
  ins: { location: SourceLocation; kind: string },
  mountTarget?: string,
): Promise<FromSource> {
  const found = findStage(conv.stages, word);
  if (found) {
    if (found.index === stage.index) {
      throw new UserError(`${ins.kind} --from=${word} refers to the stage it is in`, {
        location: ins.location,
        hint: 'copy from an earlier stage',
      });
    }
    // a stage replaced by a directory is read in place, only what the step selects (as BuildKit
    // transfers only the followed paths)
    const replaced = found.name ? lookupNamedContext(conv.opts.namedContexts, found.name) : undefined;
    if (replaced?.kind === 'local') return { localContext: replaced.name };
    // BuildKit dispatches stages in file order: a later one is not there yet
    if (found.index > stage.index) {
      const current = stage.name ?? `stage-${stage.index}`;
      throw new UserError(
        ins.kind === 'RUN'
          ? `cannot mount from stage "${word}" to "${mountTarget ?? ''}", stage needs to be defined before current command`
          : `cannot copy from stage "${word}", it needs to be defined before current stage "${current}"`,
        { location: ins.location, hint: `move stage "${word}" above stage "${current}" in the Dockerfile` },
      );
    }
    return (await convertStage(conv, found)).vertex;
  }
  const named = lookupNamedContext(conv.opts.namedContexts, word);
  if (named?.kind === 'local') return { localContext: named.name };
  if (named?.kind === 'scratch') return scratchVertex(conv);
  if (named) return (await baseImageVertex(conv, named.ref, ins.location)).vertex;
  try {
    return (await baseImageVertex(conv, word, ins.location)).vertex;
  } catch (err) {
    const names = conv.stages.map((s) => s.name).filter((n): n is string => !!n);
    const guess = nearest(word, names);
    throw new UserError(
      `${ins.kind === 'RUN' ? 'RUN --mount from' : `${ins.kind} --from`}=${word}: no stage is named "${word}" and it could not be used as an image`,
      {
        location: ins.location,
        hint:
          (guess ? `did you mean --from=${guess}? ` : '') +
          (names.length ? `stages: ${names.join(', ')}` : 'no stage has a name'),
        detail: err instanceof Error ? `  (${err.message.split('\n')[0]})` : undefined,
        cause: err,
      },
    );
  }
}

function dispatchArg(conv: Converter, state: StageState, ins: ArgInstruction): void {
  const predefined = conv.predefined;
  const parts: string[] = [];
  // Defaults expand against the scope before this instruction, ENV winning over ARG as everywhere.
  const scope = expansionScope(state);
  for (const { key, value } of ins.args) {
    let v: string | undefined;
    if (conv.opts.buildArgs.has(key)) {
      v = conv.opts.buildArgs.get(key);
      conv.consumedArgs.add(key);
    } else if (value !== undefined) {
      v = conv.lex.processWord(value, scope);
    } else if (conv.globalArgs.has(key)) {
      v = conv.globalArgs.get(key);
      conv.consumedArgs.add(key);
    } else {
      v = predefined.get(key);
    }
    state.args.set(key, v);
    parts.push(v === undefined ? key : `${key}=${v}`);
  }
  addHistory(state, `ARG ${parts.join(' ')}`, false);
}

/** The one place instruction errors get their Dockerfile location: whatever escapes unlocated is this instruction's. */
async function dispatchInstruction(
  conv: Converter,
  state: StageState,
  ins: Instruction,
  ctx: FsDispatchContext,
): Promise<void> {
  state.currentLocation = ins.location;
  const lint = conv.lint.withComments(ins.comments);
  // an ARG declares its names for the instructions after it, not for its own defaults
  const ownArgs = ins.kind === 'ARG' ? ins.args.map((a) => a.key).filter((k) => !state.args.has(k)) : [];
  // names this instruction adds are no suggestion for its own words (BuildKit expands before applying)
  const ownEnv = ins.kind === 'ENV' ? ins.pairs.map((p) => p.key).filter((k) => !stageEnv(state).has(k)) : [];
  state.unmatched = new Set();
  try {
    checkBeforeDispatch(conv, state, ins, lint);
    await dispatchByKind(conv, state, ins, ctx);
  } catch (err) {
    throw withLocation(err, ins.location);
  }
  if (state.unmatched.size === 0) return;
  checkUndefinedVars(
    ins,
    state.unmatched,
    (name) => state.args.has(name) && !ownArgs.includes(name),
    () =>
      [...stageEnv(state).keys(), ...[...state.args].filter(([, v]) => v !== undefined).map(([k]) => k)].filter(
        (k) => !ownEnv.includes(k) && !ownArgs.includes(k),
      ),
    lint,
  );
}

/** The build checks of one instruction that BuildKit runs while building its stage. */
function checkBeforeDispatch(conv: Converter, state: StageState, ins: Instruction, lint: Linter): void {
  switch (ins.kind) {
    case 'ENV':
      checkLegacyKeyValue(ins, lint);
      checkSecretKeys(
        ins,
        ins.pairs.map((p) => p.key),
        lint,
      );
      return;
    case 'LABEL':
      checkLegacyKeyValue(ins, lint);
      return;
    case 'ARG':
      checkSecretKeys(
        ins,
        ins.args.map((a) => a.key),
        lint,
      );
      return;
    case 'WORKDIR': {
      // BuildKit checks the path as expanded: `WORKDIR $APP_HOME` with APP_HOME=/app is absolute
      let path = ins.path;
      try {
        path = conv.lex.processWord(ins.path, quietScope(state));
      } catch {
        // a word that does not expand fails at dispatch, with its own error
      }
      checkWorkdir({ ...ins, path }, state.workdirSet, lint);
      state.workdirSet = true;
      return;
    }
    case 'CMD':
    case 'ENTRYPOINT':
      checkUsedOnce(ins, state.usedOnce, lint);
      checkShellForm(ins, !!state.config.Shell?.length, lint);
      return;
    case 'HEALTHCHECK':
      checkUsedOnce(ins, state.usedOnce, lint);
      return;
    case 'EXPOSE': {
      const scope = quietScope(state);
      checkExposePorts(
        ins,
        ins.ports.flatMap((w) => conv.lex.processWords(w, scope)),
        lint,
      );
      return;
    }
    case 'COPY':
    case 'ADD': {
      if (ins.from !== undefined) return;
      const scope = quietScope(state);
      checkCopyIgnored(
        ins,
        ins.sources.map((w) => conv.lex.processWord(w, scope)),
        conv.opts.contextIgnore,
        lint,
      );
      return;
    }
  }
}

/** The stage's variables without recording misses: for checks that expand a word a second time. */
function quietScope(state: StageState): (name: string) => string | undefined {
  const env = stageEnv(state);
  return (name) => (env.has(name) ? env.get(name) : state.args.get(name));
}

function dispatchByKind(
  conv: Converter,
  state: StageState,
  ins: Instruction,
  ctx: FsDispatchContext,
): void | Promise<void> {
  const lex = conv.lex;
  switch (ins.kind) {
    case 'FROM':
      throw new UserError('FROM inside a stage', { location: ins.location });
    case 'ARG':
      return dispatchArg(conv, state, ins);
    case 'ENV':
      return dispatchEnv(state, ins, lex);
    case 'LABEL':
      return dispatchLabel(state, ins, lex);
    case 'USER':
      return dispatchUser(state, ins, lex);
    case 'EXPOSE':
      return dispatchExpose(state, ins, lex);
    case 'VOLUME':
      return dispatchVolume(state, ins, lex);
    case 'STOPSIGNAL':
      return dispatchStopSignal(state, ins, lex);
    case 'CMD':
    case 'ENTRYPOINT':
      return dispatchCmd(state, ins);
    case 'SHELL':
      return dispatchShell(state, ins);
    case 'HEALTHCHECK':
      return dispatchHealthcheck(state, ins);
    case 'ONBUILD':
      return dispatchOnbuild(state, ins);
    case 'MAINTAINER':
      return dispatchMaintainer(state, ins, lex);
    case 'RUN':
      return dispatchRun(state, ins, ctx);
    case 'COPY':
    case 'ADD':
      return dispatchCopy(state, ins, ctx);
    case 'WORKDIR':
      return dispatchWorkdir(state, ins, ctx);
  }
}

import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { BuildRequest, FrontendCall, OutputSpec, ProgressMode } from '../pipeline/build-request.js';
import { fetchNamedContext, parseBoolArg, resolveBuildContext } from '../sources/build-context.js';
import { defaultStateRoot } from '../store/state-paths.js';
import { asUsageError, UsageError, UserError } from '../errors.js';
import { checkBuildEnvironment, checkBuildRequest } from './build-preflight.js';
import {
  chooseIsolation,
  chrootBanner,
  inUserNamespace,
  reexecInUserNamespace,
  rootlessBanner,
  rootlessPossible,
  rootlessIds,
  rootlessRuntimeDir,
} from './isolation.js';
import { parseBuildArgs, parseOutput, parseSourceDateEpoch } from './parse-output.js';
import { outputsSourceDateEpoch } from '../exporter/output-spec.js';
import { parseAllow } from './parse-allow.js';
import { parseCacheFrom, parseCacheTo } from './parse-cache-option.js';
import { parseSecrets, parseSsh } from './parse-secrets.js';
import { parseBuildContexts } from './parse-build-context.js';
import { parseAttestations } from './parse-attest.js';
import { parseAnnotations, parseLabels, runSettings } from './parse-run-flags.js';
import { parseResources, type ResourceFlags } from './parse-resources.js';
import { defaultPlatform } from '../registry/platform.js';
import { pidsLimitFromEnv } from '../executor/pids-limit.js';
import { parsePlatforms } from './parse-platforms.js';

export const EXIT_INTERRUPTED = 130;

export function version(): string {
  const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };
  return pkg.version;
}

export const collect = (v: string, prev: string[]): string[] => [...prev, v];

/** The build's flags as commander parses them; the resource limits' are parse-resources.ts's. */
export interface BuildFlags extends ResourceFlags {
  tag: string[];
  file?: string;
  buildArg: string[];
  target?: string;
  cache: boolean;
  cacheFilter?: string[];
  output: string[];
  cacheTo?: string[];
  cacheFrom?: string[];
  secret: string[];
  ssh: string[];
  /** `--progress`; when not given, `BUILDKIT_PROGRESS`, else auto (resolveProgress). */
  progress?: string;
  /** `-q`: only the image ID on stdout. */
  quiet?: boolean;
  /** `--load`: into the local docker (`-o type=docker` without dest). */
  load?: boolean;
  debug?: boolean;
  push?: boolean;
  pull?: boolean;
  metadataFile?: string;
  iidfile?: string;
  insecureRegistry?: string[];
  registryCa?: string[];
  allow?: string[];
  buildContext?: string[];
  label?: string[];
  /** `--isolation`: runc, rootless or chroot; by default chooseIsolation's pick (set to it for chroot). */
  isolation?: string;
  /** `--platform`, each a comma list. */
  platform?: string[];
  annotation?: string[];
  network?: string;
  addHost?: string[];
  shmSize?: string;
  ulimit?: string[];
  /** `--call=NAME[,format=json]`; `--check` is `--call=check`. */
  call?: string;
  check?: boolean;
  /** `--provenance`, `--attest` (buildx's grammar). */
  provenance?: string;
  attest?: string[];
}

export const PROGRESS_MODES: readonly ProgressMode[] = ['auto', 'plain', 'tty', 'json', 'rawjson', 'quiet'];

/**
 * The progress mode as buildx picks it: `--progress`, else `BUILDKIT_PROGRESS`, else auto; `-q`
 * is quiet, and cannot go with another mode given on the command line.
 */
export function resolveProgress(flags: Pick<BuildFlags, 'progress' | 'quiet'>, env: NodeJS.ProcessEnv): ProgressMode {
  // a bad --progress is the command line's (usage, exit 2); a bad BUILDKIT_PROGRESS the environment's (exit 1)
  const check = (mode: string, where: string, Err: typeof UserError): ProgressMode => {
    if ((PROGRESS_MODES as readonly string[]).includes(mode)) return mode as ProgressMode;
    throw new Err(`${where} "${mode}" is not a progress mode`, { hint: `one of: ${PROGRESS_MODES.join(', ')}` });
  };
  if (flags.progress !== undefined) {
    const mode = check(flags.progress, '--progress', UsageError);
    if (flags.quiet && mode !== 'auto' && mode !== 'quiet')
      throw new UsageError(`progress=${mode} and quiet cannot be used together`, {
        hint: 'leave out -q or --progress',
      });
    return flags.quiet ? 'quiet' : mode;
  }
  if (flags.quiet) return 'quiet';
  return env.BUILDKIT_PROGRESS ? check(env.BUILDKIT_PROGRESS, 'BUILDKIT_PROGRESS', UserError) : 'auto';
}

/**
 * Rootless mode, outside the user namespace: runs this build again inside one and reports true
 * (it has run). Everything else goes on here: root's builds, and the build the re-run makes.
 */
async function enteredUserNamespace(flags: BuildFlags): Promise<boolean> {
  const euid = process.geteuid?.();
  const mode = chooseIsolation(flags.isolation, euid, undefined, () => rootlessPossible(euid!));
  if (mode === 'chroot') {
    // proot is looked for at the first RUN: a build without one needs none
    const asUser = euid !== undefined && euid !== 0;
    const progress = resolveProgress(flags, process.env);
    if (progress !== 'quiet' && progress !== 'json' && !flags.quiet)
      process.stderr.write(`${chrootBanner(flags.isolation === undefined, asUser)}\n`);
    flags.isolation = 'chroot';
    return false;
  }
  if (mode === 'runc') {
    // root of a user namespace it did not make (a userns-remapped container) is rootless already
    if (flags.isolation === 'runc' && inUserNamespace())
      throw new UsageError('--isolation runc cannot run inside a user namespace', { hint: 'use --isolation rootless' });
    return false;
  }
  if (inUserNamespace()) return false;
  if (euid === undefined || euid === 0)
    throw new UsageError('--isolation rootless is for a user other than root', {
      hint: 'run it as that user, or leave out --isolation as root',
    });
  const ids = await rootlessIds(euid, process.getegid!());
  const env = { ...process.env };
  const runtimeDir = rootlessRuntimeDir(defaultStateRoot(env), env);
  if (runtimeDir) env.TSBUILD_RUNTIME_DIR = runtimeDir;
  const progress = resolveProgress(flags, env);
  if (progress !== 'quiet' && progress !== 'json' && !flags.quiet)
    process.stderr.write(`${rootlessBanner(ids, pidsLimitFromEnv(env))}\n`);
  await reexecInUserNamespace(ids, env);
  return true;
}

/** The request for the build, and what removes its context's scratch copy (a git checkout, an archive's files) after it. */
export async function toRequest(
  contextArg: string,
  flags: BuildFlags,
): Promise<{ req: BuildRequest; cleanup: () => Promise<void> }> {
  // BUILDKIT_PROGRESS is the environment's: a bad value there is not the command line's
  const progress = resolveProgress(flags, process.env);
  let fields: Omit<BuildRequest, 'contextDir'>;
  try {
    fields = requestFields(flags, progress);
  } catch (err) {
    // a flag whose value does not parse is bad usage, as an unknown flag is: exit 2
    throw asUsageError(err);
  }
  // outputs that disagree on source-date-epoch= are refused before anything is built
  outputsSourceDateEpoch(fields.outputs);
  const epoch = parseSourceDateEpoch(fields.buildArgs, process.env);
  if (epoch !== undefined) fields.sourceDateEpoch = epoch;
  if (flags.push && fields.tags.length === 0)
    throw new UserError('--push needs a name to push to', { hint: 'add -t REGISTRY/REPO:TAG' });
  await checkBuildRequest(fields);
  // last: fetching a git or URL context is the first work, done once every flag is known to be good
  const keepGitDir = parseBoolArg(fields.buildArgs.get('BUILDKIT_CONTEXT_KEEP_GIT_DIR'));
  const context = await resolveBuildContext(contextArg, {
    ...(flags.file !== undefined ? { file: flags.file } : {}),
    stateRoot: fields.stateRoot,
    keepGitDir,
    stdin: process.stdin,
  });
  const cleanups = [context.cleanup];
  const cleanup = async (): Promise<void> => {
    for (const c of cleanups) await c();
  };
  try {
    for (const [name, spec] of fields.namedContexts ?? []) {
      if (spec.kind !== 'git' && spec.kind !== 'url') continue;
      const fetched = await fetchNamedContext(name, spec.value, { stateRoot: fields.stateRoot, keepGitDir });
      cleanups.push(fetched.cleanup);
      fields.namedContexts!.set(name, { kind: 'dir', dir: fetched.dir, fetched: true, source: spec.value });
    }
  } catch (err) {
    await cleanup();
    throw err;
  }
  const req: BuildRequest = {
    contextDir: context.dir,
    ...(context.dockerfilePath !== undefined ? { dockerfilePath: context.dockerfilePath } : {}),
    ...(context.dockerfileSource !== undefined ? { dockerfileSource: context.dockerfileSource } : {}),
    ...(context.fetched ? { fetchedContext: context.fetched } : {}),
    ...fields,
  };
  return { req, cleanup };
}

/** The request as the flags give it, each flag's value parsed (a UserError for one that does not parse). */
function requestFields(flags: BuildFlags, progress: ProgressMode): Omit<BuildRequest, 'contextDir'> {
  return {
    tags: flags.tag,
    buildArgs: parseBuildArgs(flags.buildArg, process.env),
    noCache: !flags.cache,
    ...(flags.cacheFilter?.length
      ? {
          noCacheFilter: flags.cacheFilter
            .flatMap((s) => s.split(','))
            .map((s) => s.trim())
            .filter(Boolean),
        }
      : {}),
    ...(flags.secret.length ? { secrets: parseSecrets(flags.secret) } : {}),
    ...(flags.ssh.length ? { ssh: parseSsh(flags.ssh, process.env) } : {}),
    outputs: [
      ...flags.output.map((o) => parseOutput(o)),
      // buildx's shorthand for -o type=docker (given once, whatever -o also says)
      ...(flags.load && !flags.output.some((o) => isLoadOutput(parseOutput(o))) ? [{ type: 'docker' }] : []),
    ],
    ...(flags.cacheTo?.length
      ? {
          cacheTo: flags.cacheTo
            .map(parseCacheTo)
            .map((c) => (c.type === 'local' ? { ...c, dest: resolve(c.dest) } : c)),
        }
      : {}),
    ...(flags.cacheFrom?.length
      ? {
          cacheFrom: flags.cacheFrom
            .map(parseCacheFrom)
            .map((c) => (c.type === 'local' ? { ...c, src: resolve(c.src) } : c)),
        }
      : {}),
    ...(flags.push ? { push: true } : {}),
    ...(flags.pull ? { pull: true } : {}),
    ...(flags.metadataFile ? { metadataFile: resolve(flags.metadataFile) } : {}),
    ...(flags.iidfile ? { iidFile: resolve(flags.iidfile) } : {}),
    ...(flags.insecureRegistry?.length ? { insecureRegistries: flags.insecureRegistry } : {}),
    ...(flags.registryCa?.length ? { registryCas: flags.registryCa.map((f) => resolve(f)) } : {}),
    ...(flags.allow?.length ? { allow: parseAllow(flags.allow) } : {}),
    ...(flags.buildContext?.length ? { namedContexts: parseBuildContexts(flags.buildContext) } : {}),
    ...(flags.label?.length ? { labels: parseLabels(flags.label) } : {}),
    ...(flags.platform?.length ? { platforms: parsePlatforms(flags.platform) } : {}),
    ...(flags.annotation?.length
      ? {
          annotations: parseAnnotations(
            flags.annotation,
            flags.platform?.length ? parsePlatforms(flags.platform) : [defaultPlatform()],
          ),
        }
      : {}),
    ...withProvenance(flags),
    ...withRunSettings(flags),
    ...withResources(flags),
    progress,
    stateRoot: defaultStateRoot(),
    ...(flags.target ? { target: flags.target } : {}),
    ...callField(flags),
  };
}

function withProvenance(flags: BuildFlags): Pick<BuildRequest, 'provenance'> {
  const provenance = parseAttestations(flags.provenance, flags.attest ?? []);
  return provenance ? { provenance } : {};
}

function withRunSettings(flags: BuildFlags): Pick<BuildRequest, 'runSettings'> {
  const settings = runSettings(flags);
  return settings ? { runSettings: settings } : {};
}

function withResources(flags: BuildFlags): Pick<BuildRequest, 'resources' | 'isolation'> {
  const resources = parseResources(flags);
  return {
    ...(resources ? { resources } : {}),
    ...(flags.isolation === 'chroot' ? { isolation: 'chroot' as const } : {}),
  };
}

/** `--call` as buildx reads it: `NAME[,format=json|raw]`; `build` (or nothing) is a build. */
export function parseCall(value: string): FrontendCall | undefined {
  const [name = '', ...options] = value.split(',').map((s) => s.trim());
  let format: FrontendCall['format'] = 'text';
  for (const option of options) {
    const [key, v = ''] = option.split('=', 2) as [string, string?];
    if (key !== 'format' || !['json', 'raw', ''].includes(v))
      throw new UserError(`--call: unknown option ${JSON.stringify(option)}`, { hint: 'the option is format=json' });
    if (v === 'json') format = 'json';
  }
  const names: Record<string, FrontendCall['name'] | 'build'> = {
    build: 'build',
    check: 'check',
    lint: 'check',
    outline: 'outline',
    targets: 'targets',
  };
  const known = names[name];
  if (!known)
    throw new UserError(`--call: unknown request ${JSON.stringify(name)}`, {
      hint: 'one of: build, check, outline, targets',
    });
  return known === 'build' ? undefined : { name: known, format };
}

function callField(flags: BuildFlags): { call?: FrontendCall } {
  if (flags.check && flags.call !== undefined && !/^check(,|$)/.test(flags.call))
    throw new UserError('--check and --call cannot be used together', { hint: '--check is --call=check' });
  const call = parseCall(flags.call ?? (flags.check ? 'check' : 'build'));
  return call ? { call } : {};
}

const isLoadOutput = (o: OutputSpec): boolean => o.type === 'docker' && o.dest === undefined;

export async function build(contextArg: string, flags: BuildFlags): Promise<void> {
  if (await enteredUserNamespace(flags)) return;
  await checkBuildEnvironment(process.env, process.geteuid?.(), flags.isolation === 'chroot' ? 'chroot' : undefined);
  if (flags.isolation === 'chroot') {
    // after the state dir setting is checked: a bad TSBUILD_ROOT is said as such, not as this
    const { checkWhiteoutsAllowed } = await import('../snapshot/whiteout-probe.js');
    await checkWhiteoutsAllowed(join(defaultStateRoot(), 'tmp'), 'isolation chroot');
  }
  const { req, cleanup } = await toRequest(contextArg, flags);
  const [{ runBuild }, { createRenderer }] = await Promise.all([
    import('../pipeline/run-build.js'),
    import('../progress/renderer.js'),
  ]);
  const { printReport } = await import('../exporter/exporters.js');
  const renderer = await createRenderer(req.progress, process.stderr);
  const abort = new AbortController();
  let interrupted = false;
  const onSignal = (sig: NodeJS.Signals): void => {
    if (interrupted) process.exit(EXIT_INTERRUPTED);
    interrupted = true;
    process.stderr.write(`\n${sig}: cancelling the build (cleaning up; press Ctrl-C again to quit at once)\n`);
    abort.abort(new UserError('the build was interrupted'));
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  try {
    const result = await runBuild(req, (e) => renderer.onEvent(e), abort.signal);
    renderer.close();
    if (result.call) {
      // the answer goes to stdout as buildx prints it; a Dockerfile error in a check to stderr
      process.stdout.write(result.call.output);
      if (result.call.error) process.stderr.write(`ERROR: ${result.call.error}`);
      process.exitCode = result.call.exitCode;
      return;
    }
    if (flags.quiet || req.progress === 'quiet') {
      // -q: the image ID alone, as docker build -q prints it; --progress=quiet: nothing
      if (flags.quiet) process.stdout.write(`${result.configDigest}\n`);
      return;
    }
    // docker's image ID (the config digest), then the manifest the outputs hold, which a registry names
    const lines = [`image ${result.configDigest}`, `manifest ${result.manifestDigest}`];
    lines.push(...result.exported.map(printReport));
    if (req.outputs.length === 0 && !req.push) {
      const tag = req.tags[0];
      lines.push(
        tag
          ? `export it with: tsbuild -t ${tag} -o type=docker,dest=image.tar ${contextArg}  (a cached rebuild), or skopeo copy oci:${req.stateRoot}/content:${tag} docker-archive:image.tar`
          : 'nothing was kept: give -t NAME to store the image, --load to load it into docker, or -o type=oci,dest=FILE / -o type=docker,dest=FILE to write it out',
      );
    }
    // the JSON stream carries only events: its last one, the result, says all this
    if (req.progress !== 'json') process.stderr.write(lines.join('\n') + '\n');
  } catch (err) {
    renderer.close();
    if (interrupted) {
      process.stderr.write('error: the build was interrupted\n');
      process.exitCode = EXIT_INTERRUPTED;
      return;
    }
    throw err;
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    await cleanup();
  }
}

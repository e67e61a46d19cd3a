import { Command, CommanderError, Option } from 'commander';
import { readFileSync } from 'node:fs';
import { stat } from 'node:fs/promises';
import { resolve } from 'node:path';
import type { BuildRequest, ProgressMode } from '../build/build-request.js';
import { defaultStateRoot } from '../cache/state-dir.js';
import { formatUserError, isUserError, UserError } from '../errors.js';
import { parseBuildArgs, parseOutput } from './parse-output.js';

const EXIT_USER_ERROR = 1;
const EXIT_USAGE = 2;
const EXIT_INTERRUPTED = 130;

function version(): string {
  const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };
  return pkg.version;
}

const collect = (v: string, prev: string[]): string[] => [...prev, v];

interface BuildFlags {
  tag: string[];
  file?: string;
  buildArg: string[];
  target?: string;
  cache: boolean;
  output: string[];
  progress: ProgressMode;
  debug?: boolean;
}

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of process.stdin) chunks.push(c as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

async function toRequest(contextArg: string, flags: BuildFlags): Promise<BuildRequest> {
  const contextDir = resolve(contextArg);
  try {
    if (!(await stat(contextDir)).isDirectory()) throw new Error();
  } catch {
    throw new UserError(`build context "${contextArg}" is not a directory`, { hint: 'pass the directory holding your sources, e.g. tsbuild -t app .' });
  }
  const req: BuildRequest = {
    contextDir,
    tags: flags.tag,
    buildArgs: parseBuildArgs(flags.buildArg, process.env),
    noCache: !flags.cache,
    outputs: flags.output.map(parseOutput),
    progress: flags.progress,
    stateRoot: defaultStateRoot(),
    ...(flags.target ? { target: flags.target } : {}),
  };
  if (flags.file === '-') {
    req.dockerfileSource = await readStdin();
  } else {
    const path = flags.file ? resolve(flags.file) : resolve(contextDir, 'Dockerfile');
    try {
      await stat(path);
    } catch {
      throw new UserError(`no Dockerfile at ${flags.file ?? `${contextArg}/Dockerfile`}`, { hint: 'name it with -f PATH, or -f - to read it from stdin' });
    }
    req.dockerfilePath = path;
  }
  return req;
}

async function build(contextArg: string, flags: BuildFlags): Promise<void> {
  const req = await toRequest(contextArg, flags);
  const [{ runBuild }, { createRenderer }] = await Promise.all([import('../build/run-build.js'), import('../progress/renderer.js')]);
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
    const lines = [`image ${result.manifestDigest}`];
    for (const e of result.exported) {
      if (e.startsWith('store:')) lines.push(`stored as ${e.slice(6)} in ${req.stateRoot}/content`);
      else lines.push(`wrote ${e.replace(/^(\w+):/, '$1 archive ')}`);
    }
    if (req.outputs.length === 0) {
      const tag = req.tags[0];
      lines.push(tag
        ? `export it with: tsbuild -t ${tag} -o type=docker,dest=image.tar ${contextArg}  (a cached rebuild), or skopeo copy oci:${req.stateRoot}/content:${tag} docker-archive:image.tar`
        : 'nothing was kept: give -t NAME to store the image, or -o type=oci,dest=FILE / -o type=docker,dest=FILE to write it out');
    }
    process.stderr.write(lines.join('\n') + '\n');
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
  }
}

export function program(): Command {
  const cmd = new Command('tsbuild')
    .description('Build a container image from a Dockerfile')
    .version(version(), '--version')
    .argument('[context]', 'the build context directory', '.')
    .option('-t, --tag <name>', 'name the image (repeatable)', collect, [] as string[])
    .option('-f, --file <path>', 'the Dockerfile (default: <context>/Dockerfile; - reads stdin)')
    .option('--build-arg <key=value>', 'set a build-time ARG; KEY alone takes it from the environment (repeatable)', collect, [] as string[])
    .option('--target <stage>', 'build this stage and what it needs, not the last one')
    .option('--no-cache', 'run every step, ignoring cached results')
    .option('-o, --output <spec>', 'type=oci,dest=FILE or type=docker,dest=FILE (repeatable)', collect, [] as string[])
    .addOption(new Option('--progress <mode>', 'progress output').choices(['auto', 'plain', 'tty', 'json']).default('auto'))
    .option('--debug', 'show stack traces for errors')
    .showSuggestionAfterError(true)
    .exitOverride()
    .action(async (context: string, flags: BuildFlags) => build(context, flags));
  return cmd;
}

export async function main(argv: string[]): Promise<void> {
  const debug = argv.includes('--debug');
  let finished = false;
  // If the event loop runs dry while a promise is still pending, node would exit 0 mid-build.
  process.on('beforeExit', () => {
    if (finished) return;
    finished = true;
    process.stderr.write('internal error: the build stopped before it finished (a pending operation never completed); this is a bug in tsbuild\n');
    process.exitCode = 70;
  });
  try {
    await program().parseAsync(argv);
  } catch (err) {
    if (err instanceof CommanderError) {
      process.exitCode = err.exitCode === 0 ? 0 : EXIT_USAGE;
      return;
    }
    if (isUserError(err)) {
      process.stderr.write(formatUserError(err) + '\n');
      if (debug && err.stack) process.stderr.write(err.stack + '\n');
      process.exitCode = EXIT_USER_ERROR;
      return;
    }
    const e = err as Error;
    process.stderr.write(`internal error: ${e?.message ?? String(err)}\n`);
    process.stderr.write(debug ? `${e?.stack ?? ''}\n` : 'this is a bug in tsbuild; run again with --debug for the stack trace\n');
    process.exitCode = 70;
  } finally {
    finished = true;
  }
}

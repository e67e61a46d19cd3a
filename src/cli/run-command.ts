import { Command } from 'commander';
import { formatUserError, isUserError, UserError } from '../errors.js';
import { collect } from './build-command.js';
import { openImages, requireImages } from './image-session.js';
import { parseOnePlatform } from './parse-platforms.js';
import {
  parseContainerName,
  parseEnvOption,
  parseNetwork,
  parseVolume,
  parseWorkdir,
  readEnvFile,
} from './parse-run-options.js';

interface RunFlags {
  rm?: boolean;
  env: string[];
  envFile: string[];
  workdir?: string;
  user?: string;
  network: string;
  volume: string[];
  entrypoint?: string;
  interactive?: boolean;
  tty?: boolean;
  name?: string;
  platform?: string;
}

/** docker run's exit code for an error before the container starts (its 125). */
const EXIT_CANNOT_START = 125;

/**
 * `tsbuild run [OPTIONS] IMAGE [COMMAND [ARG…]]`: a stored image's process under runc, as `docker
 * run` starts it (see pipeline/run-stored-image.ts). Its exit code is tsbuild's; an error before
 * it starts (no such image, a bad -v) exits 125 as docker's does.
 */
export function runCommand(): Command {
  return (
    new Command('run')
      .description('run a stored image in a container (docker run); nothing of the container is kept')
      .argument('<image>', 'image name or ID')
      .argument('[command...]', 'the command and its arguments (replace the image CMD)')
      .option('--rm', 'accepted for docker compatibility: a container is always removed when it exits')
      .option('-e, --env <K=V>', 'set an environment variable; K alone takes it from here (repeatable)', collect, [])
      .option('--env-file <file>', 'read K=V lines into the environment (repeatable)', collect, [])
      .option('-w, --workdir <dir>', 'working directory inside the container (absolute)')
      .option('-u, --user <user[:group]>', 'user (name or uid) and group to run as')
      .option(
        '--network <mode>',
        'host (default: the host network, as RUN steps; there is no bridge) or none (only a loopback)',
        'host',
      )
      .option(
        '-v, --volume <host:ctr[:ro]>',
        'bind an existing absolute host path, read-only with :ro (repeatable)',
        collect,
        [],
      )
      .option('--entrypoint <cmd>', "replace the image's ENTRYPOINT (and drop its CMD); '' clears it")
      .option('-i, --interactive', 'pass stdin to the process')
      .option('-t, --tty', 'give the process a terminal (needs one here)')
      .option('--name <name>', 'a name, shown in the id of the runc container')
      .option(
        '--platform <os/arch[/variant]>',
        "run that platform's image of a multi-platform image (a foreign one under its binfmt_misc emulator)",
      )
      // everything after the image belongs to the command: `run img sh -c 'echo hi'`
      .passThroughOptions()
      .action(async (image: string, command: string[], flags: RunFlags) => {
        try {
          process.exitCode = await run(image, command, flags);
        } catch (err) {
          if (!isUserError(err)) throw err;
          process.stderr.write(`${formatUserError(err)}\n`);
          process.exitCode = EXIT_CANNOT_START;
        }
      })
  );
}

async function run(image: string, command: string[], flags: RunFlags): Promise<number> {
  const tty = flags.tty === true;
  if (tty && !process.stdin.isTTY && !process.stdout.isTTY && !process.stderr.isTTY)
    throw new UserError('the input device is not a TTY', {
      hint: 'drop -t, or run from a terminal (in CI, script -qec "tsbuild run -t …" /dev/null gives one)',
    });
  const env = flags.env.map((e) => parseEnvOption(e));
  // docker: --env-file first, -e on top
  const fromFiles = (await Promise.all(flags.envFile.map(readEnvFile))).flat();
  const volumes = flags.volume.map(parseVolume);
  const network = parseNetwork(flags.network);
  const workdir = flags.workdir === undefined ? undefined : parseWorkdir(flags.workdir);
  const name = flags.name === undefined ? undefined : parseContainerName(flags.name);
  const platform = flags.platform === undefined ? undefined : parseOnePlatform(flags.platform);
  const { paths, images } = await openImages();
  requireImages(images, image);
  const { runStoredImage } = await import('../pipeline/run-stored-image.js');
  return runStoredImage(
    {
      stateRoot: paths.root,
      image,
      process: {
        cmd: command,
        env: [...fromFiles, ...env],
        ...(flags.entrypoint !== undefined ? { entrypoint: flags.entrypoint } : {}),
        ...(workdir ? { workdir } : {}),
        ...(flags.user !== undefined ? { user: flags.user } : {}),
      },
      network,
      volumes,
      stdin: flags.interactive === true,
      tty,
      ...(name ? { name } : {}),
      ...(platform ? { platform } : {}),
    },
    {
      onWait: (m) => process.stderr.write(`${m}...\n`),
      onWarning: (m) => process.stderr.write(`WARNING: ${m}\n`),
    },
  );
}

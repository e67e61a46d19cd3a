import { Command, Option } from 'commander';
import { build, collect, version, type BuildFlags } from './build-command.js';
import { duCommand } from './du-command.js';
import { pruneCommand } from './prune-command.js';

/** The command line: `tsbuild [flags] [context]` builds; subcommands are added here. */
export function program(): Command {
  const cmd = new Command('tsbuild')
    .description('Build a container image from a Dockerfile')
    .version(version(), '--version')
    .argument('[context]', 'the build context directory', '.')
    .option('-t, --tag <name>', 'name the image (repeatable)', collect, [] as string[])
    .option('-f, --file <path>', 'the Dockerfile (default: <context>/Dockerfile; - reads stdin)')
    .option(
      '--build-arg <key=value>',
      'set a build-time ARG; KEY alone takes it from the environment (repeatable)',
      collect,
      [] as string[],
    )
    .option('--target <stage>', 'build this stage and what it needs, not the last one')
    .option('--no-cache', 'run every step, ignoring cached results')
    .option(
      '--no-cache-filter <stage>',
      'run the steps of these stages even when cached (repeatable, or a comma list)',
      collect,
      [] as string[],
    )
    .option(
      '--secret <id=…,src=FILE|env=VAR>',
      'a secret for RUN --mount=type=secret (repeatable)',
      collect,
      [] as string[],
    )
    .option('--ssh <id[=socket]>', 'forward an ssh agent to RUN --mount=type=ssh (repeatable)', collect, [] as string[])
    .option(
      '-o, --output <spec>',
      'type=oci|docker|local|tar|image|registry,dest=…,name=…,push=true,compression=gzip|zstd|uncompressed,compression-level=N (repeatable)',
      collect,
      [] as string[],
    )
    .option(
      '--cache-to <spec>',
      'export the build cache: type=registry,ref=REF[,mode=max|min] or type=local,dest=DIR (repeatable)',
      collect,
      [] as string[],
    )
    .option(
      '--cache-from <spec>',
      'use a cache exported with --cache-to: type=registry,ref=REF, type=local,src=DIR, or REF (repeatable)',
      collect,
      [] as string[],
    )
    .option('--push', 'push the -t names to their registries (same as -o type=registry)')
    .option('--pull', 'check the registry for newer versions of base images')
    .option('--metadata-file <file>', 'write the image digest, config digest and names as JSON (like buildx)')
    .option(
      '--insecure-registry <host>',
      'a registry that may use plain HTTP or a certificate that is not checked (repeatable)',
      collect,
      [] as string[],
    )
    .option(
      '--registry-ca <file>',
      'trust this CA certificate (PEM) for registries, besides the system ones and SSL_CERT_FILE (repeatable)',
      collect,
      [] as string[],
    )
    .option(
      '--allow <entitlement>',
      'grant security.insecure (RUN --security=insecure), network.host, fs.read=DIR (repeatable)',
      collect,
      [] as string[],
    )
    .addOption(
      new Option('--progress <mode>', 'progress output').choices(['auto', 'plain', 'tty', 'json']).default('auto'),
    )
    .option('--debug', 'show stack traces for errors')
    .showSuggestionAfterError(true)
    .exitOverride()
    .action(async (context: string, flags: BuildFlags) => build(context, flags));
  // `tsbuild du` / `tsbuild prune`; a context dir of that name is given as ./du
  cmd.addCommand(duCommand().exitOverride());
  cmd.addCommand(pruneCommand().exitOverride());
  return cmd;
}

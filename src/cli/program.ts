import { Command, Option } from 'commander';
import { ISOLATION_MODES } from './isolation.js';
import { build, collect, PROGRESS_MODES, version, type BuildFlags } from './build-command.js';
import { duCommand } from './du-command.js';
import { historyCommand } from './history-command.js';
import { imagesCommand } from './images-command.js';
import { inspectCommand } from './inspect-command.js';
import { loadCommand } from './load-command.js';
import { pruneCommand } from './prune-command.js';
import { pullCommand } from './pull-command.js';
import { pushCommand } from './push-command.js';
import { withRegistryOptions } from './registry-options.js';
import { rmiCommand } from './rmi-command.js';
import { runCommand } from './run-command.js';
import { saveCommand } from './save-command.js';
import { tagCommand } from './tag-command.js';

/** The build's flags, on both `tsbuild [flags] CONTEXT` and `tsbuild build [flags] CONTEXT`. */
function withBuildOptions(cmd: Command): Command {
  return (
    withRegistryOptions(cmd)
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
      .option(
        '--ssh <id[=socket]>',
        'forward an ssh agent to RUN --mount=type=ssh (repeatable)',
        collect,
        [] as string[],
      )
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
      .option('--load', 'load the image into the local docker with docker load (same as -o type=docker)')
      .option('-q, --quiet', 'print only the image ID (sha256:…) on success, nothing else')
      .option('--pull', 'check the registry for newer versions of base images')
      .option('--metadata-file <file>', 'write the image digest, config digest and names as JSON (like buildx)')
      .option('--iidfile <file>', 'write the image ID (sha256:<config digest>) to FILE, as docker build does')
      .option(
        '--allow <entitlement>',
        'grant security.insecure (RUN --security=insecure), network.host, fs.read=DIR (repeatable)',
        collect,
        [] as string[],
      )
      // Named contexts, image metadata and the RUN environment (buildx's flags of those names)
      .option(
        '--build-context <name=value>',
        'a named context replacing the stage or image NAME: DIR, docker-image://REF, oci-layout://DIR[:TAG], a git or https URL (repeatable)',
        collect,
        [] as string[],
      )
      .option(
        '--platform <platforms>',
        'build for these platforms (comma list: linux/amd64,linux/arm64, arm64, local; repeatable); foreign ones run under QEMU',
        collect,
        [] as string[],
      )
      .option(
        '--label <key=value>',
        'set a label on the image, after the Dockerfile LABELs (repeatable)',
        collect,
        [] as string[],
      )
      .option(
        '--annotation <[type:]key=value>',
        'annotate the image: manifest (default), manifest-descriptor; index, index-descriptor with several --platform; manifest[PLATFORM] for one (repeatable)',
        collect,
        [] as string[],
      )
      .option(
        '--provenance <value>',
        'attach a SLSA provenance attestation: true (mode=min), false, or mode=min|max[,version=v1|v0.2]',
      )
      .option(
        '--attest <type=provenance,...>',
        'an attestation to attach: type=provenance[,mode=min|max][,version=v1|v0.2] (no SBOM scanner: type=sbom is refused)',
        collect,
        [] as string[],
      )
      .option('--network <mode>', 'the network of every RUN without its own --network: default, none, host')
      .option('--add-host <host:ip>', 'add a line to /etc/hosts of every RUN (repeatable)', collect, [] as string[])
      .option('--shm-size <bytes>', 'size of /dev/shm in RUN (e.g. 128m; default 64m)')
      .option(
        '--ulimit <name=soft[:hard]>',
        'a resource limit for RUN, e.g. nofile=1024:2048 (repeatable)',
        collect,
        [] as string[],
      )
      // the limits of every RUN's cgroup, as classic docker build took them
      .option('-m, --memory <bytes>', 'memory limit for every RUN (e.g. 512m, 2g); a RUN over it is killed')
      .option('--memory-swap <bytes>', 'memory plus swap for every RUN (default: twice --memory; -1 unlimited swap)')
      .option('--cpus <number>', 'CPUs every RUN may use (e.g. 1.5)')
      .option('--cpu-quota <us>', 'CPU time (µs) every RUN may use per --cpu-period')
      .option('--cpu-period <us>', 'the CPU CFS period (µs, default 100000)')
      .option('-c, --cpu-shares <weight>', "every RUN's CPU weight relative to other processes (default 1024)")
      .option('--cpuset-cpus <list>', 'the CPUs every RUN may run on (e.g. 0-3 or 0,1)')
      .option('--cpuset-mems <list>', 'the memory nodes every RUN may use (NUMA)')
      .option('--cgroup-parent <path>', "make each RUN step's cgroup below this one")
      .addOption(
        new Option(
          '--isolation <mode>',
          'how RUN steps are isolated: runc (root: namespaces, seccomp, cgroup), rootless (a user namespace; default for a non-root user) or chroot (root without mount rights, e.g. in a container: chroot(2) only, no namespaces; default there). See README, Isolation modes',
        ).choices(ISOLATION_MODES),
      )
      .addOption(
        new Option('--progress <mode>', 'progress output (default: $BUILDKIT_PROGRESS, else auto)').choices(
          PROGRESS_MODES,
        ),
      )
      .option(
        '--call <request>',
        'build (default), or ask the frontend instead of building: check, outline, targets; ",format=json" for JSON',
      )
      .option('--check', 'run the build checks and build nothing (same as --call=check); exit 1 when one fires')
      .option('--debug', 'show stack traces for errors')
  );
}

/**
 * The command line: `tsbuild [flags] [context]` builds, as does `tsbuild build [flags] CONTEXT`
 * (docker's spelling); the image and state commands are subcommands. A context dir named like a
 * subcommand is given as `./images`, `./build`. Options are positional: the root's flags come
 * before a subcommand's name, so `tsbuild build -t x .` gives -t to `build`.
 */
export function program(): Command {
  const cmd = withBuildOptions(
    new Command('tsbuild')
      .description('Build a container image from a Dockerfile')
      .version(version(), '--version')
      .argument('[context]', 'the build context directory', '.'),
  )
    .enablePositionalOptions()
    .showSuggestionAfterError(true)
    .exitOverride()
    .action(async (context: string, flags: BuildFlags) => build(context, flags));
  const build_ = withBuildOptions(
    new Command('build')
      .description('build an image (docker build)')
      .argument('<context>', 'the build context directory'),
  ).action(async (context: string, flags: BuildFlags) => build(context, flags));
  for (const sub of [
    build_,
    imagesCommand(),
    tagCommand(),
    rmiCommand(),
    inspectCommand(),
    historyCommand(),
    saveCommand(),
    loadCommand(),
    pullCommand(),
    pushCommand(),
    runCommand(),
    duCommand(),
    pruneCommand(),
  ])
    cmd.addCommand(sub.showSuggestionAfterError(true).exitOverride());
  return cmd;
}

import { Command, Option } from 'commander';
import { build, collect, version, type BuildFlags } from './build-command.js';

/** The command line: `tsbuild [flags] [context]` builds; subcommands are added here. */
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
    .option('--secret <id=…,src=FILE|env=VAR>', 'a secret for RUN --mount=type=secret (repeatable)', collect, [] as string[])
    .option('--ssh <id[=socket]>', 'forward an ssh agent to RUN --mount=type=ssh (repeatable)', collect, [] as string[])
    .option('-o, --output <spec>', 'type=oci,dest=FILE or type=docker,dest=FILE (repeatable)', collect, [] as string[])
    .addOption(new Option('--progress <mode>', 'progress output').choices(['auto', 'plain', 'tty', 'json']).default('auto'))
    .option('--debug', 'show stack traces for errors')
    .showSuggestionAfterError(true)
    .exitOverride()
    .action(async (context: string, flags: BuildFlags) => build(context, flags));
  return cmd;
}


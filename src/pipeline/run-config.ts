import { UserError } from '../errors.js';
import type { ContainerConfig } from '../image/types.js';

/** What `tsbuild run` was told about the process, on top of the image's config. */
export interface RunProcessOptions {
  /** `--entrypoint`: undefined when not given; '' clears the image's entrypoint. */
  entrypoint?: string;
  /** The arguments after the image name (replace the image's Cmd when there are any). */
  cmd: string[];
  /** `-e`/`--env-file` in order: `K=V` sets K, a bare `K` removes it (docker's `-e K` with K unset here). */
  env: string[];
  workdir?: string;
  user?: string;
  tty: boolean;
  hostname: string;
}

export interface ProcessConfig {
  args: string[];
  env: string[];
  cwd: string;
  user: string;
}

/** The PATH docker gives a Linux container whose image sets none. */
export const DEFAULT_PATH = 'PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

/**
 * The container's process as the docker daemon makes it from an image config and `docker run`'s
 * flags: a given entrypoint replaces the image's and drops its Cmd (`--entrypoint ''` leaves none);
 * arguments after the image replace Cmd; Env starts from PATH, HOSTNAME (and TERM with a
 * terminal), the image's Env overrides those and `-e` overrides all; WorkingDir and User come from
 * the flags, else the image, else `/` and root.
 */
export function processConfig(image: ContainerConfig, o: RunProcessOptions): ProcessConfig {
  let entrypoint: string[];
  let cmd: string[];
  if (o.entrypoint !== undefined) {
    entrypoint = o.entrypoint === '' ? [] : [o.entrypoint];
    cmd = o.cmd;
  } else {
    entrypoint = image.Entrypoint ?? [];
    cmd = o.cmd.length ? o.cmd : (image.Cmd ?? []);
  }
  const args = [...entrypoint, ...cmd];
  if (args.length === 0)
    throw new UserError('No command specified', {
      hint: 'the image has no ENTRYPOINT or CMD: give a command after the image name',
    });
  const base = [DEFAULT_PATH, `HOSTNAME=${o.hostname}`, ...(o.tty ? ['TERM=xterm'] : [])];
  const env = mergeEnv(mergeEnv(base, image.Env ?? []), o.env);
  const cwd = o.workdir || image.WorkingDir || '/';
  return { args, env, cwd, user: o.user ?? image.User ?? '' };
}

/** docker's ReplaceOrAppendEnvValues: `K=V` replaces K or is added; a bare `K` removes K. */
export function mergeEnv(defaults: string[], overrides: string[]): string[] {
  const out = new Map<string, string>();
  for (const e of defaults) out.set(envKey(e), e);
  for (const e of overrides) {
    if (e.includes('=')) out.set(envKey(e), e);
    else out.delete(e);
  }
  return [...out.values()];
}

const envKey = (e: string): string => (e.includes('=') ? e.slice(0, e.indexOf('=')) : e);

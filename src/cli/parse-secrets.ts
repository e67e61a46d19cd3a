import { flagFields } from './flag-fields.js';
import { UserError } from '../errors.js';

/**
 * `--secret id=ID,src=FILE` / `id=ID,env=VAR` / `type=env,id=ID[,src=VAR]` / `id=ID`, as buildx
 * reads them: `type` is `file` or `env`; with `type=env` a `src` names the variable; with neither
 * src nor env, the variable ID when it is set, else the file ID (buildx's secret store).
 */
export function parseSecrets(
  values: string[],
  env: NodeJS.ProcessEnv = process.env,
): Map<string, { file?: string; env?: string }> {
  const out = new Map<string, { file?: string; env?: string }>();
  for (const v of values) {
    const fields = flagFields('--secret', v, 'use --secret id=NAME,src=FILE or --secret id=NAME,env=VAR');
    const id = fields.get('id');
    if (!id) throw new UserError(`invalid --secret "${v}": id= is required`);
    for (const k of fields.keys()) {
      if (!['id', 'src', 'source', 'env', 'type'].includes(k))
        throw new UserError(`invalid --secret "${v}": unknown key "${k}"`);
    }
    const type = fields.get('type');
    if (type !== undefined && type !== 'file' && type !== 'env')
      throw new UserError(`invalid --secret "${v}": unsupported secret type "${type}"`, {
        hint: 'type=file or type=env',
      });
    let file = fields.get('src') ?? fields.get('source');
    let envName = fields.get('env');
    if (type === 'env' && envName === undefined) {
      envName = file;
      file = undefined;
    }
    if (file === undefined && envName === undefined) {
      if (type === 'env' || env[id] !== undefined) envName = id;
      else file = id;
    }
    out.set(id, file !== undefined ? { file } : { env: envName! });
  }
  return out;
}

/** `--ssh default` (uses $SSH_AUTH_SOCK) or `--ssh ID=/path/to/agent.sock`. */
export function parseSsh(values: string[], env: NodeJS.ProcessEnv): Map<string, string> {
  const out = new Map<string, string>();
  for (const v of values) {
    const eq = v.indexOf('=');
    const id = eq < 0 ? v : v.slice(0, eq);
    const socket = eq < 0 ? env.SSH_AUTH_SOCK : v.slice(eq + 1);
    if (!id) throw new UserError(`invalid --ssh "${v}": the id is empty`);
    if (!socket)
      throw new UserError(`--ssh ${id}: no agent socket`, {
        hint: 'start ssh-agent (SSH_AUTH_SOCK) or give --ssh ID=/path/to/agent.sock',
      });
    out.set(id, socket);
  }
  return out;
}

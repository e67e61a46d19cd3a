/**
 * CDI (Container Device Interface) devices for `RUN --device=vendor.com/class=name`, as BuildKit
 * resolves them from the spec files in its CDI directories: /etc/cdi and /var/run/cdi, or the
 * `:`-separated list in $TSBUILD_CDI_SPEC_DIRS. tsbuild reads JSON specs only (no YAML parser
 * dependency), and applies a device's `containerEdits.env` only: a device that would add device
 * nodes, mounts or hooks is refused, so a Dockerfile gains nothing from the host but variables.
 */
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { UserError } from '../errors.js';

export interface DeviceRequest {
  /** The fully qualified name, `vendor.com/class=name`. */
  name: string;
  /** `required`: a device no spec names fails the step; otherwise it is left out. */
  required?: boolean;
}

interface ContainerEdits {
  env?: string[];
  deviceNodes?: unknown[];
  mounts?: unknown[];
  hooks?: unknown[];
}

interface CdiSpec {
  kind?: string;
  devices?: { name?: string; containerEdits?: ContainerEdits }[];
  containerEdits?: ContainerEdits;
}

export function cdiSpecDirs(env: NodeJS.ProcessEnv = process.env): string[] {
  const dirs = env.TSBUILD_CDI_SPEC_DIRS;
  return dirs ? dirs.split(':').filter(Boolean) : ['/etc/cdi', '/var/run/cdi'];
}

/** Every spec file of the directories, parsed; a directory that does not exist has none. */
async function readSpecs(dirs: string[]): Promise<{ specs: { file: string; spec: CdiSpec }[]; yaml: string[] }> {
  const specs: { file: string; spec: CdiSpec }[] = [];
  const yaml: string[] = [];
  for (const dir of dirs) {
    const names = await readdir(dir).catch((err: NodeJS.ErrnoException) => {
      if (err.code === 'ENOENT' || err.code === 'ENOTDIR') return [] as string[];
      throw err;
    });
    for (const name of names.sort()) {
      const file = join(dir, name);
      if (/\.ya?ml$/.test(name)) yaml.push(file);
      if (!name.endsWith('.json')) continue;
      try {
        specs.push({ file, spec: JSON.parse(await readFile(file, 'utf8')) as CdiSpec });
      } catch (err) {
        throw new UserError(`CDI spec ${file} cannot be read: ${(err as Error).message}`);
      }
    }
  }
  return { specs, yaml };
}

function envOf(edits: ContainerEdits | undefined, device: string, file: string): string[] {
  if (!edits) return [];
  for (const key of ['deviceNodes', 'mounts', 'hooks'] as const) {
    if (edits[key]?.length)
      throw new UserError(`RUN --device=${device}: its CDI spec (${file}) adds ${key}, which tsbuild does not apply`, {
        hint: 'tsbuild applies the environment (containerEdits.env) of a CDI device only',
      });
  }
  return edits.env ?? [];
}

/** The variables the requested devices set (spec-wide edits first, then the device's), in order. */
export async function cdiDeviceEnv(devices: DeviceRequest[], dirs: string[] = cdiSpecDirs()): Promise<string[]> {
  if (!devices.length) return [];
  const { specs, yaml } = await readSpecs(dirs);
  const env: string[] = [];
  for (const d of devices) {
    const eq = d.name.indexOf('=');
    const kind = eq < 0 ? '' : d.name.slice(0, eq);
    const short = d.name.slice(eq + 1);
    const found = specs.find((s) => s.spec.kind === kind && s.spec.devices?.some((dev) => dev.name === short) === true);
    if (!found) {
      if (!d.required) continue;
      throw new UserError(`RUN --device=${d.name},required: no CDI spec in ${dirs.join(', ')} names that device`, {
        hint: yaml.length
          ? `tsbuild reads JSON CDI specs only; these YAML ones were not read: ${yaml.join(', ')}`
          : 'set TSBUILD_CDI_SPEC_DIRS to the directories of the CDI specs',
      });
    }
    const device = found.spec.devices!.find((dev) => dev.name === short)!;
    env.push(
      ...envOf(found.spec.containerEdits, d.name, found.file),
      ...envOf(device.containerEdits, d.name, found.file),
    );
  }
  return env;
}

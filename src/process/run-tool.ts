import { spawn } from 'node:child_process';
import { missingTool } from './missing-tool.js';
import { runInToolShell, ToolShellUnavailable } from './tool-shell.js';

export interface ToolResult {
  code: number;
  stdout: Buffer;
  stderr: string;
}

/**
 * Runs a system tool (mount, getfattr, setfattr, mknod…) and collects its output. Node has no
 * mount, xattr or mknod API, so these are the only way in; callers batch work into few calls
 * because each start costs milliseconds. They are started by the tool shell (tool-shell.ts),
 * which spares node's main thread the fork.
 * LC_ALL=C keeps messages and getfattr's name escaping independent of the user's locale.
 */
export async function runTool(
  cmd: string,
  args: string[],
  opts: { cwd?: string; input?: Buffer | string } = {},
): Promise<ToolResult> {
  const viaShell = runInToolShell(cmd, args, opts);
  if (viaShell) {
    try {
      const r = await viaShell;
      // bash's "command not found" / "No such file or directory" for the tool itself
      if (r.code === 127 && /^bash: line \d+: [^\n]*(command not found|No such file or directory)/.test(r.stderr)) {
        throw missingTool(cmd, { cause: new Error(r.stderr) });
      }
      return r;
    } catch (err) {
      if (!(err instanceof ToolShellUnavailable)) throw err;
    }
  }
  return spawnTool(cmd, args, opts);
}

function spawnTool(cmd: string, args: string[], opts: { cwd?: string; input?: Buffer | string }): Promise<ToolResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, {
      cwd: opts.cwd,
      env: { ...process.env, LC_ALL: 'C' },
      stdio: [opts.input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'],
    });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout!.on('data', (c: Buffer) => out.push(c));
    child.stderr!.on('data', (c: Buffer) => err.push(c));
    child.on('error', (e: NodeJS.ErrnoException) => {
      if (e.code === 'ENOENT') reject(missingTool(cmd, { cause: e }));
      else reject(e);
    });
    child.on('close', (code, signal) => {
      resolve({
        code: code ?? (signal ? 128 : 1),
        stdout: Buffer.concat(out),
        stderr: Buffer.concat(err).toString('utf8').trim(),
      });
    });
    if (opts.input !== undefined) {
      child.stdin!.on('error', () => {
        /* the tool may exit before reading all input; its exit code tells what happened */
      });
      child.stdin!.end(opts.input);
    }
  });
}

export async function runToolChecked(
  cmd: string,
  args: string[],
  opts: { cwd?: string; input?: Buffer | string } = {},
): Promise<Buffer> {
  const r = await runTool(cmd, args, opts);
  if (r.code !== 0) throw new Error(`${cmd} failed (exit ${r.code}): ${r.stderr || '(no output)'}`);
  return r.stdout;
}

/**
 * Splits arguments into groups whose total length stays well under ARG_MAX, so one spawn can
 * take thousands of paths without E2BIG.
 */
export function chunkArgs(args: string[], maxBytes = 96 * 1024): string[][] {
  const groups: string[][] = [];
  let cur: string[] = [];
  let len = 0;
  for (const a of args) {
    const n = Buffer.byteLength(a) + 1;
    if (cur.length > 0 && len + n > maxBytes) {
      groups.push(cur);
      cur = [];
      len = 0;
    }
    cur.push(a);
    len += n;
  }
  if (cur.length > 0) groups.push(cur);
  return groups;
}

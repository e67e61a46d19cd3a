import type { SolverEvent } from '../solver/events.js';

export interface Renderer {
  onEvent(e: SolverEvent): void;
  /** Flushes anything pending; the build is over. */
  close(): void;
}

export async function createRenderer(
  mode: 'auto' | 'plain' | 'tty' | 'json',
  out: NodeJS.WriteStream,
): Promise<Renderer> {
  const resolved = mode === 'auto' ? (out.isTTY ? 'tty' : 'plain') : mode;
  switch (resolved) {
    case 'json':
      return new (await import('./json.js')).JsonRenderer(out);
    case 'tty':
      return new (await import('./tty.js')).TtyRenderer(out);
    default:
      return new (await import('./plain.js')).PlainRenderer(out);
  }
}

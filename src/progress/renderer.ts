import type { SolverEvent } from '../solver/events.js';

export interface Renderer {
  onEvent(e: SolverEvent): void;
  /** Flushes anything pending; the build is over. */
  close(): void;
}

export async function createRenderer(
  mode: 'auto' | 'plain' | 'tty' | 'json' | 'rawjson' | 'quiet',
  out: NodeJS.WriteStream,
): Promise<Renderer> {
  const resolved = mode === 'auto' ? (out.isTTY ? 'tty' : 'plain') : mode;
  switch (resolved) {
    case 'quiet':
      // -q: the build says nothing unless it fails (the CLI prints the error)
      return { onEvent() {}, close() {} };
    case 'json':
    case 'rawjson':
      return new (await import('./json.js')).JsonRenderer(out);
    case 'tty':
      return new (await import('./tty.js')).TtyRenderer(out);
    default:
      return new (await import('./plain.js')).PlainRenderer(out);
  }
}

import type { SolverEvent } from '../solver/events.js';
import type { Renderer } from './renderer.js';

/**
 * One JSON object per line per event, for tools; nothing else is written to the stream. The last
 * line is the `result` event: the image ID, manifest digest, names, outputs and duration, or the error.
 */
export class JsonRenderer implements Renderer {
  constructor(private readonly out: NodeJS.WritableStream) {}
  onEvent(e: SolverEvent): void {
    this.out.write(JSON.stringify(e) + '\n');
  }
  close(): void {}
}

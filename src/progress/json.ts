import type { SolverEvent } from '../solver/events.js';
import type { Renderer } from './renderer.js';

/** One JSON object per line per event, for tools. */
export class JsonRenderer implements Renderer {
  constructor(private readonly out: NodeJS.WritableStream) {}
  onEvent(e: SolverEvent): void {
    this.out.write(JSON.stringify(e) + '\n');
  }
  close(): void {}
}

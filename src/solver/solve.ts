import PQueue from 'p-queue';
import { UserError } from '../errors.js';
import type { ContextSelection } from '../cache/context-source.js';
import { cacheKeyOf, type CacheKey, type KeyRecord } from './cache-key.js';
import type { VertexInfo } from './events.js';
import type { Op, Vertex } from './graph.js';
import type { OpRun, SolveContext, VertexResult } from './ops/op-context.js';
import { runCopy, selectContextSources } from './ops/run-copy.js';
import { selectBindSources } from './ops/exec-mounts.js';
import { runExec } from './ops/run-exec.js';
import { imageLayers, runImage } from './ops/run-image.js';
import { runMkdir } from './ops/run-mkdir.js';

interface KeyInfo {
  key: CacheKey;
  record: KeyRecord;
  selections: Map<number, ContextSelection>;
}

export interface SolveOptions {
  /** How many ops may run at once (RUN steps mostly wait on their processes). */
  concurrency?: number;
}

/** Step layers are named after their cache key; 20 chars keep ~150 layers inside the one-page overlay option limit. */
export function stepSnapshotId(key: string): string {
  return `s${key.slice(0, 19)}`;
}

/**
 * Runs the graph under `target`: each vertex's key is derived from its op and its inputs' keys,
 * a vertex with a recorded result is not run (nor is anything only it needs), the rest run as
 * soon as their inputs are ready, at most `concurrency` at a time. The first failure cancels
 * everything still running.
 */
export class Solver {
  private readonly keys = new Map<Vertex, Promise<KeyInfo>>();
  private readonly results = new Map<Vertex, Promise<VertexResult>>();
  private readonly reported = new Set<Vertex>();
  private readonly queue: PQueue;
  private readonly abort = new AbortController();
  private readonly ctx: SolveContext;

  constructor(ctx: Omit<SolveContext, 'signal'> & { signal?: AbortSignal }, opts: SolveOptions = {}) {
    this.queue = new PQueue({ concurrency: opts.concurrency ?? 8 });
    if (ctx.signal) ctx.signal.addEventListener('abort', () => this.abort.abort(ctx.signal!.reason), { once: true });
    this.ctx = { ...ctx, signal: this.abort.signal };
  }

  async solve(target: Vertex): Promise<VertexResult> {
    try {
      const result = await this.resultOf(target);
      this.reportImplicitlyCached(target);
      return result;
    } catch (err) {
      if (!this.abort.signal.aborted) this.abort.abort(err);
      await this.queue.onIdle().catch(() => {});
      throw err;
    }
  }

  keyOf(v: Vertex): Promise<KeyInfo> {
    let p = this.keys.get(v);
    if (!p) {
      p = this.computeKey(v).catch((err: unknown) => {
        throw locate(err, v);
      });
      this.keys.set(v, p);
    }
    return p;
  }

  private async computeKey(v: Vertex): Promise<KeyInfo> {
    const inputs = await Promise.all(v.inputs.map(async (i) => (await this.keyOf(i)).key));
    const selections = new Map<number, ContextSelection>();
    let op: unknown = v.op;
    const content: string[] = [];
    if (v.op.type === 'image') op = { type: 'image', manifest: v.op.manifestDigest };
    // A proxy setting changes how a RUN reaches the network, not what it builds (BuildKit agrees).
    if (v.op.type === 'exec' && v.op.proxyEnv) op = { ...v.op, proxyEnv: undefined };
    if (v.op.type === 'exec' && v.op.mounts) {
      for (const [i, sel] of await selectBindSources(v.op, this.ctx)) {
        selections.set(i, sel);
        content.push(sel.digest);
      }
    }
    if (v.op.type === 'copy') {
      const copyOp = v.op;
      for (const [i, sel] of await selectContextSources(copyOp, { ctx: this.ctx })) {
        selections.set(i, sel);
        content.push(sel.digest);
      }
    }
    const record: KeyRecord = { op, inputs, ...(content.length ? { content } : {}) };
    return { key: cacheKeyOf(record), record, selections };
  }

  private resultOf(v: Vertex): Promise<VertexResult> {
    let p = this.results.get(v);
    if (!p) {
      p = this.computeResult(v);
      this.results.set(v, p);
    }
    return p;
  }

  private info(v: Vertex): VertexInfo {
    return { id: v.id, name: v.name };
  }

  private async computeResult(v: Vertex): Promise<VertexResult> {
    const op: Op = v.op;
    if (op.type === 'scratch') return { layers: [] };
    if (op.type === 'image') {
      const result = imageLayers(op);
      const present = await Promise.all(result.layers.map((id) => this.ctx.snapshots.exists(id)));
      if (present.every(Boolean)) return result;
      return this.runOp(v, async () => runImage(op, this.ctx), 'base image layers not unpacked yet');
    }
    const keyInfo = await this.keyOf(v);
    if (!v.noCache) {
      const rec = await this.ctx.records.get(keyInfo.key);
      if (rec && (await Promise.all(rec.layers.map((id) => this.ctx.snapshots.exists(id)))).every(Boolean)) {
        this.reported.add(v);
        this.ctx.emit({ type: 'vertex.cached', vertex: this.info(v), time: Date.now() });
        return { layers: rec.layers, createdAt: rec.createdAt };
      }
    }
    const inputs = await Promise.all(v.inputs.map((i) => this.resultOf(i)));
    const reason = v.noCache ? 'cache disabled (--no-cache)' : 'no cached result for this step';
    return this.runOp(v, async () => {
      const run: OpRun = {
        ctx: this.ctx,
        snapshotId: stepSnapshotId(keyInfo.key),
        inputs,
        selections: keyInfo.selections,
        onLog: (stream, data) => this.ctx.emit({ type: 'vertex.log', vertex: this.info(v), time: Date.now(), stream, data }),
      };
      let result: VertexResult;
      switch (op.type) {
        case 'exec': result = await runExec(v, op, run); break;
        case 'copy': result = await runCopy(v, op, run); break;
        case 'mkdir': result = await runMkdir(op, run); break;
      }
      const createdAt = new Date().toISOString();
      await this.ctx.records.put({ key: keyInfo.key, layers: result.layers, createdAt, description: v.name, keyInputs: keyInfo.record });
      return { ...result, createdAt };
    }, reason);
  }

  private runOp(v: Vertex, fn: () => Promise<VertexResult>, reason: string): Promise<VertexResult> {
    return this.queue.add(async () => {
      if (this.abort.signal.aborted) throw this.abort.signal.reason ?? new Error('cancelled');
      const start = Date.now();
      this.reported.add(v);
      this.ctx.emit({ type: 'vertex.start', vertex: this.info(v), time: start, reason });
      try {
        const r = await fn().catch((err: unknown) => {
          throw locate(err, v);
        });
        this.ctx.emit({ type: 'vertex.done', vertex: this.info(v), time: Date.now(), durationMs: Date.now() - start });
        return r;
      } catch (err) {
        const first = !this.abort.signal.aborted;
        if (first) this.abort.abort(err);
        this.ctx.emit({ type: 'vertex.error', vertex: this.info(v), time: Date.now(), message: first ? (err instanceof Error ? err.message : String(err)) : 'cancelled' });
        throw err;
      }
    }) as Promise<VertexResult>;
  }

  /** Steps under a cached step were not looked at, but their results are part of it: say so. */
  private reportImplicitlyCached(target: Vertex): void {
    const seen = new Set<Vertex>();
    const visit = (v: Vertex): void => {
      if (seen.has(v)) return;
      seen.add(v);
      v.inputs.forEach(visit);
      if (!this.reported.has(v) && v.op.type !== 'scratch' && v.op.type !== 'image') {
        this.ctx.emit({ type: 'vertex.cached', vertex: this.info(v), time: Date.now() });
      }
    };
    visit(target);
  }
}

/** A user error from inside an op gets the step's Dockerfile location and name. */
function locate(err: unknown, v: Vertex): unknown {
  if (!(err instanceof UserError) || err.location || !v.location) return err;
  return new UserError(`${v.name}: ${err.message}`, {
    location: v.location,
    ...(err.hint ? { hint: err.hint } : {}),
    ...(err.detail ? { detail: err.detail } : {}),
    cause: err,
  });
}

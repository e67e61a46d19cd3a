import { setMaxListeners } from 'node:events';
import PQueue from 'p-queue';
import type { CacheRecord } from '../cache/cache-records.js';
import { asEnvironmentError, UserError, withLocation } from '../errors.js';
import type { ContextSelection } from '../cache/context-source.js';
import { cacheKeyOf, type CacheKey, type KeyRecord } from './cache-key.js';
import type { MissCause, StepUsage, VertexInfo } from './events.js';
import { describeCauses } from './explain.js';
import type { StepHistory } from './step-history.js';
import { buildContextIndexes, readsBuildContext, selectedBytes } from './context-transfer.js';
import { inputsFirst, type Vertex } from './graph.js';
import { kindOf, type OpKind, type OpKinds, type SourceKind, type StepKind } from './op-kind.js';
import { freshStepSnapshotId, stepSnapshotId } from '../snapshot/snapshot-id.js';
import { CacheMountHolds } from './ops/cache-mount-holds.js';
import { opKinds } from './ops/kinds.js';
import type { ImportedCache, OpRun, RemoteLayer, SolveContext, VertexResult } from './ops/op-context.js';
import { ownerToken } from '../store/owner.js';

/** A vertex's key, and what computing it learned that running the op needs. */
interface KeyInfo {
  key: CacheKey;
  record: KeyRecord;
  selections: Map<number, ContextSelection>;
  learned?: unknown;
}

export interface SolveOptions {
  /** How many ops may run at once (RUN steps mostly wait on their processes). */
  concurrency?: number;
  /** Remembers steps between builds so a miss can say what changed (absent: misses say only that they missed). */
  history?: StepHistory;
  /** The flag that disabled the cache for `noCache` vertices, for the explanation (default --no-cache). */
  noCacheFlag?: (v: Vertex) => string;
  /** The op kinds (default ops/kinds.ts); tests put fake ones in. */
  kinds?: OpKinds;
}

/** The top layer of a result ('' for none): what a record remembers of each input. */
function topLayer(r: VertexResult): string {
  return r.layers.at(-1) ?? '';
}

/** The first input whose result is not the one a record was made on (its `inputTops`), or -1. */
function staleInput(inputTops: string[], inputs: VertexResult[]): number {
  return inputs.findIndex((r, n) => topLayer(r) !== inputTops[n]);
}

/**
 * Runs the graph under `target`: each vertex's key is derived from its op and its inputs' keys,
 * a vertex with a record made on its inputs' current results is not run, the rest run as soon
 * as their inputs are ready, at most `concurrency` at a time. The first failure cancels
 * everything still running. Every step that runs says why (explain.ts, step-history.ts).
 */
export class Solver {
  private readonly keys = new Map<Vertex, Promise<KeyInfo>>();
  /** The content-based second key of a step that missed its first (fromContentRecord), recorded when it runs. */
  private readonly contentKeys = new Map<Vertex, { key: CacheKey; record: KeyRecord }>();
  private readonly results = new Map<Vertex, Promise<VertexResult>>();
  private readonly reported = new Set<Vertex>();
  private readonly queue: PQueue;
  private readonly abort = new AbortController();
  private readonly ctx: SolveContext;
  private readonly opts: SolveOptions;
  private readonly kinds: OpKinds;
  private readonly cacheMounts = new CacheMountHolds();
  /**
   * Layers of results that are not in the state dir yet, and how to make each present: a base
   * image's (pulled and unpacked only when a step that runs needs them) and an imported cache's.
   */
  private readonly remote = new Map<string, RemoteLayer>();

  constructor(ctx: Omit<SolveContext, 'signal'> & { signal?: AbortSignal }, opts: SolveOptions = {}) {
    this.opts = opts;
    this.kinds = opts.kinds ?? opKinds;
    this.queue = new PQueue({ concurrency: opts.concurrency ?? 8 });
    if (ctx.signal) ctx.signal.addEventListener('abort', () => this.abort.abort(ctx.signal!.reason), { once: true });
    this.ctx = { ...ctx, signal: this.abort.signal };
    // each running step listens for the cancel: many at once is no leak (and node's warning would break the live view)
    setMaxListeners(0, this.abort.signal);
  }

  async solve(target: Vertex): Promise<VertexResult> {
    return (await this.solveAll([target]))[0]!;
  }

  /**
   * Runs several graphs at once (a build for several platforms): one plan, the steps they share
   * (the same vertex) run once, and the first failure anywhere cancels everything.
   */
  async solveAll(targets: readonly Vertex[]): Promise<VertexResult[]> {
    try {
      // the steps every build reports (run or cached); a base image shows only when it is pulled
      const steps = [...new Set(targets.flatMap((t) => inputsFirst(t)))].filter((v) => this.kind(v).cacheable);
      this.ctx.emit({ type: 'plan', time: Date.now(), vertices: steps.map((v) => this.info(v)) });
      for (const target of targets) this.prefetchSources(target);
      const results = await Promise.all(targets.map((t) => this.resultOf(t)));
      for (const target of targets) await this.reportImplicitlyCached(target);
      return results;
    } catch (err) {
      if (!this.abort.signal.aborted) this.abort.abort(err);
      await this.queue.onIdle().catch(() => {});
      throw err;
    } finally {
      await this.afterSolve();
    }
  }

  /**
   * The bytes of build-context files the steps of `targets` select, once their keys are made (the keys
   * select them); undefined when no step reads the build context. A step whose key fails counts nothing
   * here: its failure is the step's, reported where the solve awaits it.
   */
  async contextBytes(targets: readonly Vertex[]): Promise<number | undefined> {
    const readers = [...new Set(targets.flatMap((t) => inputsFirst(t)))].filter(readsBuildContext);
    if (!readers.length) return undefined;
    const keyed = await Promise.all(readers.map((v) => this.keyOf(v).catch(() => undefined)));
    return selectedBytes(
      readers.flatMap((v, i) => buildContextIndexes(v).flatMap((n) => keyed[i]?.selections.get(n) ?? [])),
    );
  }

  private kind(v: Vertex): OpKind<Vertex['op']> {
    return kindOf(this.kinds, v.op);
  }

  /**
   * A source's layers are made present (pull, unpack) only when a step that runs needs them.
   * Without --cache-from a step over a base image that is not unpacked yet will almost surely
   * run (its records were made over the unpacked layers), so the pull starts at once, beside
   * hashing the context. With --cache-from every step may hit, and nothing is pulled ahead:
   * an all-hit build downloads only what its outputs ask for. Failures surface where awaited.
   */
  private prefetchSources(target: Vertex): void {
    for (const v of inputsFirst(target)) {
      if (this.kind(v).cacheable) continue;
      const started = this.resultOf(v);
      if (this.ctx.importedCache === undefined) started.then((r) => this.makePresent(r.layers)).catch(() => {});
      else started.catch(() => {});
    }
  }

  /** A layer of some result that is not in the state dir yet, with how to fetch and make it. */
  remoteLayer(id: string): RemoteLayer | undefined {
    return this.remote.get(id);
  }

  /**
   * Downloads the blob `digest` of a layer that is still remote (not unpacking it): what an output
   * that writes the image's bytes needs. False when no remote layer has that blob.
   */
  async fetchRemoteBlob(digest: string): Promise<boolean> {
    for (const r of this.remote.values()) {
      if (r.blob?.digest !== digest) continue;
      await r.fetchBlob();
      return true;
    }
    return false;
  }

  /** Makes present the own layer of every step this build reached (what --cache-to exports). */
  async makePresentReached(): Promise<void> {
    const layers: string[] = [];
    for (const [v, p] of this.results) {
      if (!this.kind(v).cacheable) continue;
      const r = await p.catch(() => undefined);
      const own = r?.layers.at(-1);
      if (own) layers.push(own);
    }
    await this.makePresent(layers);
  }

  /**
   * Makes the layers present that are still remote (base image layers, imported cache layers):
   * what a step that runs needs of its inputs, and an output that re-encodes a layer.
   */
  async makePresent(layers: readonly string[]): Promise<void> {
    await Promise.all(
      [...new Set(layers)].flatMap((id) => {
        const r = this.remote.get(id);
        return r ? [r.materialize()] : [];
      }),
    );
  }

  /** Every step this build reached counts as used now (LRU for GC), and the step index learns their keys. */
  private async afterSolve(): Promise<void> {
    const keys: string[] = [];
    for (const p of this.keys.values()) {
      const k = await p.then(
        (i) => i.key,
        () => undefined,
      );
      if (k) keys.push(k);
    }
    await Promise.all([this.ctx.records.touch?.(keys), this.opts.history?.save()]);
  }

  /** The cache keys of every step this build reached (for --cache-to); sources (image, scratch) have none worth exporting. */
  async reachedKeys(): Promise<string[]> {
    const keys: string[] = [];
    for (const [v, p] of this.keys) {
      if (!this.kind(v).cacheable) continue;
      const k = await p.then(
        (i) => i.key,
        () => undefined,
      );
      if (k) keys.push(k);
    }
    return keys;
  }

  keyOf(v: Vertex): Promise<KeyInfo> {
    const known = this.keys.get(v);
    if (known) return known;
    // Inputs first, so each vertex's key starts with its inputs' keys already started: no
    // recursion, however long the chain of steps.
    for (const u of inputsFirst(v, (w) => this.keys.has(w))) {
      const p = this.computeKey(u).catch((err: unknown) => {
        throw locate(err, u);
      });
      this.keys.set(u, p);
    }
    return this.keys.get(v)!;
  }

  private async computeKey(v: Vertex): Promise<KeyInfo> {
    const inputs = await Promise.all(v.inputs.map(async (i) => (await this.keys.get(i)!).key));
    const parts = await this.kind(v).key(v.op, this.ctx);
    const selections = parts.selections ?? new Map<number, ContextSelection>();
    const content = [...selections.values()].map((sel) => sel.digest);
    const record: KeyRecord = { op: parts.op, inputs, ...(content.length ? { content } : {}) };
    if (selections.size) this.opts.history?.noteSelections(selections);
    return {
      key: cacheKeyOf(record),
      record,
      selections,
      ...(parts.learned !== undefined ? { learned: parts.learned } : {}),
    };
  }

  /** The layer chain (snapshot ids) a solved vertex's result has; undefined for one this solve did not reach. */
  async layersOf(v: Vertex): Promise<string[] | undefined> {
    const p = this.results.get(v);
    return p ? (await p).layers : undefined;
  }

  /** What computing a reached vertex's key learnt (an op kind's OpKey.learned: a COPY's download digests, git commits). */
  async learnedOf(v: Vertex): Promise<unknown> {
    const p = this.keys.get(v);
    return p ? (await p).learned : undefined;
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
    const kind = this.kind(v);
    if (!kind.cacheable) {
      const result = kind.result(v.op);
      const exists = await Promise.all(result.layers.map((id) => this.ctx.snapshots.exists(id)));
      if (exists.every(Boolean)) return this.presentSource(v, kind, result);
      // The result stands now; its layers are made present when a step that runs needs them.
      let making: Promise<void> | undefined;
      const materialize = (): Promise<void> =>
        (making ??= this.materializeSource(v, kind, result).then(() => {
          for (const id of result.layers) this.remote.delete(id);
        }));
      const blobs = new Map((kind.layerBlobs?.(v.op) ?? []).map((b) => [b.id, b.blob]));
      for (const [i, id] of result.layers.entries()) {
        const blob = blobs.get(id);
        if (exists[i] || this.remote.has(id)) continue;
        this.remote.set(id, {
          id,
          ...(blob ? { blob } : {}),
          fetchBlob: () => (blob && kind.fetchLayerBlob ? kind.fetchLayerBlob(v.op, id, this.ctx) : materialize()),
          materialize,
        });
      }
      return result;
    }
    const keyInfo = await this.keyOf(v);
    const importedCache = await this.ctx.importedCache;
    // The inputs' results are needed whether this step hits (to check the record) or runs, so
    // they are resolved at once: a cached chain reads its records concurrently, not one by one.
    const inputsReady = Promise.all(v.inputs.map((i) => this.resultOf(i)));
    inputsReady.catch(() => {});
    if (v.noCache)
      return this.run(v, kind, keyInfo, inputsReady, [
        { kind: 'no-cache', flag: this.opts.noCacheFlag?.(v) ?? '--no-cache' },
      ]);
    const first = await this.fromRecord(v, keyInfo, inputsReady);
    if ('result' in first) return first.result;
    // A miss is run under the key's step lock: builds sharing the state dir run it once, the
    // others wait and then find the record it left (written before the lock is let go). Taken
    // once the inputs are there, so it is held only while the step itself runs (but at once
    // for a hit in an imported cache, which runs nothing).
    if (!importedCache?.record(keyInfo.key)) await inputsReady;
    return this.underStepLock(v, keyInfo.key, async () => {
      const again = await this.fromRecord(v, keyInfo, inputsReady);
      if ('result' in again) return again.result;
      const imported = importedCache && (await this.fromImportedCache(v, importedCache, keyInfo, inputsReady));
      if (imported) return imported;
      const byContent = await this.fromContentRecord(v, kind, keyInfo, inputsReady);
      if (byContent) return byContent;
      return this.run(v, kind, keyInfo, inputsReady, again.causes ?? first.causes);
    });
  }

  /** A source whose layers are all there: a base image's `FROM` line shows as CACHED, as BuildKit shows it. */
  private presentSource(v: Vertex, kind: SourceKind<Vertex['op']>, result: VertexResult): VertexResult {
    if (kind.shownWhenPresent && !this.reported.has(v)) {
      this.reported.add(v);
      this.ctx.emit({ type: 'vertex.cached', vertex: this.info(v), time: Date.now() });
    }
    return result;
  }

  /** Makes a source's missing layers present (pull, unpack), once across builds sharing the state dir. */
  private async materializeSource(
    v: Vertex,
    kind: Extract<OpKind<Vertex['op']>, { cacheable: false }>,
    result: VertexResult,
  ): Promise<void> {
    const present = async () =>
      (await Promise.all(result.layers.map((id) => this.ctx.snapshots.exists(id)))).every(Boolean);
    if (await present()) return;
    // Another build may be unpacking the same image: wait for it rather than unpack it twice.
    await this.underStepLock(v, (await this.keyOf(v)).key, async () => {
      if (await present()) return;
      await this.runOp(v, () => kind.materialize(v.op, this.ctx), kind.missingReason);
    });
  }

  /** Runs `fn` holding the step lock of `key` (see CacheRecords.lock); says so if another build holds it. */
  private async underStepLock<T>(v: Vertex, key: string, fn: () => Promise<T>): Promise<T> {
    if (!this.ctx.records.lock) return fn();
    const release = await this.ctx.records.lock(key, {
      signal: this.abort.signal,
      // the same step twice in one build (two stages' `WORKDIR /app` on one base) waits for itself: not news
      onWait: (holder) => {
        if (holder === ownerToken()) return;
        this.ctx.emit({
          type: 'status',
          time: Date.now(),
          message: `${v.name}: another build is making this step; waiting for its result`,
        });
      },
    });
    try {
      return await fn();
    } finally {
      await release();
    }
  }

  /**
   * The step's record, if one stands for it now. A record is used only if it was made on the
   * inputs' current results: a step re-run with --no-cache(-filter) gets a new result, and what
   * was built on the old one is stale. Otherwise why it cannot be used (none: no record).
   */
  private async fromRecord(
    v: Vertex,
    keyInfo: KeyInfo,
    inputsReady: Promise<VertexResult[]>,
  ): Promise<{ result: VertexResult } | { causes?: MissCause[] }> {
    const rec = await this.ctx.records.get(keyInfo.key);
    if (!rec) return {};
    const check = await this.checkRecord(rec, await inputsReady);
    if (check === 'ok') {
      this.reported.add(v);
      this.opts.history?.seen(v, keyInfo.key, keyInfo.record);
      this.ctx.emit({ type: 'vertex.cached', vertex: this.info(v), time: Date.now() });
      return { result: { layers: rec.layers, createdAt: rec.createdAt } };
    }
    // Its layers are gone: pruned. Otherwise an input was made anew under the same key.
    return {
      causes:
        check === 'pruned' ? [{ kind: 'pruned' }] : [{ kind: 'input-result', step: v.inputs[check]?.name ?? 'input' }],
    };
  }

  private async run(
    v: Vertex,
    kind: StepKind<Vertex['op']>,
    keyInfo: KeyInfo,
    inputsReady: Promise<VertexResult[]>,
    known?: MissCause[],
  ): Promise<VertexResult> {
    const inputResults = await inputsReady;
    // what the step reads of its inputs must be on disk (outside runOp: making it takes a queue slot)
    await this.makePresent(inputResults.flatMap((r) => r.layers));
    const causes =
      known ??
      (this.opts.history
        ? await this.opts.history
            .explain(v, keyInfo.key, keyInfo.record)
            .catch((): MissCause[] => [{ kind: 'unknown' }])
        : [{ kind: 'unknown' }]);
    const reason = describeCauses(causes);
    return this.runOp(
      v,
      async (onUsage) => {
        // A run whose key already has a snapshot (--no-cache, or inputs with new results) must not
        // be replaced by it (commit keeps an existing one): it gets a name of its own.
        const plainId = stepSnapshotId(keyInfo.key);
        const run: OpRun = {
          ctx: this.ctx,
          snapshotId:
            v.noCache || (await this.ctx.snapshots.exists(plainId)) ? freshStepSnapshotId(keyInfo.key) : plainId,
          inputs: inputResults,
          selections: keyInfo.selections,
          ...(keyInfo.learned !== undefined ? { learned: keyInfo.learned } : {}),
          cacheMounts: this.cacheMounts,
          ...(v.noCache ? { noCache: true } : {}),
          onLog: (stream, data) =>
            this.ctx.emit({ type: 'vertex.log', vertex: this.info(v), time: Date.now(), stream, data }),
          onUsage,
        };
        const result = await kind.run(v, v.op, run);
        const createdAt = new Date().toISOString();
        await this.ctx.records.put({
          key: keyInfo.key,
          layers: result.layers,
          createdAt,
          description: v.name,
          keyInputs: keyInfo.record,
          inputTops: inputResults.map(topLayer),
        });
        const byContent = this.contentKeys.get(v);
        if (byContent)
          await this.ctx.records.put({
            key: byContent.key,
            layers: result.layers,
            createdAt,
            description: v.name,
            keyInputs: byContent.record,
            inputTops: inputResults.map(topLayer),
          });
        this.opts.history?.seen(v, keyInfo.key, keyInfo.record);
        await this.opts.history?.keepSelections(keyInfo.record);
        return { ...result, createdAt };
      },
      reason,
      causes,
    );
  }

  /**
   * The step's record by the content of what it takes from some inputs (StepKind.inputContent): those
   * inputs' keys are replaced by the digests, and their results need not be the ones the record was made
   * on, since only the content counts; the other inputs' must be. A miss leaves the second key for the
   * run to record under too.
   */
  private async fromContentRecord(
    v: Vertex,
    kind: StepKind<Vertex['op']>,
    keyInfo: KeyInfo,
    inputsReady: Promise<VertexResult[]>,
  ): Promise<VertexResult | undefined> {
    if (!kind.inputContent) return undefined;
    const inputs = await inputsReady;
    await this.makePresent(inputs.flatMap((r) => r.layers));
    const content = await kind.inputContent(v.op, inputs, this.ctx);
    if (!content?.size) return undefined;
    const record: KeyRecord = {
      ...keyInfo.record,
      inputs: keyInfo.record.inputs.map((k, i) => content.get(i) ?? k),
    };
    const key = cacheKeyOf(record);
    this.contentKeys.set(v, { key, record });
    const rec = await this.ctx.records.get(key);
    if (!rec?.inputTops) return undefined;
    if (rec.inputTops.some((top, n) => !content.has(n) && top !== topLayer(inputs[n]!))) return undefined;
    const own = rec.layers.at(-1);
    if (own && !(await this.ctx.snapshots.exists(own))) return undefined;
    this.reported.add(v);
    this.opts.history?.seen(v, keyInfo.key, keyInfo.record);
    this.ctx.emit({ type: 'vertex.cached', vertex: this.info(v), time: Date.now() });
    return { layers: rec.layers, createdAt: rec.createdAt };
  }

  /**
   * A hit in a cache imported with --cache-from: its layers stay in the cache until a step that
   * runs or an output needs them (remoteLayer), and the record is kept in the state dir, so the
   * next build needs no import once they are here. The same rule as for local records holds: the
   * record must have been made on the inputs' current results.
   */
  private async fromImportedCache(
    v: Vertex,
    cache: ImportedCache,
    keyInfo: KeyInfo,
    inputsReady: Promise<VertexResult[]>,
  ): Promise<VertexResult | undefined> {
    const rec = cache.record(keyInfo.key);
    if (!rec) return undefined;
    const inputs = await inputsReady;
    if (rec.inputTops && staleInput(rec.inputTops, inputs) >= 0) return undefined;
    const exists = await Promise.all(rec.layers.map((id) => this.ctx.snapshots.exists(id)));
    const needed = rec.layers.filter((id, i) => !exists[i] && !this.remote.has(id));
    const whole = await Promise.all(needed.map(async (id) => (await cache.layerLooksWhole?.(id)) ?? true));
    const damaged = needed.find((_, i) => !whole[i]);
    if (damaged) {
      this.ctx.emit({
        type: 'warning',
        time: Date.now(),
        message: `${v.name}: cannot use the cache from ${rec.source}: its blob of layer ${damaged} is missing or damaged`,
      });
      return undefined;
    }
    for (const id of needed) {
      if (this.remote.has(id)) continue;
      const blob = cache.layerBlob(id);
      if (!blob) return undefined;
      let making: Promise<void> | undefined;
      const materialize = (): Promise<void> =>
        (making ??= cache.materialize(id).then(() => {
          this.remote.delete(id);
        }));
      // An output that takes its blob unpacks it too: the record kept in the state dir then
      // stands for the step in later builds without --cache-from (a base layer's record is its image).
      this.remote.set(id, { id, blob, fetchBlob: materialize, materialize });
    }
    const { source: _source, ...kept } = rec;
    await this.ctx.records.put({ ...kept, keyInputs: keyInfo.record });
    this.reported.add(v);
    this.opts.history?.seen(v, keyInfo.key, keyInfo.record);
    this.ctx.emit({ type: 'vertex.cached', vertex: this.info(v), time: Date.now(), from: rec.source });
    return { layers: rec.layers, createdAt: rec.createdAt };
  }

  /**
   * Whether a record can stand for this step now: 'ok'; 'pruned' when a layer is gone; or the
   * index of the first input whose result is not the one the record was made on. With the
   * inputs checked, only the step's own (top) layer needs to exist.
   */
  private async checkRecord(rec: CacheRecord, inputs: VertexResult[]): Promise<'ok' | 'pruned' | number> {
    if (rec.inputTops) {
      const i = staleInput(rec.inputTops, inputs);
      if (i >= 0) return i;
      const own = rec.layers.at(-1);
      return !own || (await this.ctx.snapshots.exists(own)) ? 'ok' : 'pruned';
    }
    const present = await Promise.all(
      rec.layers.map(async (id) => this.remote.has(id) || this.ctx.snapshots.exists(id)),
    );
    return present.every(Boolean) ? 'ok' : 'pruned';
  }

  private runOp(
    v: Vertex,
    fn: (onUsage: (u: StepUsage) => void) => Promise<VertexResult>,
    reason: string,
    causes?: MissCause[],
  ): Promise<VertexResult> {
    return this.queue.add(async () => {
      if (this.abort.signal.aborted) throw this.abort.signal.reason ?? new Error('cancelled');
      const start = Date.now();
      this.reported.add(v);
      this.ctx.emit({ type: 'vertex.start', vertex: this.info(v), time: start, reason, ...(causes ? { causes } : {}) });
      let usage: StepUsage = {};
      try {
        const r = await fn((u) => (usage = u)).catch((err: unknown) => {
          throw locate(err, v);
        });
        this.ctx.emit({
          type: 'vertex.done',
          vertex: this.info(v),
          time: Date.now(),
          durationMs: Date.now() - start,
          ...usage,
        });
        return r;
      } catch (err) {
        // Stopped by another step's failure or an interrupt: CANCELED, as BuildKit shows it, not an error of its own.
        if (this.abort.signal.aborted) {
          this.ctx.emit({ type: 'vertex.canceled', vertex: this.info(v), time: Date.now() });
          throw err;
        }
        this.abort.abort(err);
        this.ctx.emit({
          type: 'vertex.error',
          vertex: this.info(v),
          time: Date.now(),
          message: err instanceof Error ? err.message : String(err),
        });
        throw err;
      }
    }) as Promise<VertexResult>;
  }

  /** Steps under a cached step were not looked at, but their results are part of it: say so. */
  private async reportImplicitlyCached(target: Vertex): Promise<void> {
    const order = inputsFirst(target).filter((v) => !this.reported.has(v) && this.kind(v).cacheable);
    for (const v of order) {
      this.reported.add(v);
      this.ctx.emit({ type: 'vertex.cached', vertex: this.info(v), time: Date.now() });
      const info = await this.keys.get(v)?.catch(() => undefined);
      if (info) this.opts.history?.seen(v, info.key, info.record);
    }
  }
}

/** A user error from inside an op gets the step's Dockerfile location and name. */
function locate(err: unknown, v: Vertex): unknown {
  // a full disk (or the like) under a step is the machine's fault: say which step met it
  const env = asEnvironmentError(err, v.name);
  if (env !== err) return env;
  // No filesystem takes a name over 255 bytes or a path over 4,096: the Dockerfile asked for one.
  if ((err as NodeJS.ErrnoException | undefined)?.code === 'ENAMETOOLONG') {
    return new UserError(`${v.name}: file name too long`, {
      ...(v.location ? { location: v.location } : {}),
      hint: 'Linux allows at most 255 bytes in one path component, and 4,096 in a whole path',
      cause: err,
    });
  }
  return withLocation(err, v.location, { prefix: `${v.name}: ` });
}

import type * as NodeHttp from 'node:http';
import type { Agent as HttpAgent, IncomingMessage } from 'node:http';
import type * as NodeHttps from 'node:https';
import type { Agent as HttpsAgent } from 'node:https';
import { createRequire } from 'node:module';
import { Transform, pipeline, type Readable } from 'node:stream';

/**
 * A small HTTP/1.1 client on node:http(s) for registry traffic. Not fetch: the distribution API
 * needs per-registry TLS settings (a custom CA, or no verification for an insecure registry),
 * streamed request bodies for uploads, and an idle timeout on slow blob bodies; node's fetch
 * exposes none of these without undici's own Agent.
 */

export interface HttpRequest {
  method: 'GET' | 'HEAD' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
  url: URL;
  headers?: Record<string, string>;
  /** The whole body (replayable on retry). */
  body?: Buffer;
  signal?: AbortSignal;
  /**
   * The answer is a blob streamed to disk, which may legitimately take long: it must keep a
   * minimum rate instead of finishing within the request deadline.
   */
  stream?: boolean;
}

export interface HttpResponse {
  status: number;
  statusText: string;
  url: URL;
  /** A header's value; a repeated header (WWW-Authenticate) comes joined with `, `, as fetch joins it. */
  header(name: string): string | undefined;
  body: Readable;
  text(): Promise<string>;
  buffer(max?: number): Promise<Buffer>;
  discard(): void;
}

export interface TlsSettings {
  /** Trusted CAs (PEM); undefined means node's defaults (its bundle plus NODE_EXTRA_CA_CERTS). */
  ca?: (string | Buffer)[];
  /** Accept any certificate (an `--insecure-registry`). */
  skipVerify?: boolean;
}

/** Which of the time limits (HttpClientOptions) ran out, by its TSBUILD_REGISTRY_TIMEOUTS name. */
export type HttpLimit = 'request' | 'headers' | 'idle' | 'min-rate';

/** A failure of ours: `ETIMEDOUT` (no answer, a stall, the deadline), `ESLOW` (below the minimum rate), `ETOOBIG`. */
export class HttpError extends Error {
  /** The time limit that ran out, for a hint that says which one to raise. */
  readonly limit: HttpLimit | undefined;

  constructor(
    message: string,
    readonly code: string,
    options?: { cause?: unknown; limit?: HttpLimit },
  ) {
    super(message, options);
    this.limit = options?.limit;
  }
}

export interface HttpClientOptions {
  /** No response headers within this long (after the request was sent): ETIMEDOUT. */
  headersTimeoutMs?: number;
  /** Nothing sent or received for this long: ETIMEDOUT. */
  idleTimeoutMs?: number;
  /** A request that is not a stream, from sent to the last byte of its answer: ETIMEDOUT past this. */
  deadlineMs?: number;
  /** A streamed answer must average at least this many bytes per second over each window: ESLOW. */
  minBytesPerSecond?: number;
  rateWindowMs?: number;
}

export const DEFAULT_HTTP_LIMITS: Required<HttpClientOptions> = {
  headersTimeoutMs: 60_000,
  idleTimeoutMs: 60_000,
  deadlineMs: 60_000,
  minBytesPerSecond: 1024,
  rateWindowMs: 30_000,
};

// node:http and node:https (tls and net under them) take ~10 ms to load. They are loaded on the
// first request, so a build that needs no registry, a no-op rebuild above all, never pays it.
const load = createRequire(import.meta.url);
let nodeHttp: typeof NodeHttp | undefined;
let nodeHttps: typeof NodeHttps | undefined;
const httpModule = (): typeof NodeHttp => (nodeHttp ??= load('node:http') as typeof NodeHttp);
const httpsModule = (): typeof NodeHttps => (nodeHttps ??= load('node:https') as typeof NodeHttps);

export class HttpClient {
  private httpAgent: HttpAgent | undefined;
  private readonly https = new Map<string, HttpsAgent>();
  readonly limits: Required<HttpClientOptions>;

  constructor(
    private readonly tls: (host: string) => TlsSettings = () => ({}),
    opts: HttpClientOptions = {},
  ) {
    this.limits = { ...DEFAULT_HTTP_LIMITS, ...definedOnly(opts) };
  }

  request(req: HttpRequest): Promise<HttpResponse> {
    const secure = req.url.protocol === 'https:';
    const send = secure ? httpsModule().request : httpModule().request;
    const headers: Record<string, string> = { ...req.headers };
    if (req.body) headers['content-length'] = String(req.body.length);
    else if (req.method === 'PUT' || req.method === 'POST' || req.method === 'PATCH') headers['content-length'] = '0';
    return new Promise<HttpResponse>((resolve, reject) => {
      if (req.signal?.aborted) return reject(req.signal.reason);
      const r = send(req.url, {
        method: req.method,
        headers,
        agent: secure
          ? this.httpsAgent(req.url.host)
          : (this.httpAgent ??= new (httpModule().Agent)({ keepAlive: true, maxSockets: 16 })),
      });
      const { headersTimeoutMs, idleTimeoutMs, deadlineMs } = this.limits;
      let settled = false;
      let response: IncomingMessage | undefined;
      let done = false;
      // Timers are unref'd: while a request is out its socket keeps the process alive, and once
      // the socket is gone nothing needs them (a ref'd timer here kept finished builds alive).
      let headersTimer: NodeJS.Timeout | undefined;
      let deadlineTimer: NodeJS.Timeout | undefined;
      let connectTimer: NodeJS.Timeout | undefined;
      const finish = () => {
        done = true;
        clearTimeout(connectTimer);
        clearTimeout(headersTimer);
        clearTimeout(deadlineTimer);
        req.signal?.removeEventListener('abort', onAbort);
      };
      const fail = (err: Error) => {
        finish();
        if (settled) return;
        settled = true;
        reject(err);
      };
      // Timed from the request being sent: an upload's body may take long to send (the idle
      // timeout covers it), and a request waiting for a free socket has not been sent.
      const startTimers = () => {
        if (done) return;
        if (!response) {
          headersTimer = setTimeout(
            () =>
              r.destroy(
                new HttpError(`no answer within ${seconds(headersTimeoutMs)}`, 'ETIMEDOUT', { limit: 'headers' }),
              ),
            headersTimeoutMs,
          ).unref();
        }
        if (!req.stream) {
          deadlineTimer = setTimeout(() => {
            const err = new HttpError(
              response
                ? `the answer took longer than ${seconds(deadlineMs)}`
                : `no answer within ${seconds(deadlineMs)}`,
              'ETIMEDOUT',
              { limit: 'request' },
            );
            if (response) response.destroy(err);
            else r.destroy(err);
          }, deadlineMs).unref();
        }
      };
      r.setTimeout(idleTimeoutMs, () =>
        r.destroy(new HttpError(`stalled for ${seconds(idleTimeoutMs)}`, 'ETIMEDOUT', { limit: 'idle' })),
      );
      // A new connection is timed too: a server that accepts it and never finishes the TLS
      // handshake would keep the request from being sent, and the timers above from starting.
      r.once('socket', (socket) => {
        if (r.reusedSocket || (!secure && !socket.connecting)) return;
        const [limit, ms]: [HttpLimit, number] =
          !req.stream && deadlineMs < headersTimeoutMs ? ['request', deadlineMs] : ['headers', headersTimeoutMs];
        connectTimer = setTimeout(
          () => r.destroy(new HttpError(`no answer within ${seconds(ms)}`, 'ETIMEDOUT', { limit })),
          ms,
        ).unref();
        socket.once(secure ? 'secureConnect' : 'connect', () => clearTimeout(connectTimer));
      });
      const onAbort = () => r.destroy(req.signal!.reason as Error);
      req.signal?.addEventListener('abort', onAbort, { once: true });
      r.on('error', fail);
      r.on('close', () => {
        if (!response) finish();
      });
      r.on('response', (res: IncomingMessage) => {
        response = res;
        clearTimeout(headersTimer);
        settled = true;
        res.setTimeout(idleTimeoutMs, () =>
          res.destroy(new HttpError(`sent nothing for ${seconds(idleTimeoutMs)}`, 'ETIMEDOUT', { limit: 'idle' })),
        );
        res.once('close', finish);
        resolve(wrap(res, req.url, req.stream ? this.limits : undefined));
      });
      r.end(req.body, startTimers);
    });
  }

  private httpsAgent(host: string): HttpsAgent {
    let agent = this.https.get(host);
    if (!agent) {
      const t = this.tls(host);
      agent = new (httpsModule().Agent)({
        keepAlive: true,
        maxSockets: 16,
        ...(t.ca ? { ca: t.ca } : {}),
        rejectUnauthorized: !t.skipVerify,
      });
      this.https.set(host, agent);
    }
    return agent;
  }

  close(): void {
    this.httpAgent?.destroy();
    for (const a of this.https.values()) a.destroy();
  }
}

function wrap(res: IncomingMessage, url: URL, floor: Required<HttpClientOptions> | undefined): HttpResponse {
  const header = (name: string): string | undefined => {
    const v = res.headers[name.toLowerCase()];
    return Array.isArray(v) ? v.join(', ') : v;
  };
  const body: Readable = floor ? rateFloor(res, floor.minBytesPerSecond, floor.rateWindowMs) : res;
  const buffer = async (max = Infinity): Promise<Buffer> => {
    const chunks: Buffer[] = [];
    let size = 0;
    for await (const c of body) {
      size += (c as Buffer).length;
      if (size > max) {
        body.destroy();
        throw new HttpError(`answer from ${url.host} is larger than ${max} bytes`, 'ETOOBIG');
      }
      chunks.push(c as Buffer);
    }
    return Buffer.concat(chunks);
  };
  return {
    status: res.statusCode ?? 0,
    statusText: res.statusMessage ?? '',
    url,
    header,
    body,
    buffer,
    text: async () => (await buffer(1 << 20)).toString('utf8'),
    discard: () => {
      // Reading to the end keeps the connection for reuse; a big unwanted body is not worth it.
      if (Number(res.headers['content-length'] ?? Infinity) <= 64 << 10) body.resume();
      else body.destroy();
    },
  };
}

/**
 * `res` through a check that it averages at least `minRate` bytes/s over each `windowMs`: a
 * server that trickles a byte a second never trips the idle timeout, and a 2 GB layer may
 * rightly take longer than any total limit. Destroying the result destroys `res`.
 */
function rateFloor(res: IncomingMessage, minRate: number, windowMs: number): Readable {
  let windowStart = Date.now();
  let bytes = 0;
  const floor = new Transform({
    transform(chunk: Buffer, _enc, cb) {
      bytes += chunk.length;
      const elapsed = Date.now() - windowStart;
      if (elapsed >= windowMs) {
        const rate = (bytes * 1000) / elapsed;
        if (rate < minRate) {
          return cb(
            new HttpError(
              `sent ${bytes} bytes in ${seconds(elapsed)} (${rate < 10 ? rate.toFixed(1) : Math.round(rate)} B/s), below the minimum of ${minRate} B/s`,
              'ESLOW',
              { limit: 'min-rate' },
            ),
          );
        }
        windowStart = Date.now();
        bytes = 0;
      }
      cb(null, chunk);
    },
  });
  pipeline(res, floor, () => {});
  return floor;
}

function seconds(ms: number): string {
  return `${Number((ms / 1000).toFixed(2))}s`;
}

function definedOnly<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}

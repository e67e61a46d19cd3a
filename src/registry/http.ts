import type * as NodeHttp from 'node:http';
import type { Agent as HttpAgent, IncomingMessage } from 'node:http';
import type * as NodeHttps from 'node:https';
import type { Agent as HttpsAgent } from 'node:https';
import { createRequire } from 'node:module';
import type { Readable } from 'node:stream';

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

export class HttpError extends Error {
  constructor(message: string, readonly code: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}

export interface HttpClientOptions {
  /** No response headers within this long: the request fails with ETIMEDOUT. */
  headersTimeoutMs?: number;
  /** A body that sends nothing for this long fails with ETIMEDOUT. */
  idleTimeoutMs?: number;
}

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
  private readonly headersTimeout: number;
  private readonly idleTimeout: number;

  constructor(private readonly tls: (host: string) => TlsSettings = () => ({}), opts: HttpClientOptions = {}) {
    this.headersTimeout = opts.headersTimeoutMs ?? 60_000;
    this.idleTimeout = opts.idleTimeoutMs ?? 60_000;
  }

  request(req: HttpRequest): Promise<HttpResponse> {
    const secure = req.url.protocol === 'https:';
    const send = secure ? httpsModule().request : httpModule().request;
    const headers: Record<string, string> = { ...req.headers };
    if (req.body) headers['content-length'] = String(req.body.length);
    else if (req.method === 'PUT' || req.method === 'POST' || req.method === 'PATCH') headers['content-length'] = '0';
    return new Promise<HttpResponse>((resolve, reject) => {
      if (req.signal?.aborted) return reject(req.signal.reason);
      const r = send(req.url, { method: req.method, headers, agent: secure ? this.httpsAgent(req.url.host) : (this.httpAgent ??= new (httpModule().Agent)({ keepAlive: true, maxSockets: 16 })) });
      let settled = false;
      const fail = (err: Error) => {
        if (settled) return;
        settled = true;
        reject(err);
      };
      // The answer must start within headersTimeout of the request being sent (an upload's body
      // may take long to send: that is covered by the idle timeout on the socket instead).
      let timer: NodeJS.Timeout | undefined;
      const startTimer = () => {
        // The answer (or an error) may come before the body is flushed: no timer then, or it
        // would outlive the request by the whole timeout.
        if (settled) return;
        timer = setTimeout(() => r.destroy(new HttpError(`no answer from ${req.url.host} within ${this.headersTimeout / 1000}s`, 'ETIMEDOUT')), this.headersTimeout);
      };
      r.setTimeout(this.idleTimeout, () => r.destroy(new HttpError(`${req.url.host} stalled for ${this.idleTimeout / 1000}s`, 'ETIMEDOUT')));
      const onAbort = () => r.destroy(req.signal!.reason as Error);
      req.signal?.addEventListener('abort', onAbort, { once: true });
      r.on('error', (err) => {
        clearTimeout(timer);
        req.signal?.removeEventListener('abort', onAbort);
        fail(err);
      });
      r.on('response', (res: IncomingMessage) => {
        clearTimeout(timer);
        settled = true;
        res.setTimeout(this.idleTimeout, () => res.destroy(new HttpError(`${req.url.host} sent nothing for ${this.idleTimeout / 1000}s`, 'ETIMEDOUT')));
        res.once('close', () => req.signal?.removeEventListener('abort', onAbort));
        resolve(wrap(res, req.url));
      });
      r.end(req.body, startTimer);
    });
  }

  private httpsAgent(host: string): HttpsAgent {
    let agent = this.https.get(host);
    if (!agent) {
      const t = this.tls(host);
      agent = new (httpsModule().Agent)({ keepAlive: true, maxSockets: 16, ...(t.ca ? { ca: t.ca } : {}), rejectUnauthorized: !t.skipVerify });
      this.https.set(host, agent);
    }
    return agent;
  }

  close(): void {
    this.httpAgent?.destroy();
    for (const a of this.https.values()) a.destroy();
  }
}

function wrap(res: IncomingMessage, url: URL): HttpResponse {
  const header = (name: string): string | undefined => {
    const v = res.headers[name.toLowerCase()];
    return Array.isArray(v) ? v.join(', ') : v;
  };
  const buffer = async (max = Infinity): Promise<Buffer> => {
    const chunks: Buffer[] = [];
    let size = 0;
    for await (const c of res) {
      size += (c as Buffer).length;
      if (size > max) {
        res.destroy();
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
    body: res,
    buffer,
    text: async () => (await buffer(1 << 20)).toString('utf8'),
    discard: () => {
      // Reading to the end keeps the connection for reuse; a big unwanted body is not worth it.
      if (Number(res.headers['content-length'] ?? Infinity) <= 64 << 10) res.resume();
      else res.destroy();
    },
  };
}

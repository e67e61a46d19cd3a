import { EnvironmentError, UserError } from '../errors.js';
import { RegistryAuth, type CredentialsProvider } from './auth.js';
import { HttpClient, type HttpClientOptions, HttpError, type HttpRequest, type HttpResponse } from './http.js';
import { TIMEOUTS_ENV, registryLimitsFromEnv } from './limits.js';
import { isInsecureRegistryHost } from './reference.js';
import { probeTls } from './tls-probe.js';
import { trustedCas } from './tls-trust.js';
import {
  USER_AGENT,
  backoff,
  describeCause,
  errorSummary,
  isNotTls,
  isRedirect,
  isSlow,
  isTlsError,
  isTransient,
  sleep,
} from './transport.js';

/** The TLS probe's wait for an answer at most: a server that speaks either answers at once. */
const PROBE_TIMEOUT_MS = 3000;

export interface RegistrySessionOptions {
  /** `--insecure-registry`: plain HTTP allowed and certificates not checked, as docker does. */
  insecureHosts?: string[];
  credentials?: CredentialsProvider;
  /** Tries per request when the network fails or the registry answers 502/503/504. */
  attempts?: number;
  /** Extra trusted CA files (PEM), besides node's bundle, NODE_EXTRA_CA_CERTS and SSL_CERT_FILE. */
  caFiles?: string[];
  env?: NodeJS.ProcessEnv;
  http?: HttpClientOptions;
}

export interface SendOptions {
  method: HttpRequest['method'];
  url: URL;
  /** Token scopes this request needs, e.g. `repository:app:pull,push`. */
  scopes: string[];
  /** The image the request is for, as the user wrote it, for messages. */
  display: string;
  /** What is being fetched or sent, for messages: `manifest of app:1`. */
  what: string;
  /** Whether we pull or push, for the access-denied message. */
  access: 'pull' | 'push';
  headers?: Record<string, string>;
  body?: Buffer;
  /** Repeat on network failures and 502/503/504 (default: yes). Off for requests that must not be sent twice. */
  retry?: boolean;
  signal?: AbortSignal;
  /** A blob streamed to disk: held to a minimum rate rather than the request deadline. */
  stream?: boolean;
}

/**
 * The distribution API's request layer, shared by pull and push: picks the scheme, answers auth
 * challenges, follows redirects (credentials only ever go to the registry itself, never to the
 * storage a blob request is redirected to), and retries what failed for transient reasons.
 *
 * Scheme: HTTPS, verified, for every registry. A loopback registry (localhost, 127.0.0.0/8, ::1)
 * or an `--insecure-registry` is spoken to over plain HTTP when it does not speak TLS, as docker
 * and containerd do: asked once with a TCP probe (tls-probe.ts), and otherwise found out from a
 * failed HTTPS request. A loopback registry that does speak TLS
 * must present a certificate we trust; an insecure one's is not checked.
 */
export class RegistrySession {
  readonly http: HttpClient;
  private readonly auth: RegistryAuth;
  private readonly insecure: Set<string>;
  private readonly attempts: number;
  private readonly plainHttp = new Set<string>();
  private readonly probes = new Map<string, Promise<void>>();

  constructor(opts: RegistrySessionOptions = {}) {
    this.insecure = new Set(opts.insecureHosts ?? []);
    this.attempts = Math.max(1, opts.attempts ?? 3);
    // Reading CA bundles costs; a build that only speaks plain HTTP (or nothing) never pays it.
    let ca: string[] | undefined | null = null;
    const cas = (): string[] | undefined =>
      ca === null ? (ca = trustedCas(opts.caFiles ?? [], opts.env ?? process.env)) : ca;
    this.http = new HttpClient(
      (host) => {
        const c = cas();
        return { ...(c ? { ca: c } : {}), skipVerify: this.insecure.has(host) };
      },
      { ...registryLimitsFromEnv(opts.env ?? process.env), ...opts.http },
    );
    this.auth = new RegistryAuth(this.http, opts.credentials, this.attempts);
  }

  /** Whether plain HTTP may be used for `registry` (`host[:port]` as in references). */
  mayUseHttp(registry: string): boolean {
    return this.insecure.has(registry) || isInsecureRegistryHost(registry);
  }

  /** Finds out once whether a registry allowed plain HTTP speaks it (see tls-probe.ts). */
  private probe(registry: string): Promise<void> {
    let p = this.probes.get(registry);
    if (!p) {
      const url = this.endpoint(registry);
      // A registry that takes the connection and says nothing must not hold the build longer
      // than the time limits the user chose (TSBUILD_REGISTRY_TIMEOUTS) allow an answer.
      const { headersTimeoutMs, idleTimeoutMs } = this.http.limits;
      const timeout = Math.min(PROBE_TIMEOUT_MS, headersTimeoutMs, idleTimeoutMs);
      p = probeTls(url.hostname, Number(url.port || 443), timeout).then((tls) => {
        if (tls === false) this.plainHttp.add(registry);
      });
      this.probes.set(registry, p);
    }
    return p;
  }

  /** `scheme://host/v2/`; Docker Hub's API lives on registry-1.docker.io. */
  endpoint(registry: string): URL {
    const host = registry === 'docker.io' ? 'registry-1.docker.io' : registry;
    return new URL(`${this.plainHttp.has(registry) ? 'http' : 'https'}://${host}/v2/`);
  }

  /** `scheme://host/v2/<repository>/<path>`. */
  repoUrl(registry: string, repository: string, path: string): URL {
    return new URL(`${repository}/${path}`, this.endpoint(registry));
  }

  /**
   * Sends a request. Returns every answer but these, which become UserErrors naming the image:
   * 401/403 that auth cannot fix, 429, 5xx (after retries; with `retry: false` they are
   * returned), and network failures (after retries). Redirects of GET and HEAD are followed.
   */
  async send(registry: string, o: SendOptions): Promise<HttpResponse> {
    const retry = o.retry ?? true;
    let url = o.url;
    let attempt = 1;
    let redirects = 0;
    let authAnswered = false;
    if (this.mayUseHttp(registry)) await this.probe(registry);
    for (;;) {
      const endpoint = this.endpoint(registry);
      // A URL made before the registry was found to speak plain HTTP still names https.
      if (url.host === endpoint.host && url.protocol !== endpoint.protocol)
        url = new URL(url.href.replace(/^https?:/, endpoint.protocol));
      const origin = endpoint.origin;
      const toRegistry = url.origin === origin;
      const headers: Record<string, string> = { 'user-agent': USER_AGENT, ...o.headers };
      const authorization = toRegistry ? this.auth.cached(url.host, o.scopes) : undefined;
      if (authorization) headers.authorization = authorization;

      let res: HttpResponse;
      try {
        res = await this.http.request({
          method: o.method,
          url,
          headers,
          ...(o.body ? { body: o.body } : {}),
          ...(o.signal ? { signal: o.signal } : {}),
          ...(o.stream ? { stream: true } : {}),
        });
      } catch (err) {
        if (o.signal?.aborted) throw err;
        if (toRegistry && url.protocol === 'https:' && this.mayUseHttp(registry) && isNotTls(err)) {
          // It speaks plain HTTP: remember that for every later request to it, and ask again.
          this.plainHttp.add(registry);
          url = new URL(url.href.replace(/^https:/, 'http:'));
          continue;
        }
        if (retry && isTransient(err) && attempt < this.attempts) {
          await sleep(backoff(attempt++), o.signal);
          continue;
        }
        throw this.failure(registry, url, o.what, o.display, err);
      }

      if (isRedirect(res.status) && (o.method === 'GET' || o.method === 'HEAD')) {
        const location = res.header('location');
        res.discard();
        if (!location || ++redirects > 10)
          throw new UserError(`registry ${registry} redirected ${o.what} ${location ? 'too many times' : 'nowhere'}`);
        url = new URL(location, url);
        continue;
      }
      if (res.status === 401 && toRegistry && !authAnswered) {
        authAnswered = true;
        const challenge = res.header('www-authenticate');
        res.discard();
        if (await this.auth.answer(registry, url.host, o.scopes, challenge, o.signal)) continue;
        throw accessDenied(o.access, o.display, registry, '401 Unauthorized');
      }
      if (res.status < 400 || (res.status < 500 && res.status !== 401 && res.status !== 403 && res.status !== 429))
        return res;
      // A request that must not be repeated blindly: its caller decides what a 5xx means.
      if (!retry && res.status >= 500) return res;

      const summary = o.method === 'HEAD' ? `${res.status} ${res.statusText}` : await errorSummary(res);
      if (o.method === 'HEAD') res.discard();
      if (res.status === 401 || res.status === 403) throw accessDenied(o.access, o.display, registry, summary);
      if (res.status === 429) {
        throw new UserError(`registry ${registry} is rate limiting requests (429 Too Many Requests) for ${o.display}`, {
          detail: summary,
          hint: 'wait a while, or authenticate to get a higher limit',
        });
      }
      if (retry && res.status >= 500 && res.status !== 501 && attempt < this.attempts) {
        await sleep(backoff(attempt++), o.signal);
        continue;
      }
      throw new UserError(`registry ${registry} failed to serve ${o.what}: ${res.status} ${res.statusText}`, {
        detail: summary,
      });
    }
  }

  /**
   * A request (or the reading of its answer) that failed on the way: the registry is too slow
   * (one of our time limits ran out: an environment error), or cannot be reached.
   */
  failure(registry: string, url: URL, what: string, display: string, err: unknown): UserError {
    const where = url.host === registry ? registry : `${registry} (${url.host})`;
    if (isSlow(err)) {
      return new EnvironmentError(`registry ${where} is too slow: ${what}: ${describeCause(err)}`, {
        cause: err,
        hint: `the registry or the network to it is slow or stuck; try again later, or allow more time with ${TIMEOUTS_ENV} (${raiseExample(err)})`,
      });
    }
    let hint: string | undefined;
    if (isTlsError(err)) {
      hint = this.insecure.has(registry)
        ? undefined
        : `if ${registry} has a certificate from a private CA, pass it with --registry-ca FILE (or SSL_CERT_FILE); to skip the check, --insecure-registry ${registry}`;
    } else if (/refused/.test(describeCause(err))) hint = 'is the registry running, and is the host and port right?';
    return new UserError(`cannot reach registry ${where} for ${display}: ${describeCause(err)}`, {
      cause: err,
      ...(hint ? { hint } : {}),
    });
  }

  close(): void {
    this.http.close();
  }
}

/** How to raise the limit that ran out, e.g. `TSBUILD_REGISTRY_TIMEOUTS=headers=120`. */
function raiseExample(err: unknown): string {
  const limit = err instanceof HttpError ? err.limit : undefined;
  switch (limit) {
    case 'headers':
    case 'idle':
    case 'request':
      return `e.g. ${TIMEOUTS_ENV}=${limit}=300, in seconds`;
    case 'min-rate':
      return `e.g. ${TIMEOUTS_ENV}=min-rate=256, in bytes/s`;
    default:
      return `e.g. ${TIMEOUTS_ENV}=request=300,min-rate=256`;
  }
}

function accessDenied(access: 'pull' | 'push', display: string, registry: string, summary: string): UserError {
  return new UserError(`${access} access denied for ${display}: the repository does not exist or needs credentials`, {
    detail: `registry ${registry} answered: ${summary}`,
    hint:
      access === 'pull'
        ? 'check the image name; for a private image, log in to the registry first (docker login; tsbuild reads its config.json)'
        : 'log in to the registry first (docker login; tsbuild reads its config.json), and check that you may push to this repository',
  });
}

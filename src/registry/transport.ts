/** Small helpers for talking HTTP to registries. */
import { HttpError } from './http.js';

export const USER_AGENT = 'tsbuild/0.1';

function errorCode(err: unknown): string | undefined {
  const cause = (err as { cause?: { code?: unknown } } | undefined)?.cause;
  const code = cause?.code ?? (err as { code?: unknown } | undefined)?.code;
  return typeof code === 'string' ? code : undefined;
}

/** A short reason for a failed fetch: node's fetch throws `fetch failed` and keeps the system error in `cause`. */
export function describeCause(err: unknown): string {
  // Our own timeouts and limits say exactly what happened.
  if (err instanceof HttpError) return err.message;
  const code = errorCode(err);
  switch (code) {
    case 'ECONNREFUSED':
      return 'connection refused';
    case 'ENOTFOUND':
      return 'host not found';
    case 'EAI_AGAIN':
      return 'DNS lookup failed (temporary)';
    case 'ETIMEDOUT':
    case 'UND_ERR_CONNECT_TIMEOUT':
    case 'UND_ERR_HEADERS_TIMEOUT':
    case 'UND_ERR_BODY_TIMEOUT':
      return 'timed out';
    case 'ECONNRESET':
    case 'UND_ERR_SOCKET':
      return 'connection reset';
    case 'EHOSTUNREACH':
    case 'ENETUNREACH':
      return 'host unreachable';
  }
  if (isTlsError(err)) return `TLS handshake failed (${code})`;
  const cause = (err as { cause?: { message?: unknown } } | undefined)?.cause;
  if (typeof cause?.message === 'string') return cause.message;
  return err instanceof Error ? err.message : String(err);
}

export function isTlsError(err: unknown): boolean {
  const code = errorCode(err);
  return code !== undefined && /CERT|SSL|TLS|SELF_SIGNED|UNABLE_TO_VERIFY|EPROTO/.test(code);
}

/** A time limit of ours ran out: the registry (or the way to it) is too slow, not absent. */
export function isSlow(err: unknown): boolean {
  return err instanceof HttpError && (err.code === 'ETIMEDOUT' || err.code === 'ESLOW');
}

/** Whether a failed request is worth repeating: the network hiccupped, nothing says the server is absent. */
export function isTransient(err: unknown): boolean {
  const code = errorCode(err);
  if (code === undefined)
    return (
      (err instanceof TypeError && err.message === 'terminated') || (err instanceof Error && err.message === 'aborted')
    );
  return [
    'ECONNRESET',
    'ETIMEDOUT',
    'ESLOW',
    'EAI_AGAIN',
    'EPIPE',
    'ECONNABORTED',
    'ERR_STREAM_PREMATURE_CLOSE',
    'UND_ERR_SOCKET',
    'UND_ERR_HEADERS_TIMEOUT',
    'UND_ERR_BODY_TIMEOUT',
  ].includes(code);
}

/**
 * The server answered a TLS handshake with something that is not TLS: it speaks plain HTTP
 * (docker's "server gave HTTP response to HTTPS client"). Certificate problems are not this.
 */
export function isNotTls(err: unknown): boolean {
  const code = errorCode(err);
  const message = String((err as { message?: unknown })?.message ?? '');
  return (
    code === 'ERR_SSL_WRONG_VERSION_NUMBER' ||
    code === 'ERR_SSL_PACKET_LENGTH_TOO_LONG' ||
    /wrong version number|packet length too long|unknown protocol/.test(message)
  );
}

/** Exponential backoff: 0.2 s, 0.8 s, 3.2 s… */
export function backoff(attempt: number): number {
  return 200 * 4 ** (attempt - 1);
}

export function isRedirect(status: number): boolean {
  return status === 301 || status === 302 || status === 303 || status === 307 || status === 308;
}

/** Reads the distribution API's `{"errors":[{code,message}]}` body into one line, for error messages. */
export async function errorSummary(res: {
  status: number;
  statusText: string;
  text(): Promise<string>;
}): Promise<string> {
  let text: string;
  try {
    text = await res.text();
  } catch {
    return `${res.status} ${res.statusText}`;
  }
  try {
    const body = JSON.parse(text) as { errors?: { code?: string; message?: string }[] };
    const parts = (body.errors ?? []).map((e) => [e.code, e.message].filter(Boolean).join(': ')).filter(Boolean);
    if (parts.length) return parts.join('; ');
  } catch {
    // not JSON: fall through to the status line
  }
  return `${res.status} ${res.statusText}`.trim();
}

/** Frees the connection of a response whose body we do not want. */
export async function discard(res: { discard(): void }): Promise<void> {
  res.discard();
}

export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const onAbort = () => {
      clearTimeout(t);
      reject(signal!.reason);
    };
    const t = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

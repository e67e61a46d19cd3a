/**
 * An HTTP proxy in front of a test registry that counts requests and breaks chosen ones, to
 * test what the client does when a connection dies: a response cut off after some bytes, or a
 * request whose connection is dropped after part of its body was sent. The Host header is kept,
 * so the registry's Location headers point back at the proxy.
 *
 *   const proxy = await startFlakyProxy(reg.port, { cutResponse: (r) => r.method === 'GET' && r.url.includes('/blobs/') ? 1000 : undefined });
 *   ... `${proxy.host}/repo:tag` ...
 */
import { createServer, request, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface SeenRequest {
  method: string;
  url: string;
  /** The registry's answer, once it came. */
  status?: number;
  range?: string;
  contentRange?: string;
  contentType?: string;
}

export interface ProxyRules {
  /** Forward only this many response body bytes, then drop the connection (once per call that returns a number). */
  cutResponse?(req: SeenRequest, nth: number): number | undefined;
  /** Forward this many bytes of the request body, then drop both connections. */
  cutRequest?(req: SeenRequest, nth: number): number | undefined;
  /** Answer the request here with this status and JSON body, without passing it on (a registry's refusal). */
  answer?(req: SeenRequest): { status: number; body: unknown } | undefined;
}

export interface FlakyProxy {
  host: string;
  port: number;
  requests: SeenRequest[];
  stop(): Promise<void>;
}

export async function startFlakyProxy(upstreamPort: number, rules: ProxyRules = {}): Promise<FlakyProxy> {
  const requests: SeenRequest[] = [];
  const server: Server = createServer((req, res) => {
    const seen: SeenRequest = {
      method: req.method!,
      url: req.url!,
      ...(req.headers.range ? { range: req.headers.range } : {}),
      ...(req.headers['content-range'] ? { contentRange: String(req.headers['content-range']) } : {}),
    };
    if (req.headers['content-type']) seen.contentType = req.headers['content-type'];
    requests.push(seen);
    const answer = rules.answer?.(seen);
    if (answer) {
      seen.status = answer.status;
      req.resume();
      res.writeHead(answer.status, { 'content-type': 'application/json' });
      res.end(JSON.stringify(answer.body));
      return;
    }
    const nth = requests.filter((r) => r.method === seen.method).length;
    const cutReq = rules.cutRequest?.(seen, nth);
    const cutRes = rules.cutResponse?.(seen, nth);
    const up = request(
      { host: '127.0.0.1', port: upstreamPort, method: req.method, path: req.url, headers: req.headers },
      (upRes: IncomingMessage) => {
        seen.status = upRes.statusCode;
        res.writeHead(upRes.statusCode ?? 502, upRes.statusMessage, upRes.headers);
        if (cutRes === undefined) return void upRes.pipe(res);
        let sent = 0;
        upRes.on('data', (c: Buffer) => {
          if (sent >= cutRes) return;
          const part = c.subarray(0, cutRes - sent);
          sent += part.length;
          if (sent < cutRes) return void res.write(part);
          upRes.destroy();
          // flush what was written, then close the connection mid-body
          res.write(part, () => res.socket?.end());
        });
        upRes.on('end', () => res.end());
      },
    );
    up.on('error', () => res.socket?.destroy());
    if (cutReq === undefined) return void req.pipe(up);
    let forwarded = 0;
    req.on('data', (c: Buffer) => {
      if (forwarded >= cutReq) return;
      const part = c.subarray(0, cutReq - forwarded);
      forwarded += part.length;
      up.write(part);
      if (forwarded >= cutReq) {
        up.destroy();
        req.socket.destroy();
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    host: `127.0.0.1:${port}`,
    port,
    requests,
    stop: () => {
      server.closeAllConnections();
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
}

import { createServer as createHttpServer } from 'node:http';
import { createServer, type AddressInfo, type Server } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { probeTls } from './tls-probe.js';

const servers: { close(): void }[] = [];
afterEach(() => {
  for (const s of servers.splice(0)) s.close();
});

function listen(server: Server | ReturnType<typeof createHttpServer>): Promise<number> {
  servers.push(server);
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve((server.address() as AddressInfo).port)));
}

describe('probeTls', () => {
  it('is false for an HTTP server, which answers the ClientHello with a 400', async () => {
    const port = await listen(createHttpServer((_req, res) => res.end('ok')));
    expect(await probeTls('127.0.0.1', port)).toBe(false);
  });

  it('is false for an HTTP server that answers only once the request line ends (Go net/http)', async () => {
    const port = await listen(
      createServer((sock) => {
        let seen = '';
        sock.on('data', (d: Buffer) => {
          seen += d.toString('latin1');
          if (seen.includes('\n')) sock.end('HTTP/1.1 400 Bad Request\r\n\r\n');
        });
      }),
    );
    expect(await probeTls('127.0.0.1', port, 1000)).toBe(false);
  });

  it('is true for a server that answers with a TLS record (alert or handshake)', async () => {
    let hello: Buffer | undefined;
    const port = await listen(
      createServer((sock) =>
        sock.once('data', (d: Buffer) => {
          hello = d;
          sock.end(Buffer.from([0x15, 0x03, 0x03, 0x00, 0x02, 0x02, 0x46]));
        }),
      ),
    );
    expect(await probeTls('127.0.0.1', port)).toBe(true);
    expect([...hello!.subarray(0, 3)]).toEqual([0x16, 0x03, 0x01]);
    // one ClientHello record, then the blank line for HTTP servers
    expect(hello!.readUInt16BE(3)).toBe(hello!.length - 5 - 4);
    expect(hello!.subarray(-4).toString()).toBe('\r\n\r\n');
  });

  it('does not know when nothing answers or the connection is refused', async () => {
    const port = await listen(createServer((sock) => sock.end()));
    expect(await probeTls('127.0.0.1', port)).toBeUndefined();
    const closed = createServer();
    const free = await listen(closed);
    closed.close();
    expect(await probeTls('127.0.0.1', free)).toBeUndefined();
    const silent = await listen(createServer(() => {}));
    expect(await probeTls('127.0.0.1', silent, 200)).toBeUndefined();
  });
});

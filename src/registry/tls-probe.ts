import { connect } from 'node:net';

/**
 * Whether a registry that may be spoken to over plain HTTP (loopback, --insecure-registry)
 * speaks TLS, asked over one TCP connection before the first request. Trying HTTPS and falling
 * back is what docker does, but the attempt makes node build a TLS context of every root
 * certificate first: 50-100 ms of a cold build, for a registry that then answers in plain HTTP.
 *
 * The probe sends a minimal TLS ClientHello and a blank line. A TLS server answers with a handshake or alert
 * record (first byte 0x16 or 0x15); an HTTP server with "HTTP/". Anything else (no answer,
 * a refused connection) is undefined, and the caller goes the usual way.
 */
export function probeTls(host: string, port: number, timeoutMs = 3000): Promise<boolean | undefined> {
  return new Promise((resolve) => {
    let settled = false;
    const done = (answer: boolean | undefined) => {
      if (settled) return;
      settled = true;
      socket.destroy();
      resolve(answer);
    };
    const socket = connect({ host: host.replace(/^\[|\]$/g, ''), port });
    socket.setTimeout(timeoutMs, () => done(undefined));
    socket.on('error', () => done(undefined));
    socket.on('close', () => done(undefined));
    socket.once('data', (chunk: Buffer) => {
      if (chunk[0] === 0x15 || chunk[0] === 0x16) done(true);
      else done(chunk.subarray(0, 5).toString('latin1') === 'HTTP/' ? false : undefined);
    });
    // The line end makes an HTTP server that reads up to the end of the request line (Go's)
    // answer at once; a TLS server has answered the ClientHello before it reads further.
    socket.on('connect', () => socket.write(Buffer.concat([clientHello(), Buffer.from('\r\n\r\n')])));
  });
}

/** A TLS 1.2 ClientHello: one cipher suite, no extensions; enough for any server to answer. */
function clientHello(): Buffer {
  const body = Buffer.concat([
    Buffer.from([0x03, 0x03]), // client_version TLS 1.2
    Buffer.alloc(32, 0x5a), // random: a probe needs none
    Buffer.from([0x00]), // session_id: empty
    Buffer.from([0x00, 0x02, 0xc0, 0x2f]), // cipher_suites: TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256
    Buffer.from([0x01, 0x00]), // compression_methods: null
  ]);
  const handshake = Buffer.concat([Buffer.from([0x01, 0x00, (body.length >> 8) & 0xff, body.length & 0xff]), body]);
  return Buffer.concat([
    Buffer.from([0x16, 0x03, 0x01, (handshake.length >> 8) & 0xff, handshake.length & 0xff]),
    handshake,
  ]);
}

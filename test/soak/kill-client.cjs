// A minimal client for the connect/SIGKILL churn, in plain JavaScript on the raw
// addon so that a thousand of them start quickly (no TypeScript transform):
// connects, says hello, creates a surface of 2 buffers, maps and draws one,
// submits it, prints "ready" and waits to be killed. The server then holds its
// buffers, a submitted frame and a connection that ends with no goodbye.
'use strict';
const path = require('node:path');
const addon = require(process.env.BUFSHARE_ADDON || path.join(__dirname, '..', '..', 'build', 'Release', 'bufshare.node'));

const socketPath = process.argv[2];
const HELLO = 1, CREATE_SURFACE = 2, SUBMIT = 3, WELCOME = 64, SURFACE_BUFFERS = 65;

function json(op, body) {
  const text = Buffer.from(JSON.stringify(body));
  const out = new Uint8Array(4 + text.length);
  new DataView(out.buffer).setUint32(0, op, true);
  out.set(text, 4);
  return out;
}

function submit(surface, buffer) {
  const out = new Uint8Array(32);
  const v = new DataView(out.buffer);
  [SUBMIT, surface, buffer, 1].forEach((x, i) => v.setUint32(i * 4, x, true));
  [0, 0, 64, 64].forEach((x, i) => v.setInt32(16 + i * 4, x, true));
  return out;
}

const buf = new Uint8Array(65536);
const fds = new Int32Array(16);
const meta = new Int32Array(3);
const socket = new addon.SeqPacket(addon.seqpacketConnect(socketPath), (status) => {
  if (status < 0) process.exit(2);
  for (;;) {
    const r = socket.recv(buf, fds, meta);
    if (r === 0) return;
    if (r < 0) process.exit(3);
    const op = new DataView(buf.buffer).getUint32(0, true);
    if (op === WELCOME) {
      socket.send(json(CREATE_SURFACE, { surface: 1, width: 64, height: 64, format: 'XRGB8888', usage: 'software', bufferCount: 2 }));
    } else if (op === SURFACE_BUFFERS) {
      const m = JSON.parse(Buffer.from(buf.subarray(4, meta[0])).toString());
      const d = m.buffers[0];
      const memory = addon.mmap(fds[0], d.size, 0, 3);
      new Uint32Array(memory).fill(0xff00ff00);
      socket.send(submit(1, d.id));
      process.stdout.write('ready\n');
    }
  }
});
socket.poll(1);
socket.send(json(HELLO, { protocol: 'bufshare', version: 1, name: 'kill-client' }));

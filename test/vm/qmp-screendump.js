// Host side of the VM's screendump channel (run.sh starts it with the VM).
//
// A test in the guest cannot reach qemu's monitor, so it asks through the shared
// job directory: it writes <dir>/<n>.req holding a display device id (gpu-bochs,
// gpu-virtio, gpu-qxl, gpu-cirrus); this helper runs QMP `screendump` for that
// device into <dir>/<n>.ppm and then writes <dir>/<n>.done ("ok" or the error).
// qemu's screendump is an independent readback of what the emulated display shows.
//
// usage: node qmp-screendump.js QMP_SOCKET DIR
'use strict';
const fs = require('node:fs');
const net = require('node:net');
const path = require('node:path');

const [sock, dir] = process.argv.slice(2);
fs.mkdirSync(dir, { recursive: true });

function connect(attempt = 0) {
  const c = net.connect(sock);
  c.on('error', () => {
    if (attempt < 200) setTimeout(() => connect(attempt + 1), 50); // qemu creates the socket as it starts
  });
  c.on('connect', () => serve(c));
}

function serve(c) {
  let buf = '';
  const waiting = [];
  c.on('data', (d) => {
    buf += d.toString();
    let nl;
    while ((nl = buf.indexOf('\n')) >= 0) {
      const line = buf.slice(0, nl).trim();
      buf = buf.slice(nl + 1);
      if (!line) continue;
      const msg = JSON.parse(line);
      if (msg.QMP || msg.event) continue;
      const w = waiting.shift();
      if (w) w(msg);
    }
  });
  c.on('close', () => process.exit(0));
  const command = (execute, args) => new Promise((resolve) => {
    waiting.push(resolve);
    c.write(`${JSON.stringify(args ? { execute, arguments: args } : { execute })}\n`);
  });
  let busy = false;
  const seen = new Set();
  command('qmp_capabilities').then(() => {
    setInterval(async () => {
      if (busy) return;
      busy = true;
      try {
        for (const f of fs.readdirSync(dir).filter((n) => n.endsWith('.req') && !seen.has(n)).sort()) {
          seen.add(f);
          const n = f.slice(0, -4);
          const device = fs.readFileSync(path.join(dir, f), 'utf8').trim();
          const r = await command('screendump', { filename: path.join(dir, `${n}.ppm`), device });
          fs.writeFileSync(path.join(dir, `${n}.done`), r.error ? `error: ${r.error.desc}` : 'ok');
        }
      } finally {
        busy = false;
      }
    }, 20);
  });
}

connect();

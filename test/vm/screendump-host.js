#!/usr/bin/env node
// Host side of the VM harness's independent readback: qemu's own `screendump` of an
// emulated display device, asked for by a process in the guest.
//
//   node test/vm/screendump-host.js QMP_SOCKET DIR
//
// run.sh starts this next to qemu (which listens for QMP on QMP_SOCKET, on the host only)
// and shares DIR with the guest through the job's 9p mount. The guest asks by renaming a
// request file into DIR; this process answers with an image and a reply file:
//
//   guest:  NAME.req   {"device": "bochs"} or {"pci": "0000:00:05.0"}, optional "head"
//   host:   NAME.ppm   what the device shows (qemu writes it; P6, 8 bits per channel)
//           NAME.reply {"ok": true, "device": "bochs", "file": "NAME.ppm"} or {"ok": false, "error": "..."}
//
// The same channel injects input (run.sh --input) and hotplugs input devices, for the
// input tests:
//
//   guest:  NAME.req   {"input": [EVENT...]}     -> QMP input-send-event {"events": [...]}
//                      {"hotplug": "add", "driver": "virtio-keyboard-pci", "id": "kbd2"}
//                      {"hotplug": "del", "id": "kbd2"}
//   host:   NAME.reply {"ok": true, "sentAt": <host ms>} or {"ok": false, "error": "..."}
//
// EVENT is QMP's InputEvent: {"type": "key", "data": {"down": true, "key": {"type": "qcode",
// "data": "a"}}}, {"type": "btn", "data": {"down": true, "button": "left"}} (also
// "wheel-up"/"wheel-down"), {"type": "rel"|"abs", "data": {"axis": "x", "value": N}}. At most
// 64 events a request; hotplug takes only the virtio input drivers, on root port hp0.
//
// NAME is [A-Za-z0-9._-]{1,64}. A request names the device by its qdev id (run.sh gives
// every display device one) or by its PCI address as the guest sees it in sysfs, which
// `query-pci` maps to the qdev id. Plain JavaScript on purpose: it starts in ~0.15 s with
// no TypeScript step, while qemu boots.
//
// It exits when qemu closes the QMP socket (qemu gone), when it cannot connect within 30 s,
// or on SIGTERM from run.sh: it never outlives its VM.
'use strict';
const fs = require('fs');
const net = require('net');
const path = require('path');
const { lineReader } = require('./qmp-lines');

const [socketPath, dir] = process.argv.slice(2);
if (!socketPath || !dir) {
  process.stderr.write('usage: screendump-host.js QMP_SOCKET DIR\n');
  process.exit(2);
}
const COMMAND_TIMEOUT_MS = 20000;
const CONNECT_TIMEOUT_MS = 30000;
const NAME = /^[A-Za-z0-9._-]{1,64}$/;
const DEVICE_ID = /^[A-Za-z0-9_-]{1,64}$/;
const PCI_ADDRESS = /^(?:([0-9a-f]{4}):)?([0-9a-f]{2}):([0-9a-f]{2})\.([0-7])$/;
const MAX_REQUEST_BYTES = 16384;
const MAX_INPUT_EVENTS = 64;
const HOTPLUG_DRIVERS = new Set(['virtio-keyboard-pci', 'virtio-mouse-pci', 'virtio-tablet-pci']);
const INPUT_TYPES = new Set(['key', 'btn', 'rel', 'abs']);

function log(msg) {
  process.stderr.write(`screendump-host: ${msg}\n`);
}

// --- QMP: one connection, commands matched to replies by id --------------------------

let qmp = null;
let nextId = 1;
const pending = new Map(); // id -> { resolve, reject, timer }

function onQmpLine(line) {
  if (!line.trim()) return;
  let msg;
  try {
    msg = JSON.parse(line);
  } catch {
    log(`unparsable QMP line: ${line.slice(0, 200)}`);
    return;
  }
  if (msg.id === undefined) return; // greeting, events
  const p = pending.get(msg.id);
  if (!p) return; // a reply that came after its timeout
  pending.delete(msg.id);
  clearTimeout(p.timer);
  if (msg.error) p.reject(new Error(`${msg.error.class}: ${msg.error.desc}`));
  else p.resolve(msg.return);
}

function command(execute, args) {
  if (!qmp) return Promise.reject(new Error('QMP is not connected'));
  const id = nextId++;
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      pending.delete(id);
      reject(new Error(`QMP ${execute} got no answer in ${COMMAND_TIMEOUT_MS / 1000} s`));
    }, COMMAND_TIMEOUT_MS);
    pending.set(id, { resolve, reject, timer });
    qmp.write(`${JSON.stringify({ execute, arguments: args, id })}\n`);
  });
}

function connect(startedAt) {
  const sock = net.createConnection(socketPath);
  sock.setEncoding('utf8');
  sock.on('connect', () => {
    qmp = sock;
    command('qmp_capabilities', {}).then(() => {
      ready = true;
      scan();
    }, (e) => {
      log(`qmp_capabilities: ${e.message}`);
      process.exit(1);
    });
  });
  sock.on('data', lineReader(onQmpLine));
  sock.on('error', (e) => {
    if (qmp) return; // 'close' follows
    if (Date.now() - startedAt > CONNECT_TIMEOUT_MS) {
      log(`cannot connect to ${socketPath}: ${e.message}`);
      process.exit(1);
    }
    setTimeout(() => connect(startedAt), 50); // qemu has not created the socket yet
  });
  sock.on('close', () => {
    if (qmp === sock) process.exit(0); // qemu is gone: so is the VM
  });
}

// --- Requests from the guest ----------------------------------------------------------

let ready = false;
const seen = new Set();
let queue = Promise.resolve(); // one screendump at a time: qemu serialises them anyway

function writeReply(name, reply) {
  const tmp = path.join(dir, `.${name}.reply.tmp`);
  fs.writeFileSync(tmp, JSON.stringify(reply));
  fs.renameSync(tmp, path.join(dir, `${name}.reply`)); // the guest never sees half a reply
}

async function qdevIdOfPci(address) {
  const m = PCI_ADDRESS.exec(address);
  if (!m) throw new Error(`not a PCI address: ${JSON.stringify(address)}`);
  const [bus, slot, fn] = [m[2], m[3], m[4]].map((h) => parseInt(h, 16));
  const buses = await command('query-pci', {});
  for (const b of buses) {
    for (const d of b.devices) {
      if (d.bus === bus && d.slot === slot && d.function === fn) {
        if (!d.qdev_id) throw new Error(`PCI ${address} (${d.class_info?.desc ?? 'class ' + d.class_info?.class}) has no qdev id: give its -device an id=`);
        return d.qdev_id;
      }
    }
  }
  throw new Error(`no PCI device at ${address}`);
}

async function serve(name) {
  const reqPath = path.join(dir, `${name}.req`);
  let request;
  try {
    const fd = fs.openSync(reqPath, 'r');
    let text;
    try {
      const buf = Buffer.alloc(MAX_REQUEST_BYTES + 1);
      const n = fs.readSync(fd, buf, 0, buf.length, 0);
      if (n > MAX_REQUEST_BYTES) throw new Error(`request larger than ${MAX_REQUEST_BYTES} bytes`);
      text = buf.subarray(0, n).toString('utf8');
    } finally {
      fs.closeSync(fd);
    }
    fs.unlinkSync(reqPath);
    request = JSON.parse(text);
    if (typeof request !== 'object' || request === null) throw new Error('request is not a JSON object');
  } catch (e) {
    writeReply(name, { ok: false, error: `bad request: ${e.message}` });
    return;
  }
  if (request.input !== undefined || request.hotplug !== undefined) {
    try {
      writeReply(name, { ok: true, ...(await inputRequest(request)) });
    } catch (e) {
      writeReply(name, { ok: false, error: e.message });
    }
    return;
  }
  try {
    let device = request.device;
    if (device === undefined && typeof request.pci === 'string') device = await qdevIdOfPci(request.pci.toLowerCase());
    if (typeof device !== 'string' || !DEVICE_ID.test(device)) throw new Error(`bad device ${JSON.stringify(device)}`);
    const file = `${name}.ppm`;
    const args = { filename: path.join(dir, file), device, format: 'ppm' };
    if (request.head !== undefined) {
      if (!Number.isInteger(request.head) || request.head < 0 || request.head > 15) throw new Error(`bad head ${JSON.stringify(request.head)}`);
      args.head = request.head;
    }
    await command('screendump', args);
    writeReply(name, { ok: true, device, file });
  } catch (e) {
    writeReply(name, { ok: false, error: e.message });
  }
}

// Input for the guest's virtio input devices; the reply says when QMP took it (host
// Date.now(), the guest compares nothing with it: it measures its own round trip).
async function inputRequest(request) {
  if (request.input !== undefined) {
    const events = request.input;
    if (!Array.isArray(events) || events.length === 0 || events.length > MAX_INPUT_EVENTS) {
      throw new Error(`input must be 1..${MAX_INPUT_EVENTS} events`);
    }
    for (const e of events) {
      if (typeof e !== 'object' || e === null || !INPUT_TYPES.has(e.type) || typeof e.data !== 'object' || e.data === null) {
        throw new Error(`bad input event ${JSON.stringify(e).slice(0, 200)}`);
      }
    }
    await command('input-send-event', { events });
    return { sentAt: Date.now() };
  }
  const id = request.id;
  if (typeof id !== 'string' || !DEVICE_ID.test(id)) throw new Error(`bad id ${JSON.stringify(id)}`);
  if (request.hotplug === 'add') {
    if (!HOTPLUG_DRIVERS.has(request.driver)) throw new Error(`hotplug takes ${[...HOTPLUG_DRIVERS].join(', ')}, not ${JSON.stringify(request.driver)}`);
    await command('device_add', { driver: request.driver, id, bus: 'hp0' });
    return {};
  }
  if (request.hotplug === 'del') {
    await command('device_del', { id });
    return {};
  }
  throw new Error(`hotplug must be add or del, got ${JSON.stringify(request.hotplug)}`);
}

function scan() {
  if (!ready) return;
  let names;
  try {
    names = fs.readdirSync(dir);
  } catch {
    return;
  }
  for (const entry of names) {
    if (!entry.endsWith('.req')) continue;
    const name = entry.slice(0, -4);
    if (!NAME.test(name) || seen.has(name)) continue;
    seen.add(name);
    queue = queue.then(() => serve(name)).catch((e) => log(`${name}: ${e.message}`)).finally(() => seen.delete(name));
  }
}

process.on('SIGTERM', () => process.exit(0));
// inotify sees what qemu's 9p server creates in DIR (host syscalls); the slow rescan is
// only a safety net.
fs.watch(dir, () => scan());
setInterval(scan, 1000).unref();
connect(Date.now());

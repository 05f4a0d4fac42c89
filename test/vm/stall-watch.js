#!/usr/bin/env node
// The VM harness's stall watchdog (run.sh --stall-after S).
//
//   node test/vm/stall-watch.js PIDFILE QMP_SOCKET SECONDS REPORT MARKER
//
// A harness VM that is running anything uses CPU: its kernel's tick, node's timers, the
// guest job. When qemu's CPU time (utime + stime of /proc/PID/stat) has not moved for
// SECONDS, the VM has stopped. That happens now and then while the harness VM, under TCG,
// loads kvm_amd and runs a nested KVM guest (docs/vm-vhost.md): the VM then sits there
// until run.sh's timeout, with nothing left to learn from it but what qemu knows. So this
// asks qemu's monitor what each vCPU was doing (HMP `info registers -a`, `info lapic`, the
// instructions at the program counter) and what each qemu thread waits in (wchan), writes
// that to REPORT, creates MARKER, and kills qemu: run.sh then exits 254 ("stalled"), and
// drivers.sh --retry-stalled may run that kernel again. A test that fails is never
// retried: only a VM whose CPU time stopped.
//
// Plain JavaScript, no dependencies (it starts while qemu boots, as screendump-host.js).
// It exits when qemu does.
'use strict';
const fs = require('fs');
const net = require('net');
const { lineReader } = require('./qmp-lines');

const [pidFile, socketPath, secondsArg, reportPath, markerPath] = process.argv.slice(2);
const stallSeconds = Number(secondsArg);
if (!pidFile || !socketPath || !(stallSeconds > 0) || !reportPath || !markerPath) {
  process.stderr.write('usage: stall-watch.js PIDFILE QMP_SOCKET SECONDS REPORT MARKER\n');
  process.exit(2);
}
const POLL_MS = 1000;
const MONITOR_TIMEOUT_MS = 10000;
const HMP_COMMANDS = ['info status', 'info cpus', 'info registers -a', 'info lapic', 'info pic', 'x/16i $pc', 'info irq'];

function readPid() {
  try {
    const pid = Number(fs.readFileSync(pidFile, 'utf8').trim());
    return Number.isInteger(pid) && pid > 0 ? pid : undefined;
  } catch {
    return undefined;
  }
}

/** utime + stime in clock ticks, or undefined once the process is gone. */
function cpuTicks(pid) {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' '); // fields from 3 (state) on
    return Number(fields[11]) + Number(fields[12]); // 14 utime, 15 stime
  } catch {
    return undefined;
  }
}

function threads(pid) {
  const out = [];
  let tids = [];
  try { tids = fs.readdirSync(`/proc/${pid}/task`); } catch { return 'threads: gone\n'; }
  for (const tid of tids) {
    const read = (f) => { try { return fs.readFileSync(`/proc/${pid}/task/${tid}/${f}`, 'utf8').trim(); } catch { return '?'; } };
    const stat = read('stat');
    const state = stat.slice(stat.lastIndexOf(')') + 2).split(' ')[0];
    out.push(`  ${tid} ${read('comm')} state=${state} wchan=${read('wchan')}`);
  }
  return `threads:\n${out.join('\n')}\n`;
}

/** Runs the HMP commands through QMP; whatever it got when the monitor stops answering. */
function askMonitor() {
  return new Promise((resolve) => {
    let text = '';
    let step = -1; // -1: capabilities
    const sock = net.createConnection(socketPath);
    const finish = (why) => {
      clearTimeout(timer);
      sock.destroy();
      resolve(why ? `${text}monitor: ${why}\n` : text);
    };
    const timer = setTimeout(() => finish(`no answer in ${MONITOR_TIMEOUT_MS / 1000} s (qemu's main loop is stuck too)`), MONITOR_TIMEOUT_MS);
    const next = () => {
      step++;
      if (step >= HMP_COMMANDS.length) return finish();
      sock.write(`${JSON.stringify({ execute: 'human-monitor-command', arguments: { 'command-line': HMP_COMMANDS[step] } })}\n`);
    };
    sock.setEncoding('utf8');
    sock.on('connect', () => sock.write('{"execute":"qmp_capabilities"}\n'));
    sock.on('data', lineReader((line) => {
      let msg;
      try { msg = JSON.parse(line); } catch { return; }
      if (msg.QMP || msg.event) return;
      if (step >= 0) text += `### ${HMP_COMMANDS[step]}\n${msg.return !== undefined ? msg.return : JSON.stringify(msg.error)}\n`;
      next();
    }));
    sock.on('error', (e) => finish(`cannot talk to ${socketPath}: ${e.message}`));
  });
}

async function main() {
  const startedAt = Date.now();
  let pid;
  while ((pid = readPid()) === undefined) {
    if (Date.now() - startedAt > 60000) process.exit(0); // qemu never started: nothing to watch
    await new Promise((r) => setTimeout(r, 200));
  }
  let last = cpuTicks(pid);
  let stillSince = Date.now();
  for (;;) {
    await new Promise((r) => setTimeout(r, POLL_MS));
    const now = cpuTicks(pid);
    if (now === undefined) process.exit(0); // qemu is gone
    if (now !== last) {
      last = now;
      stillSince = Date.now();
      continue;
    }
    if (Date.now() - stillSince < stallSeconds * 1000) continue;
    const head = `qemu ${pid}: CPU time stayed at ${now} ticks for ${stallSeconds} s (${new Date().toISOString()}): the VM stopped\n`;
    const report = head + threads(pid) + (await askMonitor());
    try { fs.writeFileSync(reportPath, report); } catch (e) { process.stderr.write(`stall-watch: cannot write ${reportPath}: ${e.message}\n`); }
    fs.writeFileSync(markerPath, '');
    process.stderr.write(`stall-watch: ${head}stall-watch: report in ${reportPath}\n`);
    try { process.kill(pid, 'SIGKILL'); } catch { /* gone meanwhile */ }
    process.exit(0);
  }
}
main();

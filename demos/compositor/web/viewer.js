// The viewer page: draws the damaged rectangles the compositor sends, and sends
// the pointer back. Plain JS, no build step. State for tests: window.bufshareViewer.
'use strict';
(() => {
  const FRAME_MAGIC = 0x31465342; // 'BSF1', see demos/compositor/frame-wire.ts
  const TITLE_HEIGHT = 20;
  const canvas = document.getElementById('output');
  const ctx = canvas.getContext('2d', { alpha: false });
  const titles = document.getElementById('titles');
  const tbody = document.querySelector('#surfaces tbody');
  const status = document.getElementById('status');
  const state = { connected: false, frames: 0, rects: 0, pixels: 0, surfaces: [], width: 0, height: 0 };
  window.bufshareViewer = state;

  const ws = new WebSocket(`ws://${location.host}/ws`);
  ws.binaryType = 'arraybuffer';
  const send = (m) => { if (ws.readyState === WebSocket.OPEN) ws.send(JSON.stringify(m)); };

  ws.onopen = () => { state.connected = true; setStatus(); };
  ws.onclose = () => { state.connected = false; setStatus('disconnected'); };
  ws.onmessage = (ev) => {
    if (typeof ev.data === 'string') onMessage(JSON.parse(ev.data));
    else drawFrame(ev.data);
  };

  function setStatus(text) {
    status.className = state.connected ? 'live' : 'down';
    status.textContent = text ?? `${state.width}x${state.height} · ${state.surfaces.length} surface(s) · frame ${state.frames}`;
  }

  function onMessage(m) {
    if (m.type === 'hello') {
      state.width = canvas.width = m.width;
      state.height = canvas.height = m.height;
    } else if (m.type === 'surfaces') {
      state.surfaces = m.surfaces;
      renderSurfaces();
    }
    setStatus();
  }

  // XRGB8888 words (0xXXRRGGBB) -> RGBA bytes (the little-endian word 0xAABBGGRR).
  function drawFrame(buffer) {
    const w = new Uint32Array(buffer);
    if (w[0] !== FRAME_MAGIC) return;
    let o = 3;
    for (let i = 0; i < w[2]; i++) {
      const x = w[o], y = w[o + 1], width = w[o + 2], height = w[o + 3];
      o += 4;
      const image = ctx.createImageData(width, height);
      const rgba = new Uint32Array(image.data.buffer);
      for (let k = 0; k < rgba.length; k++) {
        const p = w[o + k];
        rgba[k] = 0xff000000 | ((p & 0xff) << 16) | (p & 0xff00) | ((p >>> 16) & 0xff);
      }
      ctx.putImageData(image, x, y);
      o += width * height;
      state.rects++;
      state.pixels += width * height;
    }
    state.frames++;
    send({ type: 'ack', sequence: w[1] });
    if (state.frames % 15 === 0) setStatus();
  }

  function renderSurfaces() {
    titles.replaceChildren();
    tbody.replaceChildren();
    for (const s of state.surfaces) {
      const row = document.createElement('tr');
      if (s.minimized) {
        // Hidden by its client: listed, and a click on the row brings it back.
        row.className = 'minimized';
        row.title = 'minimized: click to bring it back';
        row.addEventListener('click', () => send({ type: 'raise', surface: s.id }));
      }
      const bar = document.createElement('div');
      bar.className = 'title';
      bar.dataset.surface = String(s.id);
      bar.style.left = `${s.x}px`;
      bar.style.top = `${Math.max(0, s.y - TITLE_HEIGHT)}px`;
      bar.style.width = `${Math.min(s.width, state.width - s.x)}px`;
      const name = document.createElement('b');
      name.textContent = s.title;
      const info = document.createElement('span');
      info.textContent = `pid ${s.pid} · ${s.kind} · ${s.access} · `;
      const fps = document.createElement('span');
      fps.className = 'fps';
      fps.textContent = `${Math.round(s.fps)} fps`;
      bar.append(name, info, fps);
      bar.addEventListener('pointerdown', (e) => startMove(e, s));
      if (!s.minimized) titles.append(bar);
      for (const [text, num] of [[`${s.title} (#${s.id})`], [s.pid, 1], [s.kind], [s.access], [s.format], [`${s.width}x${s.height}`], [Math.round(s.fps), 1]]) {
        const td = document.createElement('td');
        td.textContent = String(text);
        if (num) td.className = 'num';
        row.append(td);
      }
      tbody.append(row);
    }
  }

  // Output coordinates of a pointer event (the canvas is shown at native size, but be exact if it is scaled).
  function outputPoint(e) {
    const r = canvas.getBoundingClientRect();
    return { x: Math.floor(((e.clientX - r.left) * canvas.width) / r.width), y: Math.floor(((e.clientY - r.top) * canvas.height) / r.height) };
  }

  function sendPointer(action, e) {
    const p = outputPoint(e);
    const m = { type: 'pointer', action, x: p.x, y: p.y, buttons: e.buttons };
    if (action === 'down' || action === 'up') m.button = Math.min(Math.max(e.button, 0), 4);
    send(m);
  }

  canvas.addEventListener('pointerdown', (e) => {
    canvas.setPointerCapture(e.pointerId);
    sendPointer('down', e);
  });
  canvas.addEventListener('pointermove', (e) => {
    // Every sample the browser coalesced into this event: strokes stay smooth.
    const samples = typeof e.getCoalescedEvents === 'function' ? e.getCoalescedEvents() : [];
    for (const s of samples.length > 0 ? samples : [e]) sendPointer('move', s);
  });
  canvas.addEventListener('pointerup', (e) => sendPointer('up', e));
  canvas.addEventListener('pointerleave', (e) => { if (e.buttons === 0) sendPointer('leave', e); });
  canvas.addEventListener('contextmenu', (e) => e.preventDefault());

  // The keyboard goes to the surface last clicked (the compositor keeps that focus).
  function sendKey(e, pressed) {
    if (e.repeat) return; // the client repeats by itself (wl_keyboard.repeat_info)
    send({ type: 'key', code: e.code, pressed });
    if (e.code === 'Tab' || e.code === 'Backspace' || e.code === 'Space' || e.code.startsWith('Arrow')) e.preventDefault();
  }
  window.addEventListener('keydown', (e) => sendKey(e, true));
  window.addEventListener('keyup', (e) => sendKey(e, false));

  function startMove(e, s) {
    e.preventDefault();
    const start = outputPoint(e);
    const dx = start.x - s.x, dy = start.y - s.y;
    send({ type: 'raise', surface: s.id });
    const move = (ev) => { const p = outputPoint(ev); send({ type: 'move', surface: s.id, x: p.x - dx, y: p.y - dy }); };
    const up = () => { window.removeEventListener('pointermove', move); window.removeEventListener('pointerup', up); };
    window.addEventListener('pointermove', move);
    window.addEventListener('pointerup', up);
  }
})();

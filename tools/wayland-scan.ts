/**
 * wayland-scan: reads protocol XML (what Debian's libwayland-dev and
 * wayland-protocols ship) and writes the signature tables lib/wayland/ uses:
 * interface names, versions, request/event signatures and enums. No prose is
 * copied: descriptions and summaries are dropped.
 *
 * Run at development time (`npm run gen:wayland`); the output is committed, so
 * neither a build nor a user needs the XML.
 *
 *   tsx tools/wayland-scan.ts [outDir]
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

interface Source {
  readonly xml: string;
  readonly out: string;
  /** Not on every distribution: a missing XML keeps the committed table. */
  readonly optional?: boolean;
}

const SOURCES: readonly Source[] = [
  { xml: '/usr/share/wayland/wayland.xml', out: 'wayland.ts' },
  { xml: '/usr/share/wayland-protocols/stable/xdg-shell/xdg-shell.xml', out: 'xdg-shell.ts' },
  { xml: '/usr/share/wayland-protocols/stable/viewporter/viewporter.xml', out: 'viewporter.ts' },
  { xml: '/usr/share/wayland-protocols/unstable/linux-dmabuf/linux-dmabuf-unstable-v1.xml', out: 'linux-dmabuf.ts' },
  { xml: '/usr/share/wayland-protocols/stable/presentation-time/presentation-time.xml', out: 'presentation-time.ts' },
  { xml: '/usr/share/wayland-protocols/unstable/xdg-output/xdg-output-unstable-v1.xml', out: 'xdg-output.ts' },
  { xml: '/usr/share/wayland-protocols/unstable/xdg-decoration/xdg-decoration-unstable-v1.xml', out: 'xdg-decoration.ts' },
  { xml: '/usr/share/wayland-protocols/unstable/primary-selection/primary-selection-unstable-v1.xml', out: 'primary-selection.ts' },
  { xml: '/usr/share/wayland-protocols/staging/single-pixel-buffer/single-pixel-buffer-v1.xml', out: 'single-pixel-buffer.ts' },
  { xml: '/usr/share/wayland-protocols/staging/fractional-scale/fractional-scale-v1.xml', out: 'fractional-scale.ts' },
  { xml: '/usr/share/wayland-protocols/staging/xdg-activation/xdg-activation-v1.xml', out: 'xdg-activation.ts' },
  { xml: '/usr/share/wayland-protocols/unstable/idle-inhibit/idle-inhibit-unstable-v1.xml', out: 'idle-inhibit.ts' },
  { xml: '/usr/share/wayland-protocols/unstable/relative-pointer/relative-pointer-unstable-v1.xml', out: 'relative-pointer.ts' },
  { xml: '/usr/share/wayland-protocols/unstable/pointer-constraints/pointer-constraints-unstable-v1.xml', out: 'pointer-constraints.ts' },
  { xml: '/usr/share/wayland-protocols/unstable/text-input/text-input-unstable-v3.xml', out: 'text-input.ts' },
  { xml: '/usr/share/wayland-protocols/unstable/text-input/text-input-unstable-v1.xml', out: 'text-input-v1.ts' },
  // wayland-protocols 1.32+ (Debian 12 ships 1.31, without it; the XML from upstream's staging/ at development time): skipped where missing.
  { xml: '/usr/share/wayland-protocols/staging/cursor-shape/cursor-shape-v1.xml', out: 'cursor-shape.ts', optional: true },
  // wayland-protocols 1.34+ (Debian 12 ships 1.31, without it): skipped where missing, its output stays as committed.
  { xml: '/usr/share/wayland-protocols/staging/linux-drm-syncobj/linux-drm-syncobj-v1.xml', out: 'linux-drm-syncobj.ts', optional: true },
];

const ARG_TYPES = new Set(['int', 'uint', 'fixed', 'string', 'object', 'new_id', 'array', 'fd']);

type Attrs = Record<string, string>;

interface Tag {
  readonly name: string;
  readonly attrs: Attrs;
  readonly close: boolean;
  readonly selfClose: boolean;
}

function* tags(xml: string): Generator<Tag> {
  const noComments = xml.replace(/<!--[\s\S]*?-->/g, '');
  const re = /<(\/?)([A-Za-z_][\w-]*)((?:\s+[\w-]+\s*=\s*"[^"]*")*)\s*(\/?)>/g;
  for (let m = re.exec(noComments); m !== null; m = re.exec(noComments)) {
    const attrs: Attrs = {};
    const are = /([\w-]+)\s*=\s*"([^"]*)"/g;
    for (let a = are.exec(m[3]!); a !== null; a = are.exec(m[3]!)) attrs[a[1]!] = a[2]!;
    yield { name: m[2]!, attrs, close: m[1] === '/', selfClose: m[4] === '/' };
  }
}

interface ArgOut { name: string; type: string; interface?: string; nullable?: true; enum?: string }
interface MessageOut { name: string; since: number; destructor?: true; args: ArgOut[] }
interface InterfaceOut { name: string; version: number; requests: MessageOut[]; events: MessageOut[]; enums: Record<string, Record<string, number>> }

function parseNumber(text: string, where: string): number {
  const n = text.startsWith('0x') ? Number.parseInt(text.slice(2), 16) : Number.parseInt(text, 10);
  if (!Number.isSafeInteger(n) || String(text).trim() === '') throw new Error(`${where}: not a number: ${text}`);
  return n;
}

function scan(xml: string): InterfaceOut[] {
  const out: InterfaceOut[] = [];
  let iface: InterfaceOut | undefined;
  let message: MessageOut | undefined;
  let enumName: string | undefined;
  for (const t of tags(xml)) {
    if (t.close) {
      if (t.name === 'interface') iface = undefined;
      else if (t.name === 'request' || t.name === 'event') message = undefined;
      else if (t.name === 'enum') enumName = undefined;
      continue;
    }
    switch (t.name) {
      case 'interface':
        iface = { name: t.attrs.name!, version: parseNumber(t.attrs.version!, t.attrs.name!), requests: [], events: [], enums: {} };
        out.push(iface);
        break;
      case 'request':
      case 'event': {
        if (!iface) throw new Error(`${t.name} outside an interface`);
        const m: MessageOut = { name: t.attrs.name!, since: t.attrs.since ? parseNumber(t.attrs.since, t.attrs.name!) : 1, args: [] };
        if (t.attrs.type === 'destructor') m.destructor = true;
        (t.name === 'request' ? iface.requests : iface.events).push(m);
        message = t.selfClose ? undefined : m;
        break;
      }
      case 'arg': {
        if (!message || !iface) throw new Error('arg outside a message');
        const type = t.attrs.type!;
        if (!ARG_TYPES.has(type)) throw new Error(`${iface.name}.${message.name}: unknown arg type ${type}`);
        const a: ArgOut = { name: t.attrs.name!, type };
        if (t.attrs.interface) a.interface = t.attrs.interface;
        if (t.attrs['allow-null'] === 'true') a.nullable = true;
        if (t.attrs.enum) a.enum = t.attrs.enum;
        message.args.push(a);
        break;
      }
      case 'enum':
        if (!iface) throw new Error('enum outside an interface');
        enumName = t.attrs.name!;
        iface.enums[enumName] = {};
        break;
      case 'entry':
        if (!iface || enumName === undefined) throw new Error('entry outside an enum');
        iface.enums[enumName]![t.attrs.name!] = parseNumber(t.attrs.value!, `${iface.name}.${enumName}`);
        break;
      default:
        break;
    }
  }
  return out;
}

function emit(source: string, interfaces: InterfaceOut[]): string {
  const lines = [
    `// Generated by tools/wayland-scan.ts from ${source}. Do not edit: run \`npm run gen:wayland\`.`,
    '// Signatures only (names, versions, argument types, enums); no protocol prose.',
    "import type { InterfaceSpec } from '../spec';",
    '',
  ];
  for (const i of interfaces) {
    lines.push(`export const ${i.name}: InterfaceSpec = ${JSON.stringify(i)};`);
  }
  lines.push('');
  return lines.join('\n');
}

const outDir = process.argv[2] ?? join(__dirname, '..', 'lib', 'wayland', 'protocol');
for (const s of SOURCES) {
  if (s.optional && !existsSync(s.xml)) {
    console.log(`${s.out}: kept (no ${s.xml} here)`);
    continue;
  }
  const interfaces = scan(readFileSync(s.xml, 'utf8'));
  writeFileSync(join(outDir, s.out), emit(s.xml, interfaces));
  console.log(`${s.out}: ${interfaces.map((i) => `${i.name} v${i.version}`).join(', ')}`);
}

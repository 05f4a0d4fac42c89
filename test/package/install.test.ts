/**
 * The package a user installs: `npm pack`, then install the tarball into a fresh
 * project outside the repository, offline (every dependency from a local tarball,
 * the registry pointed at a dead loopback port), with only `node` on PATH (no
 * compiler, no python, no make), and run a compositor and a client from it.
 * Run with `npm run test:package` (CI runs it); ~40 s, most of it the two prebuilds.
 */
import { expect } from 'chai';
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { chmodSync, copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, posix } from 'node:path';

const ROOT = join(__dirname, '..', '..');
// npm's own CLI, run with this node: `npm run` says where it is; else where node's installers put it.
const NPM_CLI = process.env.npm_execpath ?? join(dirname(process.execPath), '..', 'lib', 'node_modules', 'npm', 'bin', 'npm-cli.js');
/** The dependencies the package declares, packed from this checkout's node_modules. */
const RUNTIME_DEPENDENCIES = ['eventemitter3', 'node-addon-api', 'node-gyp-build'];

/** ELF e_machine values. */
const EM_X86_64 = 62;
const EM_AARCH64 = 183;

interface Packed {
  dir: string;
  tarball: string;
  files: string[];
  manifest: Record<string, unknown> & { scripts?: Record<string, string>; dependencies?: Record<string, string> };
}

function run(cmd: string, args: string[], options: { cwd: string; env?: NodeJS.ProcessEnv }): { code: number | null; out: string } {
  const res = spawnSync(cmd, args, { cwd: options.cwd, env: options.env ?? process.env, encoding: 'utf8', maxBuffer: 64 << 20 });
  return { code: res.status, out: `${res.stdout}${res.stderr}` };
}

describe('the packed package, installed offline on a machine without a compiler', function () {
  this.timeout(240000);
  let packed: Packed;
  let app: string;
  /** PATH for the user's side: a directory holding nothing but `node`. */
  let bareEnv: NodeJS.ProcessEnv;

  before(() => {
    const dir = mkdtempSync(join(tmpdir(), 'bufshare-package-'));
    // prepack builds the TypeScript and both prebuilt addons (scripts/prebuild.sh).
    const pack = run(process.execPath, [NPM_CLI, 'pack', '--pack-destination', dir], { cwd: ROOT });
    expect(pack.code, pack.out).to.equal(0);
    const tarball = join(dir, readdirSync(dir).find((f) => f.endsWith('.tgz'))!);
    const files = execFileSync('tar', ['-tzf', tarball], { encoding: 'utf8' }).split('\n').filter(Boolean).map((f) => f.replace(/^package\//, ''));
    const manifest = JSON.parse(execFileSync('tar', ['-xzOf', tarball, 'package/package.json'], { encoding: 'utf8' })) as Packed['manifest'];
    packed = { dir, tarball, files, manifest };

    const bin = join(dir, 'bin');
    mkdirSync(bin);
    symlinkSync(process.execPath, join(bin, 'node'));
    bareEnv = { PATH: bin, HOME: join(dir, 'home'), LANG: 'C' };
    expect(run('/bin/sh', ['-c', 'command -v node'], { cwd: dir, env: bareEnv }).code, 'node on the bare PATH').to.equal(0);
    for (const tool of ['g++', 'gcc', 'cc', 'c++', 'make', 'python3', 'python']) {
      expect(run('/bin/sh', ['-c', `command -v ${tool}`], { cwd: dir, env: bareEnv }).code, `${tool} on the bare PATH`).to.not.equal(0);
    }

    const deps = join(dir, 'deps');
    mkdirSync(deps);
    const dependencies: Record<string, string> = { bufshare: `file:${tarball}` };
    for (const name of RUNTIME_DEPENDENCIES) {
      const res = run(process.execPath, [NPM_CLI, 'pack', join(ROOT, 'node_modules', name), '--ignore-scripts', '--pack-destination', deps], { cwd: dir });
      expect(res.code, res.out).to.equal(0);
      dependencies[name] = `file:${join(deps, readdirSync(deps).find((f) => f.startsWith(`${name}-`))!)}`;
    }
    app = join(dir, 'app');
    mkdirSync(app);
    writeFileSync(join(app, 'package.json'), JSON.stringify({ name: 'bufshare-user', private: true, dependencies }, null, 2));
  });

  after(() => {
    if (packed) rmSync(packed.dir, { recursive: true, force: true });
  });

  it('ships both prebuilt addons (x86-64 and aarch64 ELF), the compiled library, its types and the docs; no demos, tests or build directory', () => {
    const elfMachine = (file: string): number => {
      const head = execFileSync('tar', ['-xzOf', packed.tarball, `package/${file}`]).subarray(0, 20);
      expect(head.subarray(0, 4).toString('latin1'), file).to.equal('\x7fELF');
      return head.readUInt16LE(18);
    };
    expect(elfMachine('prebuilds/linux-x64/bufshare.napi.glibc.node')).to.equal(EM_X86_64);
    expect(elfMachine('prebuilds/linux-arm64/bufshare.napi.glibc.node')).to.equal(EM_AARCH64);
    for (const f of ['dist/lib/index.js', 'dist/lib/index.d.ts', 'dist/lib/protocol.d.ts', 'dist/lib/probe/index.d.ts', 'dist/lib/cli/bufshare-probe.js', 'binding.gyp', 'src-native/addon.cc']) {
      expect(packed.files, f).to.include(f);
    }
    expect(packed.files.filter((f) => /^(dist\/(demos|test|examples|bench)|build|demos|test)\//.test(f))).to.deep.equal([]);
    // Every relative link of the README, and of the docs pages it links, resolves inside the package.
    const linksOf = (page: string): string[] => [...readFileSync(join(ROOT, page), 'utf8').matchAll(/\]\(((?!https?:|#)[^)#\s]+)/g)]
      .map((m) => posix.normalize(posix.join(posix.dirname(page), m[1]!)));
    const links = linksOf('README.md');
    expect(links).to.include.members(['docs/hardware.md', 'docs/guide.md']);
    for (const page of links.filter((l) => l.startsWith('docs/') && l.endsWith('.md'))) links.push(...linksOf(page));
    expect(links).to.include('docs/probe-schema.md');
    for (const link of links) expect([...packed.files, 'README.md'], `README link ${link}`).to.include(link);
  });

  it('declares no install script, only its runtime dependencies, and where it comes from', () => {
    const scripts = packed.manifest.scripts ?? {};
    for (const s of ['preinstall', 'install', 'postinstall', 'prepare']) expect(scripts, s).to.not.have.property(s);
    expect(packed.manifest.gypfile).to.equal(false); // else npm adds `node-gyp rebuild` for binding.gyp
    expect(Object.keys(packed.manifest.dependencies ?? {}).sort()).to.deep.equal(RUNTIME_DEPENDENCIES);
    for (const field of ['repository', 'homepage', 'bugs']) expect(packed.manifest, field).to.have.property(field);
  });

  it('keeps @internal declarations out of the .d.ts files', () => {
    const dts = packed.files.filter((f) => f.endsWith('.d.ts'));
    expect(dts.length).to.be.greaterThan(10);
    const text = execFileSync('tar', ['-xzOf', packed.tarball, ...dts.map((f) => `package/${f}`)], { encoding: 'utf8', maxBuffer: 64 << 20 });
    expect(text).to.not.include('@internal');
  });

  it('installs offline with only node on PATH: nothing compiled, nothing downloaded, no install-script warning', () => {
    const res = run(process.execPath, [NPM_CLI, 'install', '--offline', '--cache', join(packed.dir, 'cache'), '--registry', 'http://127.0.0.1:9/', '--no-audit', '--no-fund'], { cwd: app, env: bareEnv });
    expect(res.code, res.out).to.equal(0);
    expect(res.out).to.not.match(/install-scripts|gyp/);
    expect(existsSync(join(app, 'node_modules', 'bufshare', 'build')), 'a source build').to.equal(false);
    expect(existsSync(join(app, 'node_modules', 'ws')) || existsSync(join(app, 'node_modules', 'pngjs')), 'demo dependencies').to.equal(false);
  });

  it('runs the README compositor and client from the installed package; the main entry point leaves the wire level to bufshare/protocol', async () => {
    copyFileSync(join(ROOT, 'dist', 'examples', 'compositor.js'), join(app, 'compositor.js'));
    copyFileSync(join(ROOT, 'dist', 'examples', 'client.js'), join(app, 'client.js'));
    const exportsOf = (entry: string): string[] => JSON.parse(execFileSync('node', ['-e', `console.log(JSON.stringify(Object.keys(require('${entry}'))))`], { cwd: app, env: bareEnv, encoding: 'utf8' })) as string[];
    const main = exportsOf('bufshare');
    expect(main).to.include.members(['BufferServer', 'BufferClient', 'ShmAllocator', 'Region']);
    expect(main).to.not.include.members(['Connection']);
    expect(main.filter((n) => /^(encode|decode)|^(Connection|Listener|Opcode)$/.test(n))).to.deep.equal([]);
    expect(exportsOf('bufshare/protocol')).to.include.members(['Connection', 'Listener', 'Opcode', 'encodeHello', 'decodeServerMessage']);
    expect(exportsOf('bufshare/probe')).to.include('probeMachine');

    const runDir = join(packed.dir, 'run');
    mkdirSync(runDir);
    chmodSync(runDir, 0o700);
    const sock = join(runDir, 'bufshare-0');
    const compositor = spawn('node', ['compositor.js', sock], { cwd: app, env: bareEnv, stdio: ['ignore', 'pipe', 'pipe'] });
    let compositorOut = '';
    compositor.stdout.on('data', (d: Buffer) => (compositorOut += d.toString()));
    compositor.stderr.on('data', (d: Buffer) => (compositorOut += d.toString()));
    const exited = new Promise<number | null>((resolve) => compositor.on('close', (code) => resolve(code)));
    try {
      const deadline = Date.now() + 20000;
      while (!compositorOut.includes('listening on') && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
      expect(compositorOut).to.include(`listening on ${sock}`);
      const client = run('node', ['client.js', sock], { cwd: app, env: bareEnv });
      expect(client.code, client.out).to.equal(0);
      expect(client.out).to.include('surface: shm buffers, direct access');
      while (!/left:/.test(compositorOut) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    } finally {
      compositor.kill('SIGTERM');
    }
    expect(await exited, compositorOut).to.equal(0);
    const frames = compositorOut.split('\n').filter((l) => l.startsWith('frame:'));
    expect(frames, compositorOut).to.have.length(10);
    expect(frames[0]).to.equal('frame: 1 rect(s), 76800 px damaged, centre 0xff0000ff');
    expect(frames[9]).to.equal('frame: 1 rect(s), 76800 px damaged, centre 0xffe1001e');
  });

  it('runs the README\'s scene compositor from the installed package: bufshare/scene and bufshare/kms resolve, a client\'s window reaches its PNG', async () => {
    copyFileSync(join(ROOT, 'dist', 'examples', 'scene-compositor.js'), join(app, 'scene-compositor.js'));
    const exportsOf = (entry: string): string[] => JSON.parse(execFileSync('node', ['-e', `console.log(JSON.stringify(Object.keys(require('${entry}'))))`], { cwd: app, env: bareEnv, encoding: 'utf8' })) as string[];
    expect(exportsOf('bufshare/scene')).to.include.members(['Scene', 'SceneBuffer', 'SceneSeat', 'HeadlessOutput', 'KmsSceneOutput', 'followSource']);
    expect(exportsOf('bufshare/kms')).to.include.members(['KmsOutput', 'KmsDevice']);
    expect(exportsOf('bufshare/input')).to.include.members(['InputDevices', 'EvdevDevice', 'attachInput', 'classify']);
    const runDir = join(packed.dir, 'run-scene');
    mkdirSync(runDir);
    chmodSync(runDir, 0o700);
    const png = join(runDir, 'screen.png');
    const sock = join(runDir, 'bufshare-0');
    const compositor = spawn('node', ['scene-compositor.js', png, join(runDir, 'wayland-scene'), sock], { cwd: app, env: bareEnv, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    compositor.stdout.on('data', (d: Buffer) => (out += d.toString()));
    compositor.stderr.on('data', (d: Buffer) => (out += d.toString()));
    const exited = new Promise<number | null>((resolve) => compositor.on('close', (code) => resolve(code)));
    try {
      const deadline = Date.now() + 20000;
      while (!out.includes('bufshare:') && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
      const client = run('node', ['client.js', sock], { cwd: app, env: bareEnv });
      expect(client.code, client.out).to.equal(0);
      while (!/wrote .*screen\.png: [01] window/.test(out.slice(out.indexOf('window "'))) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
      expect(out).to.match(/window "\d+" 320x240/);
    } finally {
      compositor.kill('SIGTERM');
    }
    expect(await exited, out).to.equal(0);
    expect(readFileSync(png).subarray(1, 4).toString('latin1')).to.equal('PNG');
  });

  it('the installed bufshare-probe runs and reports', () => {
    const res = run(join(app, 'node_modules', '.bin', 'bufshare-probe'), ['--json'], { cwd: app, env: bareEnv });
    expect(res.code, res.out).to.be.oneOf([0, 1]);
    const report = JSON.parse(res.out.slice(res.out.indexOf('{'))) as { tool: string; verdict: { software: boolean } };
    expect(report.tool).to.equal('bufshare-probe');
    expect(report.verdict.software).to.equal(true);
  });

  it('without a binary for the platform: the pure-JS parts work, the rest throws ERR_BUFSHARE_NATIVE_UNAVAILABLE saying why', () => {
    // A copy of the installed project whose package lacks the linux-x64 binary, as
    // on a platform nothing was prebuilt for.
    const bare = join(packed.dir, 'app-no-binary');
    execFileSync('cp', ['-a', app, bare]);
    rmSync(join(bare, 'node_modules', 'bufshare', 'prebuilds', 'linux-x64'), { recursive: true });
    const script = [
      "const { Region, computeLayout, lookupFormat, ShmAllocator } = require('bufshare');",
      "const { encodeHello, decodeClientMessage } = require('bufshare/protocol');",
      'const area = Region.of({ x: 0, y: 0, width: 4, height: 4 }).area;',
      "const stride = computeLayout(16, 16, lookupFormat('XRGB8888'), 64, 4096).stride;",
      "const op = decodeClientMessage(encodeHello('x')).op;",
      'let error;',
      "try { new ShmAllocator().allocate({ width: 8, height: 8, format: 'XRGB8888' }); } catch (e) { error = { code: e.code, message: e.message }; }",
      'console.log(JSON.stringify({ area, stride, op, error }));',
    ].join('\n');
    const out = JSON.parse(execFileSync('node', ['-e', script], { cwd: bare, env: bareEnv, encoding: 'utf8' })) as { area: number; stride: number; op: string; error?: { code: string; message: string } };
    expect(out).to.deep.include({ area: 16, stride: 64, op: 'hello' });
    expect(out.error?.code).to.equal('ERR_BUFSHARE_NATIVE_UNAVAILABLE');
    expect(out.error?.message).to.include('No native build was found').and.include(`cd ${join(bare, 'node_modules', 'bufshare')} && npx node-gyp rebuild`);
  });

  it('type-checks a TypeScript user of the installed package (bufshare, bufshare/protocol, bufshare/probe)', () => {
    writeFileSync(join(app, 'user.ts'), [
      "import { BufferServer, Region, type Rect } from 'bufshare';",
      "import { encodeHello, Connection } from 'bufshare/protocol';",
      "import { probeMachine } from 'bufshare/probe';",
      'const r: Rect = { x: 0, y: 0, width: 1, height: 1 };',
      'export const used = [BufferServer, Region.of(r), encodeHello, Connection, probeMachine];',
      '',
    ].join('\n'));
    writeFileSync(join(app, 'tsconfig.json'), JSON.stringify({
      compilerOptions: { module: 'node16', moduleResolution: 'node16', target: 'ES2022', strict: true, noEmit: true, skipLibCheck: false, types: ['node'], typeRoots: [join(ROOT, 'node_modules', '@types')] },
      files: ['user.ts'],
    }));
    const res = run(process.execPath, [join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', 'tsconfig.json'], { cwd: app });
    expect(res.code, res.out).to.equal(0);
  });
});

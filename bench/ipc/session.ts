/**
 * A benchmark session: one server process and some client processes, started
 * for a measurement and stopped after it whatever happens.
 */
import type { ClientStats, ServerMode, ServerStats } from './peer';
import { spawnPeer, type Peer } from './rpc';

export interface SurfaceSpec {
  readonly width: number;
  readonly height: number;
  readonly bufferCount: 2 | 3;
  readonly usage: 'software' | 'hardware';
  /** Draw every buffer whole once at the start, so its pages exist. */
  readonly fill: boolean;
}

export interface Session {
  readonly server: Peer;
  readonly path: string;
  readonly echoPath: string;
  /** The echo on bufshare's own transport. */
  readonly seqEchoPath: string;
  /** The net Unix-socket frame sink (the peer baseline: pixels through a socket). */
  readonly frameSinkPath: string;
  /** Set when the server cannot run in this mode here; the session has nothing else. */
  readonly skip?: string;
  readonly clients: Peer[];
  serverStats(): Promise<ServerStats>;
  /** Starts one client process with `count` connections, one surface each. */
  addClients(count: number, surface: SurfaceSpec): Promise<{ peer: Peer; kind: string; access: string }>;
  close(): Promise<void>;
}

export async function startSession(mode: ServerMode): Promise<Session> {
  const server = spawnPeer('server');
  const clients: Peer[] = [];
  const close = async (): Promise<void> => {
    await Promise.all(clients.map((c) => c.stop()));
    await server.stop();
  };
  try {
    const started = await server.call<{ path: string; echoPath: string; seqEchoPath: string; frameSinkPath?: string; skip?: string }>('start', { mode });
    return {
      server,
      path: started.path,
      echoPath: started.echoPath,
      seqEchoPath: started.seqEchoPath,
      frameSinkPath: started.frameSinkPath ?? '',
      ...(started.skip !== undefined ? { skip: started.skip } : {}),
      clients,
      serverStats: () => server.call<ServerStats>('stats'),
      async addClients(count, surface) {
        const peer = spawnPeer('client');
        clients.push(peer);
        const got = await peer.call<{ kind: string; access: string }>('connect', { path: started.path, count, ...surface });
        return { peer, ...got };
      },
      close,
    };
  } catch (e) {
    await close();
    throw e;
  }
}

export type { ClientStats, ServerStats };

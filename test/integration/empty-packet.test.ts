import { expect } from 'chai';
import { BufferServer } from '../../lib';
import { encodeHello } from '../../lib/protocol';
import * as native from '../../lib/native';
import { tempSocketDir } from '../helpers/ipc';
import { RawPeer } from '../helpers/raw-peer';

describe('an empty (0-byte) packet', function () {
  this.timeout(20000);
  let sock: ReturnType<typeof tempSocketDir>;
  let server: BufferServer;
  beforeEach(async () => {
    sock = tempSocketDir();
    server = BufferServer.listen({ path: sock.path });
  });
  afterEach(async () => {
    await server.close();
    sock.cleanup();
  });

  it('from a peer that is still connected is a malformed message: an error, then the disconnect', async () => {
    for (const greet of [false, true]) {
      const peer = new RawPeer(server.path);
      if (greet) {
        peer.send(encodeHello());
        await peer.next('welcome');
      }
      peer.send(new Uint8Array(0));
      const error = await peer.fatalError();
      expect(error.code).to.equal('ERR_BUFSHARE_PROTOCOL');
      expect(error.message).to.match(/shorter than its 4-byte opcode/);
    }
  });

  it('is still told apart from the end of the stream: a peer that just closes is a plain disconnect', async () => {
    const reason = new Promise<string>((resolve) => server.once('disconnect', (_c, r) => resolve(r)));
    const fd = native.seqpacketConnect(server.path);
    const hello = encodeHello();
    const socket = native.openSeqPacket(fd, () => undefined);
    socket.send(hello);
    socket.close();
    expect(await reason).to.equal('the peer closed the connection');
  });
});

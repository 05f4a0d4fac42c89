/**
 * A WaylandServer in its own process, for the limit tests whose failure would
 * end the server (an uncaught accept() error) or that need their own fd limit:
 * listens at argv[2] with the WaylandServerOptions in argv[3] (JSON), and
 * prints a line for each event the tests look for:
 *   listening
 *   error <code> <errno> <message>  the server's 'error' event
 *   disconnect <reason>             a client ended
 */
import { WaylandServer, type WaylandServerOptions } from '../../lib/wayland/server';

const options = JSON.parse(process.argv[3] ?? '{}') as WaylandServerOptions;
const server = WaylandServer.listen({ dmabufDevice: false, ...options, name: process.argv[2]! });
server.on('error', (e) => console.log(`error ${e.code} ${e.errno ?? '-'} ${e.message}`));
server.on('disconnect', (_c, reason) => console.log(`disconnect ${reason}`));
console.log('listening');

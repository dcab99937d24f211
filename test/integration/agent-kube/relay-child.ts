// Test-only child, run inside a network namespace: listens on
// 127.0.0.1:PORT there and forwards every connection to a unix socket, which
// (the filesystem being shared across network namespaces) reaches the
// host-side half of the relay and through it the kube-apiserver.
// Usage: relay-child.ts PORT SOCKET_PATH; prints "listening" when ready.
import { connect, createServer, type Socket } from 'node:net';

const [portText, socketPath] = process.argv.slice(2);
if (!portText || !socketPath) {
  process.stderr.write('usage: relay-child.ts PORT SOCKET_PATH\n');
  process.exit(2);
}

function splice(a: Socket, b: Socket): void {
  a.pipe(b);
  b.pipe(a);
  // A reset or close on one side ends the other: a stopped apiserver must
  // look like a dropped connection to the agent, not a hang.
  const end = () => {
    a.destroy();
    b.destroy();
  };
  for (const s of [a, b]) {
    s.on('error', end);
    s.on('close', end);
  }
}

const server = createServer((client) => splice(client, connect(socketPath)));
server.listen(Number(portText), '127.0.0.1', () => process.stdout.write('listening\n'));
process.on('SIGTERM', () => process.exit(0));

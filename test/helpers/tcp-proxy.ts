import net from 'node:net';
import { freePort } from './ports.js';

export interface TcpProxy {
  port: number;
  /** Connections open now, the most open at once, and all accepted so far. */
  active: number;
  max: number;
  total: number;
  stop(): Promise<void>;
}

/**
 * A counting TCP pass-through on 127.0.0.1 (TLS goes through untouched): put it in front of a real
 * server to observe, from outside the app, how many connections the app opens at once. `listenHost`
 * may be another loopback address (127.0.0.2, …) so that one server looks like several hosts.
 */
export async function startProxy(targetPort: number, listenHost = '127.0.0.1', opts: { delayMs?: number; port?: number } = {}): Promise<TcpProxy> {
  // A port may be chosen beforehand, for an app whose mail port allow-list is set before the proxy starts.
  const port = opts.port ?? (await freePort());
  const sockets = new Set<net.Socket>();
  const proxy: TcpProxy = {
    port,
    active: 0,
    max: 0,
    total: 0,
    stop: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
  const server = net.createServer((client) => {
    proxy.active++;
    proxy.total++;
    proxy.max = Math.max(proxy.max, proxy.active);
    const upstream = new net.Socket();
    sockets.add(client);
    sockets.add(upstream);
    let closed = false;
    const close = () => {
      if (closed) return;
      closed = true;
      proxy.active--;
      client.destroy();
      upstream.destroy();
      sockets.delete(client);
      sockets.delete(upstream);
    };
    client.on('error', close).on('close', close);
    upstream.on('error', close).on('close', close);
    // With a delay, the server is reached only after it (a slow network: the app's check stays in
    // flight); until then what the client sends waits in its socket.
    const connect = () => {
      if (closed) return;
      upstream.connect(targetPort, '127.0.0.1');
      client.pipe(upstream);
      upstream.pipe(client);
    };
    if (opts.delayMs) setTimeout(connect, opts.delayMs);
    else connect();
  });
  await new Promise<void>((resolve) => server.listen(port, listenHost, () => resolve()));
  return proxy;
}

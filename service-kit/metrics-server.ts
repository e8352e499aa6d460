import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Registry } from 'prom-client';

// `GET /metrics` on a port of its own, for the services that have no HTTP API to hang it on
// (the engine and the shipping agent; the gateway serves it as one of its routes), and any JSON
// probes the service adds (the engine's `GET /health`).

/** A probe's answer: its HTTP status and a JSON body. */
export type Probe = () => { readonly status: number; readonly body: unknown };

/** Serves the registry; resolves with the bound port once listening (0 picks a free one). */
export async function serveMetrics(
  registry: Registry,
  port: number,
  host: string,
  probes: Readonly<Record<string, Probe>> = {},
): Promise<{ server: Server; port: number }> {
  const server = createServer((request, response) => {
    const path = request.url?.split('?')[0] ?? '';
    const probe = Object.hasOwn(probes, path) ? probes[path] : undefined;
    if (request.method === 'GET' && probe !== undefined) {
      const { status, body } = probe();
      response.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
      return;
    }
    if (request.method !== 'GET' || path !== '/metrics') {
      response.writeHead(404, { 'content-type': 'text/plain' }).end('not found\n');
      return;
    }
    registry.metrics().then(
      (text) => response.writeHead(200, { 'content-type': registry.contentType }).end(text),
      (error: unknown) =>
        response.writeHead(500, { 'content-type': 'text/plain' }).end(`${String(error)}\n`),
    );
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  return { server, port: (server.address() as AddressInfo).port };
}

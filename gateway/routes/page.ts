import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { FastifyInstance } from 'fastify';

// The live page: plain HTML + JS, no build step. Read once at start (the gateway runs from dist/,
// the files stay in the source tree).

const PUBLIC_DIR = fileURLToPath(
  new URL(
    import.meta.url.includes('/dist/') ? '../../../gateway/public/' : '../public/',
    import.meta.url,
  ),
);

const FILES = [
  { url: '/', file: 'index.html', type: 'text/html; charset=utf-8' },
  { url: '/app.js', file: 'app.js', type: 'text/javascript; charset=utf-8' },
  { url: '/style.css', file: 'style.css', type: 'text/css; charset=utf-8' },
] as const;

export function registerPageRoutes(app: FastifyInstance): void {
  for (const { url, file, type } of FILES) {
    const body = readFileSync(join(PUBLIC_DIR, file));
    app.get(url, { schema: { hide: true } }, async (_request, reply) =>
      reply.type(type).header('cache-control', 'no-cache').send(body),
    );
  }
}

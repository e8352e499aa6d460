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

/**
 * The ALTCHA widget the waiting room's proof of work is solved with, served from this gateway (no
 * third-party service): the version package.json pins, matching altcha-lib's challenge format.
 */
const ALTCHA_WIDGET_FILE = fileURLToPath(new URL('altcha.min.js', import.meta.resolve('altcha')));

export function registerPageRoutes(app: FastifyInstance): void {
  const files = [
    ...FILES.map(({ url, file, type }) => ({ url, path: join(PUBLIC_DIR, file), type })),
    { url: '/altcha.js', path: ALTCHA_WIDGET_FILE, type: 'text/javascript; charset=utf-8' },
  ];
  for (const { url, path, type } of files) {
    const body = readFileSync(path);
    app.get(url, { schema: { hide: true } }, async (_request, reply) =>
      reply.type(type).header('cache-control', 'no-cache').send(body),
    );
  }
}

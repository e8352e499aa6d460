import Fastify from 'fastify';

// The baseline of bench:http, in a process of its own as the gateway is: the least a Fastify
// process does for the same request — route it, parse its JSON body, send a small JSON reply —
// with no auth, validation, logging, NATS or engine. Tells its parent its port over IPC.

const app = Fastify({ logger: false, forceCloseConnections: true });
app.post('/v1/sales/:saleId/orders', async (_request, reply) => reply.code(201).send({ ok: true }));
await app.listen({ port: 0, host: '127.0.0.1' });
const address = app.server.address();
process.send?.({ port: typeof address === 'object' && address !== null ? address.port : 0 });
// A load generator's keep-alive connections would hold a graceful close open: just go.
process.on('SIGTERM', () => process.exit(0));

import { drawOrder, SEED_PATTERN, sha256Hex } from '../engine/protocol/index.js';
import { readCommandLine, UsageError } from './cli/command-line.js';
import { requestJson } from './client/http-json.js';

// `npm run draw -- --url http://localhost:3000/v1/sales/demo/draw` (or `--seed HEX --lobby
// 1,2,3 [--seed-hash HEX]`): re-runs a waiting room's draw from its published seed and lobby
// (entry ids in join order) and prints each entry's ticket, one "ticket entryId" line each. It
// checks first that the seed is the one whose hash was published when the lobby opened. The
// shuffle is engine/core/draw.ts's, documented in docs/architecture.md. Exit 0; 1 when the
// seed does not match its hash or the draw is not done yet; 64 on a bad command line.

const USAGE = `usage: npm run draw -- --url URL
       npm run draw -- --seed HEX --lobby ID,ID,... [--seed-hash HEX]
  --url URL         a gateway's GET /v1/sales/:saleId/draw, read for all three
  --seed HEX        the published seed (64 hex characters)
  --lobby IDS       the lobby's entry ids in join order, comma-separated
  --seed-hash HEX   the hash published when the lobby opened, checked against the seed`;

interface DrawInput {
  readonly seed?: string;
  readonly seedHash?: string | null;
  readonly lobby?: readonly string[];
}

const options = readCommandLine(
  USAGE,
  {
    url: { type: 'string' },
    seed: { type: 'string' },
    lobby: { type: 'string' },
    'seed-hash': { type: 'string' },
  },
  (values) => {
    if (values.url === undefined && (values.seed === undefined || values.lobby === undefined))
      throw new UsageError('give --url, or --seed and --lobby');
    return values;
  },
);

async function input(): Promise<DrawInput> {
  if (options.url === undefined)
    return {
      seed: options.seed,
      seedHash: options['seed-hash'] ?? null,
      lobby: (options.lobby ?? '').split(',').filter((id) => id.length > 0),
    };
  const reply = await requestJson(options.url);
  if (reply.status !== 200)
    throw new Error(`${options.url}: ${reply.status} ${JSON.stringify(reply.body)}`);
  return reply.body as DrawInput;
}

const draw = await input();
if (draw.seed === undefined || draw.lobby === undefined) {
  console.error('the draw is not done yet: only the seed hash is published');
  process.exit(1);
}
if (!SEED_PATTERN.test(draw.seed)) {
  console.error('the seed is not 64 lowercase hex characters');
  process.exit(1);
}
if (draw.seedHash != null && sha256Hex(draw.seed) !== draw.seedHash) {
  console.error(
    `SHA-256 of the seed is ${sha256Hex(draw.seed)}, not the published ${draw.seedHash}`,
  );
  process.exit(1);
}
drawOrder(draw.seed, draw.lobby).forEach((entryId, index) => {
  console.log(`${index + 1} ${entryId}`);
});

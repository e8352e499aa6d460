import { parseArgs } from 'node:util';
import { JWT_SECRET_DEVELOPMENT } from '../gateway/config.js';
import { mintToken, TOKEN_TTL_S_DEFAULT } from './lib/tokens.js';

// `npm run token -- --sub alice [--admin] [--ttl 3600]`: prints a token signed with JWT_SECRET
// (or the development default), for curl and the live page.

const { values } = parseArgs({
  options: {
    sub: { type: 'string', default: 'demo-customer' },
    admin: { type: 'boolean', default: false },
    ttl: { type: 'string', default: String(TOKEN_TTL_S_DEFAULT) },
  },
});
const ttlS = Number(values.ttl);
if (!Number.isInteger(ttlS)) {
  console.error('--ttl takes whole seconds');
  process.exit(2);
}
const secret = process.env.JWT_SECRET ?? JWT_SECRET_DEVELOPMENT;
console.log(
  mintToken(secret, { sub: values.sub, ttlS, ...(values.admin ? { role: 'admin' } : {}) }),
);

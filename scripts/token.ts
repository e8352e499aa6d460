import { CUSTOMER_ID_CHARS_MAX } from '../engine/protocol/index.js';
import { JWT_SECRET_DEVELOPMENT } from '../gateway/config.js';
import { readCommandLine, UsageError, wholeNumber } from './cli/command-line.js';
import { mintToken, TOKEN_TTL_S_DEFAULT } from './client/tokens.js';

// `npm run token -- --sub alice [--admin] [--ttl 3600]`: prints a token signed with JWT_SECRET
// (or the development default), for curl and the live page. Exit 0, or 64 on a bad command line.

const SUB_DEFAULT = 'demo-customer';

const USAGE = `usage: npm run token -- [options]
  --sub ID      the customer id the token names, 1-${CUSTOMER_ID_CHARS_MAX} characters
                (default ${SUB_DEFAULT})
  --admin       an admin token (role "admin"), for the admin routes
  --ttl S       whole seconds until it expires, ≥ 1 (default ${TOKEN_TTL_S_DEFAULT})
  Signed with $JWT_SECRET, or the development secret when it is not set.`;

const settings = readCommandLine(
  USAGE,
  {
    sub: { type: 'string' },
    admin: { type: 'boolean' },
    ttl: { type: 'string' },
  },
  (values) => {
    const sub = values.sub ?? SUB_DEFAULT;
    // The gateway answers 401 to a token whose sub has another length: better said here.
    if (sub.length === 0 || sub.length > CUSTOMER_ID_CHARS_MAX)
      throw new UsageError(`--sub takes a customer id of 1-${CUSTOMER_ID_CHARS_MAX} characters`);
    return {
      sub,
      admin: values.admin === true,
      ttlS: wholeNumber('ttl', values.ttl, 1, TOKEN_TTL_S_DEFAULT),
    };
  },
);
const secret = process.env.JWT_SECRET ?? JWT_SECRET_DEVELOPMENT;
console.log(
  mintToken(secret, {
    sub: settings.sub,
    ttlS: settings.ttlS,
    ...(settings.admin ? { role: 'admin' } : {}),
  }),
);

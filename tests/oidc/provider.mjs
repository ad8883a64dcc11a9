// A real OpenID Connect provider (the oidc-provider package) on loopback, for the single
// sign-on browser tests. Usage: node provider.mjs CONFIG.json
//
// CONFIG: {"port": 0..65535, "clients": [{client_id, client_secret, redirect_uris}],
//          "accounts": [{sub, password, email, email_verified, name}],
//          "clock_offset_seconds": 0, "id_token_ttl": 300, "wrong_audience": ""}
//
// clock_offset_seconds moves this provider's clock (a provider whose clock is behind
// issues tokens that have already expired); wrong_audience, when set, replaces the
// audience of every ID token by that client id and signs it again with the provider's
// own key: a genuine token, made for another client.
// Prints "ready ISSUER" once it answers.

import { createPrivateKey, generateKeyPairSync, sign } from 'node:crypto';
import { readFileSync } from 'node:fs';

const config = JSON.parse(readFileSync(process.argv[2], 'utf8'));
const offset = (config.clock_offset_seconds || 0) * 1000;
if (offset) {
  const realNow = Date.now;
  Date.now = () => realNow() + offset;
}
const { default: Provider } = await import('oidc-provider');

const issuer = `http://127.0.0.1:${config.port}`;
const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
const jwk = { ...privateKey.export({ format: 'jwk' }), kid: 'test-key', alg: 'RS256', use: 'sig' };
const accounts = new Map(config.accounts.map((account) => [account.sub, account]));

const provider = new Provider(issuer, {
  clients: config.clients.map((client) => ({
    ...client,
    grant_types: ['authorization_code'],
    response_types: ['code'],
    token_endpoint_auth_method: 'client_secret_basic',
  })),
  jwks: { keys: [jwk] },
  cookies: { keys: ['test-provider-cookie-key'] },
  claims: { openid: ['sub'], email: ['email', 'email_verified'], profile: ['name'] },
  conformIdTokenClaims: false, // email in the ID token, as the common providers put it
  features: { devInteractions: { enabled: false } },
  pkce: { required: () => true },
  ttl: { IdToken: config.id_token_ttl || 300 },
  interactions: { url: (ctx, interaction) => `/interaction/${interaction.uid}` },
  async findAccount(ctx, sub) {
    const account = accounts.get(sub);
    if (!account) return undefined;
    return {
      accountId: sub,
      async claims() {
        return {
          sub, email: account.email, email_verified: account.email_verified, name: account.name,
        };
      },
    };
  },
});

function page(title, body) {
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>${title}</title></head>`
    + `<body><h1>${title}</h1>${body}</body></html>`;
}

function escape(text) {
  return String(text).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

async function form(ctx) {
  let raw = '';
  for await (const chunk of ctx.req) raw += chunk;
  return new URLSearchParams(raw);
}

async function grantAll(details) {
  const grant = details.grantId
    ? await provider.Grant.find(details.grantId)
    : new provider.Grant({ accountId: details.session.accountId, clientId: details.params.client_id });
  grant.addOIDCScope('openid email profile');
  return grant.save();
}

// The test account's sign-in page, and consent given at once (a first-party client).
provider.use(async (ctx, next) => {
  const match = ctx.path.match(/^\/interaction\/([\w-]+)(\/login)?$/);
  if (!match) return next();
  const details = await provider.interactionDetails(ctx.req, ctx.res);
  if (details.prompt.name === 'consent') {
    const grantId = await grantAll(details);
    return provider.interactionFinished(ctx.req, ctx.res, { consent: { grantId } }, {
      mergeWithLastSubmission: true,
    });
  }
  let problem = '';
  if (ctx.method === 'POST' && match[2]) {
    const fields = await form(ctx);
    const account = accounts.get(fields.get('username') || '');
    if (account && account.password === fields.get('password')) {
      return provider.interactionFinished(ctx.req, ctx.res, {
        login: { accountId: account.sub },
      }, { mergeWithLastSubmission: false });
    }
    problem = '<p role="alert">Wrong username or password</p>';
  }
  ctx.type = 'html';
  ctx.body = page('Test provider sign-in', `${problem}
    <form method="post" action="/interaction/${escape(details.uid)}/login">
      <label for="username">Username</label> <input id="username" name="username">
      <label for="password">Password</label> <input id="password" name="password" type="password">
      <button type="submit">Sign in to the test provider</button>
    </form>`);
  return undefined;
});

function b64(value) {
  return Buffer.from(typeof value === 'string' ? value : JSON.stringify(value)).toString('base64url');
}

// A token for another client: the same provider, the same key, another audience.
if (config.wrong_audience) {
  const key = createPrivateKey({ key: jwk, format: 'jwk' });
  provider.use(async (ctx, next) => {
    await next();
    if (ctx.path === '/token' && ctx.body && ctx.body.id_token) {
      const [header, payload] = ctx.body.id_token.split('.');
      const claims = JSON.parse(Buffer.from(payload, 'base64url'));
      claims.aud = config.wrong_audience;
      delete claims.azp;
      const input = `${header}.${b64(claims)}`;
      ctx.body = { ...ctx.body, id_token: `${input}.${sign('sha256', Buffer.from(input), key).toString('base64url')}` };
    }
  });
}

provider.listen(config.port, '127.0.0.1', () => {
  process.stdout.write(`ready ${issuer}\n`);
});

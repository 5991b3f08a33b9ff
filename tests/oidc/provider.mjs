// A real OpenID provider on loopback (panva's oidc-provider), the tests' stand-in for
// Google's issuer: node tests/oidc/provider.mjs PORT
//
// Clients (client_secret_basic or _post, PKCE S256 required, authorization code only):
//   STEPAUTH_OIDC_CLIENT_ID / STEPAUTH_OIDC_CLIENT_SECRET (default stepauth / stepauth-secret)
//   "other-app" / "other-secret": another application, for tokens of another audience.
// Each may redirect to any http://127.0.0.1 or http://localhost URI (the tests' servers).
//
// Accounts: the login form (the provider's own development interactions) takes any login;
// the account's email is the login's part after "|" if it has one, else the login (with
// "@example.com" added when it has no "@"); its subject is the login; its email is verified unless the login starts with "unverified", and
// its hosted domain (`hd`) the email's domain unless that is example.com.
//
// STEPAUTH_OIDC_KEYS_FILE (optional) shares the first signing key between two providers.
//
// POST /__rotate makes a new signing key the one tokens are signed with (the old one stays
// published); the answer is the new key's kid.
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { generateKeyPair, exportJWK } from 'jose';
import Provider from 'oidc-provider';

const port = Number(process.argv[2] || 4455);
const issuer = `http://127.0.0.1:${port}`;
const clientId = process.env.STEPAUTH_OIDC_CLIENT_ID || 'stepauth';
const clientSecret = process.env.STEPAUTH_OIDC_CLIENT_SECRET || 'stepauth-secret';

async function newKey(n) {
  const { privateKey } = await generateKeyPair('RS256', { extractable: true });
  const jwk = await exportJWK(privateKey);
  return { ...jwk, kid: `key-${n}-${Date.now()}`, alg: 'RS256', use: 'sig' };
}

function account(login) {
  const address = login.includes('|') ? login.split('|')[1] : login;
  const email = address.includes('@') ? address : `${address}@example.com`;
  const domain = email.split('@')[1];
  return {
    accountId: login,
    async claims() {
      const claims = { sub: login, email, email_verified: !login.startsWith('unverified'), name: login };
      if (domain !== 'example.com') claims.hd = domain;
      return claims;
    },
  };
}

const client = (id, secret) => ({
  client_id: id,
  client_secret: secret,
  grant_types: ['authorization_code'],
  response_types: ['code'],
  token_endpoint_auth_method: 'client_secret_basic',
  // A placeholder: any loopback URI is allowed below.
  redirect_uris: ['http://127.0.0.1/callback'],
});

function makeProvider(keys) {
  const provider = new Provider(issuer, {
    clients: [client(clientId, clientSecret), client('other-app', 'other-secret')],
    jwks: { keys },
    pkce: { required: () => true },
    claims: { openid: ['sub'], email: ['email', 'email_verified', 'hd'], profile: ['name'] },
    scopes: ['openid', 'email', 'profile'],
    // Google puts the email claims in the ID token itself.
    conformIdTokenClaims: false,
    features: { devInteractions: { enabled: true } },
    findAccount: async (_ctx, id) => account(id),
    // First-party clients: no consent screen after the login form.
    async loadExistingGrant(ctx) {
      const grantId = ctx.oidc.result?.consent?.grantId || ctx.oidc.session.grantIdFor(ctx.oidc.client.clientId);
      if (grantId) return ctx.oidc.provider.Grant.find(grantId);
      const grant = new ctx.oidc.provider.Grant({ clientId: ctx.oidc.client.clientId, accountId: ctx.oidc.session.accountId });
      grant.addOIDCScope('openid email profile');
      await grant.save();
      return grant;
    },
    ttl: { Session: 600, Interaction: 600, Grant: 600, AuthorizationCode: 60, AccessToken: 600, IdToken: 600 },
  });
  // Any loopback redirect URI is registered (the tests' servers pick free ports).
  const { redirectUriAllowed } = provider.Client.prototype;
  provider.Client.prototype.redirectUriAllowed = function allowed(uri) {
    return /^http:\/\/(127\.0\.0\.1|localhost)(:\d+)?\//.test(uri) || redirectUriAllowed.call(this, uri);
  };
  return provider;
}

// STEPAUTH_OIDC_KEYS_FILE: the signing key is read from this file if it exists, else made and
// written there, so that a second provider (another issuer) can sign with the same key.
const keysFile = process.env.STEPAUTH_OIDC_KEYS_FILE;
const keys = keysFile && existsSync(keysFile) ? JSON.parse(readFileSync(keysFile, 'utf8')) : [await newKey(1)];
if (keysFile && !existsSync(keysFile)) writeFileSync(keysFile, JSON.stringify(keys));
let provider = makeProvider(keys);

createServer((req, res) => {
  if (req.method === 'POST' && req.url === '/__rotate') {
    newKey(keys.length + 1).then((key) => {
      keys.unshift(key);
      provider = makeProvider([...keys]);
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.end(key.kid);
    });
    return;
  }
  provider.callback()(req, res);
}).listen(port, '127.0.0.1', () => console.log(`oidc-provider ${issuer} ready`));

// A relying party nobody here wrote: panva's jose, used as a downstream service uses it.
// From an access token's `iss` it reads the discovery document, fetches the keys it names,
// and verifies the token for the audience given (RS256 only).
//
//   node relying-party.mjs TOKEN AUDIENCE
//
// Prints {"ok": true, "sub": …} or {"ok": false, "error": <jose's error code>}.
import { createRemoteJWKSet, decodeJwt, jwtVerify } from "jose";

const [token, audience] = process.argv.slice(2);
try {
  const { iss } = decodeJwt(token);
  const response = await fetch(`${iss.replace(/\/$/, "")}/.well-known/openid-configuration`);
  const discovery = await response.json();
  if (discovery.issuer !== iss) throw Object.assign(new Error("issuer mismatch"), { code: "ISSUER_MISMATCH" });
  const keys = createRemoteJWKSet(new URL(discovery.jwks_uri));
  const { payload } = await jwtVerify(token, keys, {
    issuer: discovery.issuer,
    audience,
    algorithms: discovery.id_token_signing_alg_values_supported,
  });
  console.log(JSON.stringify({ ok: true, sub: payload.sub }));
} catch (error) {
  console.log(JSON.stringify({ ok: false, error: error.code ?? error.message }));
}

// A page of another origin calling the API from Chromium: the origin the API lists
// (STEPAUTH_ALLOWED_ORIGINS) signs up and in with the session cookies and reads the answers;
// an origin it does not list cannot read any answer, and its state changes never run.
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { PASSWORD, apiUser, launch, startHost, startServer } from "./helpers.mjs";

let allowedHost;
let otherHost;
let server;
let browser;

before(async () => {
  const page = () => "<!doctype html><title>host</title><p>The site that embeds stepauth.</p>";
  allowedHost = await startHost(page);
  otherHost = await startHost(page);
  server = await startServer(() => ({ STEPAUTH_ALLOWED_ORIGINS: allowedHost.origin }));
  browser = await launch();
});

after(async () => {
  await browser?.close();
  server?.stop();
  allowedHost?.close();
  otherHost?.close();
});

/** Runs `fetch` in a page of `origin` against the API: status and body, or the error. */
async function fetchFrom(page, path, init) {
  return page.evaluate(
    async ({ url, init }) => {
      try {
        const response = await fetch(url, { credentials: "include", ...init });
        return { status: response.status, body: await response.json() };
      } catch (error) {
        return { error: String(error) };
      }
    },
    { url: server.base + path, init },
  );
}

test("the listed origin calls the API with the session cookies; another origin cannot", async () => {
  const email = `cors-${Date.now()}@example.com`;
  await apiUser(server.base, email);
  const login = { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ email, password: PASSWORD }) };

  const context = await browser.newContext();
  const page = await context.newPage();
  await page.goto(`${allowedHost.origin}/`);
  const signedIn = await fetchFrom(page, "/auth/login", login);
  assert.equal(signedIn.status, 200, JSON.stringify(signedIn));
  const me = await fetchFrom(page, "/users/me", {});
  assert.equal(me.status, 200, "the access cookie set by the API went back to it");
  assert.equal(me.body.email, email);

  const other = await context.newPage();
  await other.goto(`${otherHost.origin}/`);
  const refused = await fetchFrom(other, "/auth/login", login);
  assert.match(refused.error ?? "", /TypeError|Failed to fetch/, JSON.stringify(refused));
  const read = await fetchFrom(other, "/users/me", {});
  assert.match(read.error ?? "", /TypeError|Failed to fetch/, "not even a read, with the cookie there");
  const logoutAll = await fetchFrom(other, "/auth/logout/all", { method: "POST" });
  assert.ok(logoutAll.error, "the answer is unreadable");
  const still = await fetchFrom(page, "/users/me", {});
  assert.equal(still.status, 200, "and the cookie-borne logout from the other origin changed nothing");
  await context.close();
});

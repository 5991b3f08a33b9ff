// Shared by the browser tests: the local server (README command one's binary) on a free
// port, Chromium from Debian driven by playwright-core, codes from the outbox, TOTP codes.
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { createHmac } from "node:crypto";
import { mkdirSync } from "node:fs";
import http from "node:http";
import net from "node:net";
import { fileURLToPath } from "node:url";
import { chromium } from "playwright-core";

export const PASSWORD = "Correct-Horse-7-Battery";
const root = fileURLToPath(new URL("../..", import.meta.url));
export const SCREENSHOTS = `${root}web/test-results`;
mkdirSync(SCREENSHOTS, { recursive: true });

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

function freePort() {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
    server.on("error", reject);
  });
}

/** Starts the local server (with `env` added); `stop()` ends it. */
export async function startServer(env = () => ({})) {
  const port = await freePort();
  const binary = process.env.STEPAUTH_LOCAL_BIN ?? `${root}target/debug/stepauth-local`;
  const child = spawn(binary, [], {
    env: { ...process.env, STEPAUTH_PORT: String(port), RUST_LOG: "warn", ...env(`http://127.0.0.1:${port}`) },
    stdio: ["ignore", "ignore", "inherit"],
  });
  const base = `http://127.0.0.1:${port}`;
  for (let i = 0; i < 200; i += 1) {
    try {
      if ((await fetch(`${base}/`)).ok) return { base, stop: () => child.kill() };
    } catch {
      // not listening yet
    }
    await sleep(50);
  }
  child.kill();
  throw new Error(`the local server did not start (${binary})`);
}

/** The tests' OpenID provider (tests/oidc: oidc-provider from npm), Google's stand-in. */
export async function startProvider() {
  const port = await freePort();
  const child = spawn(process.execPath, [`${root}tests/oidc/provider.mjs`, String(port)], { stdio: "ignore" });
  const issuer = `http://127.0.0.1:${port}`;
  for (let i = 0; i < 200; i += 1) {
    try {
      if ((await fetch(`${issuer}/.well-known/openid-configuration`)).ok) return { issuer, stop: () => child.kill() };
    } catch {
      // not listening yet
    }
    await sleep(50);
  }
  child.kill();
  throw new Error("the OpenID provider did not start");
}

/** The local server with sign-in with Google pointed at `issuer`. */
export function googleEnv(issuer) {
  return (base) => ({
    STEPAUTH_GOOGLE_CLIENT_IDS: "stepauth",
    STEPAUTH_GOOGLE_CLIENT_SECRET: "stepauth-secret",
    STEPAUTH_GOOGLE_ISSUER: issuer,
    STEPAUTH_GOOGLE_REDIRECT_URI: `${base}/auth/google/callback`,
  });
}

/** Headless Chromium from Debian's package (no browser download). */
export function launch() {
  return chromium.launch({
    executablePath: process.env.CHROMIUM ?? "/usr/bin/chromium",
    args: [
      "--no-sandbox",
      "--disable-gpu",
      "--disable-quic",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
    ],
  });
}

export async function json(base, method, path, body, token) {
  const headers = {};
  if (body) headers["content-type"] = "application/json";
  if (token) headers.authorization = `Bearer ${token}`;
  const response = await fetch(base + path, { method, headers, body: body ? JSON.stringify(body) : undefined });
  return { status: response.status, body: await response.json() };
}

/** The code in the last mail to `to`. */
export async function lastCode(base, to) {
  const mails = (await (await fetch(`${base}/_local/outbox`)).json()).filter((m) => m.to === to);
  const match = /\b(\d{6})\b/.exec(mails.at(-1)?.text ?? "");
  if (!match) throw new Error(`no code mailed to ${to}`);
  return match[1];
}

/** The authenticator code for a base32 secret, `offset` steps from now (RFC 6238). */
export function totpCode(secret, offset = 0) {
  const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
  let bits = "";
  for (const c of secret.replace(/=+$/, "").toUpperCase()) bits += alphabet.indexOf(c).toString(2).padStart(5, "0");
  const key = Buffer.from(bits.match(/.{8}/g).map((b) => parseInt(b, 2)));
  const counter = Buffer.alloc(8);
  counter.writeBigUInt64BE(BigInt(Math.floor(Date.now() / 1000 / 30) + offset));
  const digest = createHmac("sha1", key).update(counter).digest();
  const start = digest[19] & 0xf;
  return String((digest.readUInt32BE(start) & 0x7fffffff) % 1_000_000).padStart(6, "0");
}

/** A signed-up user, made through the API; with `totp`, Google Authenticator is on. */
export async function apiUser(base, email, { totp = false } = {}) {
  await json(base, "POST", "/auth/signup", { name: "Browser Test", email });
  const verified = await json(base, "POST", "/auth/signup/verify", { email, code: await lastCode(base, email) });
  const created = await json(base, "POST", "/auth/signup/complete", {
    signup_token: verified.body.signup_token,
    password: PASSWORD,
    confirm_password: PASSWORD,
  });
  if (!totp) return { email };
  const token = created.body.access_token;
  const setup = await json(base, "POST", "/auth/totp/setup", { password: PASSWORD }, token);
  const confirmed = await json(base, "POST", "/auth/totp/confirm", { code: totpCode(setup.body.secret) }, token);
  return { email, secret: setup.body.secret, recoveryCodes: confirmed.body.recovery_codes };
}

/**
 * A site's page on a port of its own (another origin than the API, the same site): `html()`
 * is what it answers, read at each request. `close()` stops it.
 */
export function startHost(html) {
  const server = http.createServer((req, res) => {
    res.writeHead(200, { "content-type": "text/html; charset=utf-8" });
    res.end(html());
  });
  return new Promise((resolve) => {
    server.listen(0, "127.0.0.1", () =>
      resolve({ origin: `http://127.0.0.1:${server.address().port}`, close: () => server.close() }),
    );
  });
}

/** A new page whose page errors fail the test and whose `window.heard` keeps the modal's events. */
export async function eventPage(browser, viewport) {
  const page = await browser.newPage({ viewport });
  page.on("pageerror", (error) => assert.fail(`page error: ${error.message}`));
  await page.addInitScript(() => {
    window.heard = [];
    for (const name of ["signed-in", "signed-out", "closed"]) {
      document.addEventListener(`stepauth:${name}`, (event) => window.heard.push({ name, email: event.detail?.user?.email }));
    }
  });
  return page;
}

/** Opens the login modal from the host page's button; the log-in card shows. */
export async function openLogin(page) {
  await page.locator("[data-stepauth-login]").first().click();
  await onCard(page, "login");
}

/** Email first (Next), then the password on the next card, and "Log in". */
export async function logIn(page, email, password) {
  await page.fill("#login-email", email);
  await page.locator('[data-card="login"]').getByRole("button", { name: "Next" }).click();
  await onCard(page, "signin");
  await page.fill("#login-password", password);
  await page.locator('[data-card="signin"]').getByRole("button", { name: "Log in" }).click();
}

/** Waits until the card is showing. */
export async function onCard(page, card) {
  await page.locator(`[data-card="${card}"]`).waitFor({ state: "visible", timeout: 10_000 });
}

let counter = 0;
export function uniqueEmail(label) {
  counter += 1;
  return `${label}-${Date.now()}-${counter}@example.com`;
}

// "Continue with Google" in headless Chromium: the local server with sign-in with Google
// pointed at a real OpenID provider on loopback (tests/oidc, oidc-provider from npm), whose
// own sign-in page the browser fills in.
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { SCREENSHOTS, apiUser, googleEnv, launch, onCard, openLogin, startProvider, startServer, totpCode, uniqueEmail } from "./helpers.mjs";

let provider;
let server;
let browser;

before(async () => {
  provider = await startProvider();
  server = await startServer(googleEnv(provider.issuer));
  browser = await launch();
});

after(async () => {
  await browser?.close();
  server?.stop();
  provider?.stop();
});

/** From the log-in card, "Continue with Google", and the provider's sign-in form. */
async function continueWithGoogle(email) {
  const page = await browser.newPage({ viewport: { width: 900, height: 900 } });
  page.on("pageerror", (error) => assert.fail(`page error: ${error.message}`));
  await page.goto(`${server.base}/`);
  await openLogin(page);
  await page.locator('[data-card="login"]').getByRole("link", { name: "Continue with Google" }).click();
  await page.waitForURL(`${provider.issuer}/**`);
  await page.fill('input[name="login"]', email);
  await page.fill('input[name="password"]', "any");
  await page.getByRole("button", { name: "Sign-in" }).click();
  await page.waitForURL(`${server.base}/**`);
  return page;
}

test("Continue with Google signs a new person in on the provider's page and lands signed in", async () => {
  const email = uniqueEmail("browser-google");
  const page = await continueWithGoogle(email);
  await onCard(page, "home");
  await page.locator("[data-user-email]", { hasText: email }).waitFor();
  assert.equal(new URL(page.url()).hash, "", "the fragment is cleared");
  await page.screenshot({ path: `${SCREENSHOTS}/google-signed-in.png`, fullPage: true });
});

test("Continue with Google for an account with an authenticator lands on the authenticator card", async () => {
  const user = await apiUser(server.base, uniqueEmail("browser-google-mfa"), { totp: true });
  const page = await continueWithGoogle(user.email);
  await onCard(page, "mfa");
  await page.fill("#mfa-code", totpCode(user.secret, 1));
  await page.locator('[data-card="mfa"]').getByRole("button", { name: /Verify|Continue|Log in/ }).first().click();
  await onCard(page, "home");
  await page.locator("[data-user-email]", { hasText: user.email }).waitFor();
});

test("Unlink on the signed-in card: refused while the account has no password, done once it has one", async () => {
  const made = await continueWithGoogle(uniqueEmail("browser-unlink-google"));
  await onCard(made, "home");
  const identities = made.locator("[data-identities]");
  await identities.getByRole("button", { name: "Unlink" }).click();
  await made.locator('[data-card="home"] [role="alert"]', { hasText: "Set a password first" }).waitFor();
  await identities.getByText("Sign-in with Google:").waitFor();

  const user = await apiUser(server.base, uniqueEmail("browser-unlink"));
  const page = await continueWithGoogle(user.email);
  await onCard(page, "home");
  const linked = page.locator("[data-identities]");
  await linked.getByText(`Sign-in with Google: ${user.email}`).waitFor();
  await linked.getByRole("button", { name: "Unlink" }).click();
  await page.locator('[data-card="home"] .sa-info', { hasText: "Sign-in with Google was unlinked." }).waitFor();
  await linked.waitFor({ state: "hidden" });
  await page.locator("[data-activity]").getByText("google unlinked").waitFor();
  await page.locator("[data-activity]").getByText("login success (google)").waitFor();
  await page.screenshot({ path: `${SCREENSHOTS}/google-unlinked.png`, fullPage: true });
});

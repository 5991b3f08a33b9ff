// End-to-end tests of the login modal in headless Chromium, as a site embeds it: a host page
// on another port than the API (another origin, the same site) includes the API's app.js and
// app.css and has a data-stepauth-login button; the API lists the host's origin
// (STEPAUTH_ALLOWED_ORIGINS). Everything below happens in the modal over that page.
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { PASSWORD, SCREENSHOTS, apiUser, eventPage, json, lastCode, launch, logIn, onCard, openLogin, startHost, startServer, totpCode, uniqueEmail } from "./helpers.mjs";

let server;
let browser;
let host;
/** The address the server makes an admin. */
const ADMIN = uniqueEmail("browser-admin");

/** The site's page: its own markup, careless rules, the modal's two lines, its own button. */
const SITE_PAGE = () => `<!doctype html><html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1"><title>Another site</title>
<link rel="icon" href="data:,">
<link rel="stylesheet" href="${server.base}/app.css"><script defer src="${server.base}/app.js"></script>
<style>
  /* The site's own rules, as careless as sites' are: none may reach into the modal. */
  * { margin: 2em; letter-spacing: 0.2em; }
  h2 { font-size: 80px; text-transform: uppercase; }
  button { background: red; color: yellow; text-transform: uppercase; padding: 3em; }
  input { border: 6px dashed red; width: 40px; }
  p { margin: 3em; }
  .card, .btn, .input, .info, .error, .link { display: none !important; }
</style>
</head><body><h1>Another site</h1><p>Its own page.</p><h3 id="untouched">A heading the site did not style</h3>
<button type="button" data-stepauth-login>Sign in</button></body></html>`;

before(async () => {
  host = await startHost(SITE_PAGE);
  server = await startServer(() => ({ STEPAUTH_ALLOWED_ORIGINS: host.origin, STEPAUTH_ADMIN_EMAILS: ADMIN }));
  browser = await launch();
});

after(async () => {
  await browser?.close();
  server?.stop();
  host?.close();
});

const DESKTOP = { width: 900, height: 900 };
const PHONE = { width: 360, height: 740 };

async function newPage(viewport = DESKTOP) {
  const page = await eventPage(browser, viewport);
  await page.goto(`${host.origin}/`);
  await openLogin(page);
  return page;
}

async function shot(page, name) {
  await page.screenshot({ path: `${SCREENSHOTS}/${name}.png`, fullPage: true });
}

/** On a phone, the card must fit: nothing wider than the screen. */
async function fits(page, viewport) {
  const wide = await page.evaluate(() => document.documentElement.scrollWidth);
  assert.ok(wide <= viewport.width, `the page is ${wide} px wide on a ${viewport.width} px screen`);
}

async function walkthrough(viewport, prefix) {
  const page = await newPage(viewport);
  // The modal's stylesheet leaves the site's page alone (no reset of its elements) ...
  assert.equal(await page.evaluate(() => getComputedStyle(document.getElementById("untouched")).fontWeight), "700");
  // ... and the site's rules do not reach the modal's.
  const styles = await page.evaluate(() => {
    const button = document.querySelector('#stepauth [data-card="login"] button[type="submit"]');
    const title = document.querySelector('#stepauth [data-card="login"] h2');
    const input = document.querySelector("#login-email");
    return {
      button: getComputedStyle(button).textTransform,
      title: getComputedStyle(title).fontSize,
      input: getComputedStyle(input).borderTopStyle,
      spacing: getComputedStyle(title).letterSpacing,
    };
  });
  assert.deepEqual(styles, { button: "none", title: "24px", input: "solid", spacing: "normal" });
  const card = async (name, file) => {
    await onCard(page, name);
    await fits(page, viewport);
    if (file) await shot(page, `${prefix}${file}`);
  };
  const email = uniqueEmail("browser-signup");
  await card("login", "0-email-first");
  await page.getByRole("button", { name: "Create an account" }).click();
  await card("signup");
  await page.fill("#signup-name", "Ann Browser");
  await page.fill("#signup-email", email);
  await shot(page, `${prefix}1-signup`);
  await page.getByRole("button", { name: "Send me a code" }).click();

  await card("code");
  assert.match(await page.locator('[data-card="code"] button.sa-btn-secondary').innerText(), /Resend code in \d+ s/);
  await page.fill("#code", await lastCode(server.base, email));
  await shot(page, `${prefix}2-code`);
  await page.getByRole("button", { name: "Continue" }).click();

  await card("password");
  const form = page.locator('[data-card="password"]');
  const met = async (rule) => (await form.locator(`[data-rule="${rule}"]`).getAttribute("class")).includes("emerald");
  const save = form.getByRole("button", { name: "Save password" });
  await page.fill("#password-new", "abc");
  assert.equal(await met("lowercase"), true, "lower-case ticks");
  assert.equal(await met("min_length"), false);
  assert.equal(await met("uppercase"), false);
  assert.equal(await save.isDisabled(), true, "submit waits for every rule");
  await page.fill("#password-new", PASSWORD);
  for (const rule of ["min_length", "uppercase", "lowercase", "digit", "symbol"]) assert.equal(await met(rule), true, rule);
  await page.fill("#password-confirm", `${PASSWORD}x`);
  assert.equal(await save.isDisabled(), true, "confirm must match");
  await page.fill("#password-confirm", PASSWORD);
  await form.getByRole("button", { name: "Show password" }).click();
  assert.equal(await page.getAttribute("#password-new", "type"), "text", "show/hide toggles");
  await shot(page, `${prefix}3-password`);
  await save.click();

  await card("totp");
  const heading = page.locator('[data-card="totp"] h2');
  assert.equal(await heading.innerText(), "Google Authentication");
  await page.locator("[data-secret]").filter({ hasText: /^[A-Z2-7]{32}$/ }).waitFor();
  const secret = (await page.locator("[data-secret]").innerText()).trim();
  assert.match(secret, /^[A-Z2-7]{32}$/);
  assert.match(await page.locator('[data-card="totp"] img').getAttribute("src"), /^data:image\/png;base64,/);
  await shot(page, `${prefix}4-google-authentication`);
  await page.fill("#totp-code", totpCode(secret));
  await page.getByRole("button", { name: "Turn on" }).click();

  await card("recovery", "5-recovery-codes");
  assert.equal(await page.locator('[aria-label="Recovery codes"] li').count(), 10);
  await page.getByRole("button", { name: "I saved them" }).click();

  await card("home");
  await page.locator("[data-mfa-status]").filter({ hasText: "on" }).waitFor();
  assert.match(await page.locator('[data-card="home"]').innerText(), /Ann Browser/);
  await shot(page, `${prefix}6-signed-in`);
  const heard = await page.evaluate(() => window.heard);
  assert.deepEqual(heard, [{ name: "signed-in", email }], "the host page heard the sign-in, with the profile");

  // Log out; log in again, email first, with the password and an authenticator code.
  await page.getByRole("button", { name: "Log out", exact: true }).click();
  await card("login");
  await page.waitForFunction(() => window.heard.some((e) => e.name === "signed-out"));
  await page.fill("#login-email", email);
  await page.locator('[data-card="login"]').getByRole("button", { name: "Next" }).click();
  await card("signin", "7-password");
  await page.fill("#login-password", PASSWORD);
  await page.locator('[data-card="signin"]').getByRole("button", { name: "Log in" }).click();
  await card("mfa");
  await page.fill("#mfa-code", totpCode(secret, 1));
  await shot(page, `${prefix}8-authenticator-code`);
  await page.locator('[data-card="mfa"]').getByRole("button", { name: "Log in" }).click();
  await card("home");
  await page.locator("[data-user-email]", { hasText: email }).waitFor();
  await page.close();
}

test("on another site's page: sign up, code, password, Google Authentication, recovery codes, log out, email-first login with an authenticator code", async () => {
  await walkthrough(DESKTOP, "");
});

test("the same on a 360 x 740 phone, every card without scrolling sideways", async () => {
  await walkthrough(PHONE, "phone-");
});

test("log out, then log in with the password and an authenticator code", async () => {
  const email = uniqueEmail("browser-mfa");
  const user = await apiUser(server.base, email, { totp: true });
  const page = await newPage();
  await logIn(page, email, PASSWORD);

  await onCard(page, "mfa");
  await page.fill("#mfa-code", "000000");
  await page.locator('[data-card="mfa"]').getByRole("button", { name: "Log in" }).click();
  await page.locator('[data-card="mfa"] [role="alert"]').filter({ hasText: "attempts remaining" }).waitFor();
  await shot(page, "7-authenticator-code");
  await page.fill("#mfa-code", totpCode(user.secret, 1));
  await page.locator('[data-card="mfa"]').getByRole("button", { name: "Log in" }).click();

  await onCard(page, "home");
  await page.getByRole("button", { name: "Log out", exact: true }).click();
  await onCard(page, "login");
  await page.locator('[data-card="login"] .sa-info').filter({ hasText: "Logged out." }).waitFor();

  await logIn(page, email, PASSWORD);
  await onCard(page, "mfa");
  await page.getByRole("button", { name: "Use a recovery code" }).click();
  await page.fill("#mfa-recovery", user.recoveryCodes[0]);
  await page.locator('[data-card="mfa"]').getByRole("button", { name: "Log in" }).click();
  await onCard(page, "home");
  await page.locator("[data-activity] li").first().waitFor();
  await page.close();
});

test("signed in: turn Google Authenticator on with the password, then off", async () => {
  const email = uniqueEmail("browser-enrol");
  await apiUser(server.base, email);
  const page = await newPage();
  await logIn(page, email, PASSWORD);
  await onCard(page, "home");
  await page.getByRole("button", { name: "Turn on Google Authenticator" }).click();
  const cont = page.getByRole("button", { name: "Continue" });
  assert.equal(await cont.isDisabled(), true, "the password comes first");
  await page.fill("#enable-password", PASSWORD);
  await cont.click();

  await onCard(page, "totp");
  await page.locator("[data-secret]").filter({ hasText: /^[A-Z2-7]{32}$/ }).waitFor();
  const secret = (await page.locator("[data-secret]").innerText()).trim();
  await page.fill("#totp-code", totpCode(secret));
  await page.getByRole("button", { name: "Turn on" }).click();
  await onCard(page, "recovery");
  await page.getByRole("button", { name: "I saved them" }).click();
  await onCard(page, "home");
  await page.locator("[data-mfa-status]").filter({ hasText: "Google Authenticator: on" }).waitFor();

  await page.getByRole("button", { name: "Turn off Google Authenticator" }).click();
  await page.fill("#disable-password", PASSWORD);
  await page.fill("#disable-code", totpCode(secret, 1));
  await page.getByRole("button", { name: "Turn off", exact: true }).click();
  await page.locator('[data-card="home"] .sa-info').filter({ hasText: "Google Authenticator is off" }).waitFor();
  await page.locator("[data-mfa-status]").filter({ hasText: "Google Authenticator: off" }).waitFor();
  await shot(page, "11-authenticator-off");
  await page.close();
});

test("a wrong emailed code shows the API's message by the card", async () => {
  const page = await newPage();
  const email = uniqueEmail("browser-wrong");
  await page.getByRole("button", { name: "Create an account" }).click();
  await page.fill("#signup-name", "Wrong Code");
  await page.fill("#signup-email", email);
  await page.getByRole("button", { name: "Send me a code" }).click();
  await onCard(page, "code");
  const right = await lastCode(server.base, email);
  await page.fill("#code", right === "000000" ? "000001" : "000000");
  await page.getByRole("button", { name: "Continue" }).click();
  const alert = page.locator('[data-card="code"] [role="alert"]');
  await alert.filter({ hasText: "The code is wrong" }).waitFor();
  await shot(page, "8-wrong-code");
  await page.close();
});

test("invalid fields are marked where they are", async () => {
  const page = await newPage();
  await page.getByRole("button", { name: "Create an account" }).click();
  await page.fill("#signup-name", "");
  await page.fill("#signup-email", "not-an-email");
  await page.getByRole("button", { name: "Send me a code" }).click();
  const card = page.locator('[data-card="signup"]');
  await card.locator(".sa-error").filter({ hasText: "must be an email address" }).waitFor();
  await card.locator(".sa-error").filter({ hasText: "is required" }).waitFor();
  assert.equal(await page.getAttribute("#signup-email", "aria-invalid"), "true");
  await shot(page, "10-invalid-fields");
  await page.close();
});

test("forgot password: email, code, new password, log in", async () => {
  const email = uniqueEmail("browser-forgot");
  await apiUser(server.base, email);
  const page = await newPage();
  await page.getByRole("button", { name: "Forgot password?" }).click();
  await onCard(page, "forgot");
  await page.fill("#forgot-email", email);
  await page.getByRole("button", { name: "Send me a code" }).click();
  await onCard(page, "code");
  await page.fill("#code", await lastCode(server.base, email));
  await page.getByRole("button", { name: "Continue" }).click();
  await onCard(page, "reset");
  const fresh = "Brand-New-Horse-8!";
  await page.fill("#reset-new", fresh);
  await page.fill("#reset-confirm", fresh);
  await shot(page, "9-new-password");
  await page.locator('[data-card="reset"]').getByRole("button", { name: "Save password" }).click();
  await onCard(page, "login");
  await page.locator('[data-card="login"] .sa-info').filter({ hasText: "reset" }).waitFor();
  await logIn(page, email, fresh);
  await onCard(page, "home");
  const old = await json(server.base, "POST", "/auth/login", { email, password: PASSWORD });
  assert.equal(old.status, 401, "the old password no longer works");
  await page.close();
});

test("with no recovery codes left, the signed-in card asks for a new set and makes one", async () => {
  const email = uniqueEmail("browser-renew");
  const user = await apiUser(server.base, email, { totp: true });
  for (const recovery of user.recoveryCodes.slice(0, 9)) {
    const login = await json(server.base, "POST", "/auth/login", { email, password: PASSWORD });
    const done = await json(server.base, "POST", "/auth/mfa/verify", { mfa_token: login.body.mfa_token, recovery_code: recovery });
    assert.equal(done.status, 200, JSON.stringify(done.body));
  }
  const page = await newPage();
  await logIn(page, email, PASSWORD);
  await onCard(page, "mfa");
  await page.getByRole("button", { name: "Use a recovery code" }).click();
  await page.fill("#mfa-recovery", user.recoveryCodes[9]);
  await page.locator('[data-card="mfa"]').getByRole("button", { name: "Log in" }).click();
  await onCard(page, "home");
  const prompt = page.locator("[data-no-recovery-codes]");
  await prompt.waitFor();
  await shot(page, "12-no-recovery-codes");

  await page.getByRole("button", { name: "New recovery codes" }).click();
  await page.fill("#codes-password", PASSWORD);
  await page.fill("#codes-code", totpCode(user.secret, 1));
  await page.getByRole("button", { name: "Make new codes" }).click();
  await onCard(page, "recovery");
  assert.equal(await page.locator('[aria-label="Recovery codes"] li').count(), 10);
  const fresh = await page.locator('[aria-label="Recovery codes"] li').first().textContent();
  await page.getByRole("button", { name: "I saved them" }).click();
  await onCard(page, "home");
  await page.locator("[data-activity]").getByText("recovery codes renewed").waitFor();
  await prompt.waitFor({ state: "hidden", timeout: 5_000 }); // no prompt once there are codes

  const login = await json(server.base, "POST", "/auth/login", { email, password: PASSWORD });
  const again = await json(server.base, "POST", "/auth/mfa/verify", { mfa_token: login.body.mfa_token, recovery_code: fresh.trim() });
  assert.equal(again.status, 200, "a code the page showed works");
  await page.close();
});

test("signed in: the devices list, signing one out, then every other, then this one", async () => {
  const email = uniqueEmail("browser-devices");
  await apiUser(server.base, email);
  const loginAs = async (userAgent) => {
    const response = await fetch(`${server.base}/auth/login`, {
      method: "POST",
      headers: { "content-type": "application/json", "user-agent": userAgent },
      body: JSON.stringify({ email, password: PASSWORD }),
    });
    return (await response.json()).access_token;
  };
  const tablet = await loginAs("Mozilla/5.0 (iPad; CPU OS 18_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Mobile/15E148 Safari/604.1");
  const desktop = await loginAs("Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:133.0) Gecko/20100101 Firefox/133.0");
  const page = await newPage();
  await logIn(page, email, PASSWORD);
  await onCard(page, "home");

  const devices = page.locator("[data-device]");
  await devices.filter({ hasText: "Safari on iPadOS" }).waitFor();
  assert.equal(await devices.count(), 4, "the sign-up's session, the tablet, the desktop and this browser");
  const here = devices.filter({ hasText: "(this device)" });
  assert.match(await here.innerText(), /Chrome on Linux/);
  assert.match(await here.innerText(), /password/);
  await shot(page, "14-devices");

  await devices.filter({ hasText: "Safari on iPadOS" }).getByRole("button", { name: /Sign out/ }).click();
  await page.locator('[data-card="home"] .sa-info').filter({ hasText: "Signed out on Safari on iPadOS." }).waitFor();
  assert.equal(await devices.count(), 3);
  assert.equal((await json(server.base, "GET", "/users/me", undefined, tablet)).status, 401, "the tablet's token died");
  assert.equal((await json(server.base, "GET", "/users/me", undefined, desktop)).status, 200, "the desktop's lives");

  await page.getByRole("button", { name: "Sign out on every other device" }).click();
  await page.locator('[data-card="home"] .sa-info').filter({ hasText: "Signed out on 2 other devices." }).waitFor();
  assert.equal(await devices.count(), 1);
  assert.equal((await json(server.base, "GET", "/users/me", undefined, desktop)).status, 401, "the desktop's died too");
  await page.getByRole("button", { name: "Sign out on every other device" }).waitFor({ state: "hidden", timeout: 5_000 });

  await here.getByRole("button", { name: /Sign out/ }).click();
  await onCard(page, "login");
  await page.close();
});

test("signed in: change the email with the password and the code mailed to the new address", async () => {
  const email = uniqueEmail("browser-email-old");
  const newEmail = uniqueEmail("browser-email-new");
  await apiUser(server.base, email);
  const page = await newPage();
  await logIn(page, email, PASSWORD);
  await onCard(page, "home");
  await page.getByRole("button", { name: "Change email" }).click();
  await page.fill("#email-new", newEmail);
  await page.fill("#email-password", "Wrong-Horse-7-Battery");
  await page.getByRole("button", { name: "Send a code to the new address" }).click();
  await page.locator('[data-card="home"] [role="alert"]').filter({ hasText: "attempt" }).waitFor();
  await page.fill("#email-password", PASSWORD);
  await page.getByRole("button", { name: "Send a code to the new address" }).click();
  await page.locator("#email-code").waitFor();
  await page.fill("#email-code", await lastCode(server.base, newEmail));
  await page.locator("[data-email-verify]").getByRole("button", { name: "Change email" }).click();
  await page.locator('[data-card="home"] .sa-info').filter({ hasText: "Your email address is changed" }).waitFor();
  await page.locator("[data-user-email]").filter({ hasText: newEmail }).waitFor();
  await shot(page, "15-email-changed");
  const old = await json(server.base, "POST", "/auth/login", { email, password: PASSWORD });
  assert.equal(old.status, 401, "the old address no longer logs in");
  const fresh = await json(server.base, "POST", "/auth/login", { email: newEmail, password: PASSWORD });
  assert.equal(fresh.status, 200, "the new one does");
  await page.close();
});

test("signed in: edit the profile; a bad value is marked by its field, nothing else is lost", async () => {
  const email = uniqueEmail("browser-profile");
  await apiUser(server.base, email);
  const page = await newPage();
  await logIn(page, email, PASSWORD);
  await onCard(page, "home");
  await page.locator("[data-edit-profile]").click();
  await page.fill("#profile-given_name", "Zoë");
  await page.fill("#profile-family_name", "Ångström");
  await page.fill("#profile-preferred_username", `zoe${Date.now()}`);
  await page.fill("#profile-phone_number", "+999 123456789");
  await page.fill("#profile-birthdate", "1990-04-01");
  await page.fill("#profile-locale", "de-AT");
  await page.fill("#profile-zoneinfo", "Europe/Vienna");
  await page.getByRole("button", { name: "Save profile" }).click();
  const phoneError = page.locator("[data-profile] .sa-error").filter({ hasText: "is not a valid phone number" });
  await phoneError.waitFor();
  await shot(page, "17-profile-field-error");
  assert.equal(await page.inputValue("#profile-given_name"), "Zoë", "what was typed stays");
  await page.fill("#profile-phone_number", "+44 20 7946 0958");
  await page.getByRole("button", { name: "Save profile" }).click();
  await page.locator('[data-card="home"] .sa-info').filter({ hasText: "Profile saved." }).waitFor();
  await shot(page, "18-profile-saved");
  const token = (await json(server.base, "POST", "/auth/login", { email, password: PASSWORD })).body.access_token;
  const me = (await json(server.base, "GET", "/users/me", undefined, token)).body;
  assert.deepEqual(
    [me.given_name, me.family_name, me.phone_number, me.birthdate, me.locale, me.zoneinfo, me.name],
    ["Zoë", "Ångström", "+442079460958", "1990-04-01", "de-AT", "Europe/Vienna", "Browser Test"],
  );
  // Emptying a field removes it.
  await page.locator("[data-edit-profile]").click();
  assert.equal(await page.inputValue("#profile-phone_number"), "+442079460958", "the form shows what is kept");
  await page.fill("#profile-phone_number", "");
  await page.getByRole("button", { name: "Save profile" }).click();
  await page.locator('[data-card="home"] .sa-info').filter({ hasText: "Profile saved." }).waitFor();
  assert.equal((await json(server.base, "GET", "/users/me", undefined, token)).body.phone_number, null);
  await page.close();
});

// A PNG of one pixel.
const PNG = Buffer.from("iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR4nGMAAQAABQABDQottAAAAABJRU5ErkJggg==", "base64");

test("signed in: upload a profile picture to S3; S3 refuses a 2 MiB one, the API a text file", async () => {
  const email = uniqueEmail("browser-picture");
  await apiUser(server.base, email);
  const page = await newPage();
  await logIn(page, email, PASSWORD);
  await onCard(page, "home");
  await page.locator("[data-edit-profile]").click();
  await page.setInputFiles("[data-picture-file]", { name: "me.png", mimeType: "image/png", buffer: PNG });
  await page.locator('[data-card="home"] .sa-info').filter({ hasText: "Picture saved." }).waitFor();
  const picture = page.locator("[data-picture]");
  await picture.waitFor();
  // The image loaded from the bucket through its presigned URL.
  await page.waitForFunction(() => {
    const img = document.querySelector("[data-picture]");
    return img && img.complete && img.naturalWidth === 1;
  });
  assert.equal(await page.inputValue("#profile-picture"), "", "the link is not shown as a URL the person typed");
  await shot(page, "19-profile-picture");
  const token = (await json(server.base, "POST", "/auth/login", { email, password: PASSWORD })).body.access_token;
  const me = (await json(server.base, "GET", "/users/me", undefined, token)).body;
  assert.equal(me.picture_uploaded, true);
  const bytes = Buffer.from(await (await fetch(me.picture)).arrayBuffer());
  assert.deepEqual(bytes, PNG, "the bucket holds what was uploaded");

  await page.setInputFiles("[data-picture-file]", { name: "big.png", mimeType: "image/png", buffer: Buffer.alloc(2 * 1024 * 1024, 1) });
  await page.locator('[data-card="home"] [role="alert"]').filter({ hasText: "larger than 1 MiB" }).waitFor();
  await page.setInputFiles("[data-picture-file]", { name: "notes.txt", mimeType: "text/plain", buffer: Buffer.from("not a picture") });
  await page.locator('[data-card="home"] [role="alert"]').filter({ hasText: "Use a PNG, JPEG or WebP file." }).waitFor();
  const after = (await json(server.base, "GET", "/users/me", undefined, token)).body;
  assert.equal(after.picture.split("?")[0], me.picture.split("?")[0], "the refused files left the picture");

  // Saving the profile with other changes keeps the uploaded picture.
  await page.fill("#profile-nickname", "Pic");
  await page.getByRole("button", { name: "Save profile" }).click();
  await page.locator('[data-card="home"] .sa-info').filter({ hasText: "Profile saved." }).waitFor();
  const saved = (await json(server.base, "GET", "/users/me", undefined, token)).body;
  assert.deepEqual([saved.nickname, saved.picture_uploaded], ["Pic", true]);
  await page.close();
});

test("signed in: delete the account with the password; the address signs up again", async () => {
  const email = uniqueEmail("browser-delete");
  await apiUser(server.base, email);
  const page = await newPage();
  await logIn(page, email, PASSWORD);
  await onCard(page, "home");
  await page.getByRole("button", { name: "Delete account" }).click();
  await page.fill("#delete-password", "Wrong-Horse-7-Battery");
  await page.getByRole("button", { name: "Delete my account" }).click();
  await page.locator('[data-card="home"] [role="alert"]').filter({ hasText: "attempt" }).waitFor();
  await page.fill("#delete-password", PASSWORD);
  await page.getByRole("button", { name: "Delete my account" }).click();
  await onCard(page, "login");
  await page.locator('[data-card="login"] .sa-info').filter({ hasText: "Your account is deleted." }).waitFor();
  const login = await json(server.base, "POST", "/auth/login", { email, password: PASSWORD });
  assert.equal(login.status, 401, "the account is gone");
  await page.close();
});

test("an admin finds an account, deactivates it (its owner cannot log in), reactivates it, ends its sessions, deletes it", async () => {
  await apiUser(server.base, ADMIN);
  const stamp = uniqueEmail("x").split("@")[0].replaceAll("-", "");
  const target = `find${stamp}@example.com`;
  await apiUser(server.base, target);
  const page = await newPage();
  page.on("dialog", (dialog) => dialog.accept());
  await logIn(page, ADMIN, PASSWORD);
  await onCard(page, "home");
  await page.fill("#admin-prefix", `find${stamp}`);
  await page.getByRole("button", { name: "Find" }).click();
  const found = page.locator("[data-admin-found] li");
  await found.filter({ hasText: target }).waitFor();
  assert.equal(await found.count(), 1);
  await found.getByRole("button", { name: "Open" }).click();
  const state = page.locator("[data-admin-state]");
  await state.filter({ hasText: "active" }).waitFor();
  // The account's mails: its sign-up code, sent before it had an account.
  await page.locator("[data-admin-mails]").getByText(`signup code to ${target} · sent`).waitFor();

  await page.locator("[data-admin-user]").getByRole("button", { name: "Deactivate" }).click();
  await state.filter({ hasText: "deactivated" }).waitFor();
  await shot(page, "16-admin");
  const refused = await json(server.base, "POST", "/auth/login", { email: target, password: PASSWORD });
  assert.equal(refused.status, 423, "a deactivated account answers as a locked one");
  await page.locator("[data-admin-activity]").getByText("deactivated (by an admin)").waitFor();

  await page.locator("[data-admin-user]").getByRole("button", { name: "Reactivate" }).click();
  await state.filter({ hasText: "active" }).waitFor();
  const session = await json(server.base, "POST", "/auth/login", { email: target, password: PASSWORD });
  assert.equal(session.status, 200);
  await page.locator("[data-admin-user]").getByRole("button", { name: "End sessions" }).click();
  await page.locator('[data-card="home"] .sa-info').filter({ hasText: "Every session of the account has ended." }).waitFor();
  assert.equal((await json(server.base, "GET", "/users/me", undefined, session.body.access_token)).status, 401);

  await page.locator("[data-admin-user]").getByRole("button", { name: "Delete" }).click();
  await page.locator('[data-card="home"] .sa-info').filter({ hasText: "The account is deleted." }).waitFor();
  assert.equal(await found.count(), 0);
  const gone = await json(server.base, "POST", "/auth/login", { email: target, password: PASSWORD });
  assert.equal(gone.status, 401, "the account is gone");

  // The mail templates: any mail, rendered with sample values as the deployment's templates make it.
  await page.locator("#mail-kind").focus();
  await page.locator('#mail-kind option[value="account_locked"]').waitFor({ state: "attached" });
  await page.selectOption("#mail-kind", "account_locked");
  await page.locator("[data-mail-preview]").getByRole("button", { name: "Preview" }).click();
  await page.locator("[data-mail-subject]").filter({ hasText: "Your stepauth account is locked" }).waitFor();
  assert.match(await page.locator("[data-mail-text]").innerText(), /locked after 3 failed login attempts/);
  await shot(page, "19-admin-mail-preview");
  await page.close();
});

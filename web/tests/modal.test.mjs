// The login modal as a host page gets it: opened by the page's own button, a real dialog
// (focus kept inside, Esc and the close button and the overlay close it, focus back on the
// button, the page behind does not scroll), the host page hears what happened, and it fits a
// 360 px phone.
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { PASSWORD, SCREENSHOTS, apiUser, eventPage, launch, logIn, onCard, openLogin, startServer, uniqueEmail } from "./helpers.mjs";

let server;
let browser;

before(async () => {
  server = await startServer();
  browser = await launch();
});

after(async () => {
  await browser?.close();
  server?.stop();
});

/** The host page, with the events it hears kept in `window.heard`. */
async function hostPage(viewport = { width: 1000, height: 800 }) {
  const page = await eventPage(browser, viewport);
  await page.goto(`${server.base}/`);
  return page;
}

const focusInDialog = (page) =>
  page.evaluate(() => Boolean(document.activeElement?.closest('#stepauth [role="dialog"]')));

test("a real dialog: keyboard only, focus kept inside, Esc, ×, overlay; focus returns to the button", async () => {
  const page = await hostPage();
  const button = page.locator("[data-stepauth-login]");
  await button.focus();
  await page.keyboard.press("Enter");
  await onCard(page, "login");
  const dialog = page.locator('#stepauth [role="dialog"]');
  assert.equal(await dialog.getAttribute("aria-modal"), "true");
  const label = await dialog.getAttribute("aria-labelledby");
  assert.equal((await page.locator(`#${label}`).textContent()).trim(), "Login");
  assert.ok(await focusInDialog(page), "focus moved into the card");
  for (let i = 0; i < 25; i += 1) {
    await page.keyboard.press(i % 5 === 4 ? "Shift+Tab" : "Tab");
    assert.ok(await focusInDialog(page), `Tab ${i + 1} left the dialog`);
  }
  const overflow = await page.evaluate(() => getComputedStyle(document.documentElement).overflow);
  assert.equal(overflow, "hidden", "the page behind does not scroll");
  await page.screenshot({ path: `${SCREENSHOTS}/modal-desktop-login.png` });

  await page.keyboard.press("Escape");
  await dialog.waitFor({ state: "hidden" });
  assert.equal(await page.evaluate(() => document.activeElement?.hasAttribute("data-stepauth-login")), true, "focus is back");
  assert.deepEqual(await page.evaluate(() => window.heard.map((e) => e.name)), ["closed"]);

  await openLogin(page);
  await page.getByRole("button", { name: "Close" }).click();
  await dialog.waitFor({ state: "hidden" });
  await openLogin(page);
  await page.mouse.click(5, 400); // the overlay, beside the card
  await dialog.waitFor({ state: "hidden" });
  assert.equal(await page.evaluate(() => window.heard.length), 3);
  await page.close();
});

test("the host page hears the sign-in, with the profile, and the sign-out", async () => {
  const email = uniqueEmail("browser-events");
  await apiUser(server.base, email);
  const page = await hostPage();
  await openLogin(page);
  await logIn(page, email, PASSWORD);
  await onCard(page, "home");
  await page.waitForFunction(() => window.heard.some((e) => e.name === "signed-in"));
  assert.deepEqual(await page.evaluate(() => window.heard), [{ name: "signed-in", email }]);
  await page.getByRole("button", { name: "Log out", exact: true }).click();
  await onCard(page, "login");
  await page.waitForFunction(() => window.heard.some((e) => e.name === "signed-out"));
  await page.close();
});

test("on a 360 × 740 phone every card fits without scrolling sideways", async () => {
  const email = uniqueEmail("browser-phone");
  await apiUser(server.base, email);
  const page = await hostPage({ width: 360, height: 740 });
  const fits = async (card) => {
    await onCard(page, card);
    const widths = await page.evaluate(() => ({
      page: document.documentElement.scrollWidth,
      dialog: document.querySelector('#stepauth [role="dialog"]').getBoundingClientRect().right,
    }));
    assert.ok(widths.page <= 360 && widths.dialog <= 360, `${card}: ${JSON.stringify(widths)}`);
    await page.screenshot({ path: `${SCREENSHOTS}/modal-phone-${card}.png`, fullPage: true });
  };
  await openLogin(page);
  await fits("login");
  await page.getByRole("button", { name: "Create an account" }).click();
  await fits("signup");
  await page.getByRole("button", { name: "I already have an account" }).click();
  await onCard(page, "login");
  await page.getByRole("button", { name: "Forgot password?" }).click();
  await fits("forgot");
  await page.locator('[data-card="forgot"]').getByRole("button", { name: "Back to log in" }).click();
  await logIn(page, email, PASSWORD);
  await fits("home");
  await page.close();
});

test("email first: the next card, and what the network says, are the same for an address without an account", async () => {
  const known = uniqueEmail("browser-known");
  await apiUser(server.base, known);
  const unknown = uniqueEmail("browser-unknown");
  const seen = {};
  for (const email of [known, unknown]) {
    const page = await hostPage();
    await openLogin(page);
    const calls = [];
    page.on("request", (request) => {
      if (new URL(request.url()).pathname.startsWith("/auth/")) calls.push(request.url());
    });
    await page.fill("#login-email", email);
    await page.locator('[data-card="login"]').getByRole("button", { name: "Next" }).click();
    await onCard(page, "signin");
    assert.deepEqual(calls, [], "Next asks the API nothing");
    const card = (await page.locator('[data-card="signin"]').innerText()).replaceAll(email, "EMAIL");
    const [answer] = await Promise.all([
      page.waitForResponse((response) => response.url().endsWith("/auth/login/code")),
      page.getByRole("button", { name: "Email me a login code instead" }).click(),
    ]);
    await onCard(page, "code");
    const codeCard = (await page.locator('[data-card="code"]').innerText()).replaceAll(email, "EMAIL").replace(/\d+/g, "#");
    seen[email === known ? "known" : "unknown"] = { card, status: answer.status(), body: await answer.text(), codeCard };
    if (email === unknown) await page.screenshot({ path: `${SCREENSHOTS}/modal-desktop-code.png` });
    await page.close();
  }
  assert.equal(seen.known.status, 202);
  assert.deepEqual(seen.unknown, seen.known);
});

test("keyboard alone: open, email, Next, password, log in, log out, close", async () => {
  const email = uniqueEmail("browser-keyboard");
  await apiUser(server.base, email);
  const page = await hostPage();
  await page.locator("[data-stepauth-login]").focus();
  await page.keyboard.press("Enter");
  await onCard(page, "login");
  await page.keyboard.press("Tab"); // from the heading to the email field
  assert.equal(await page.evaluate(() => document.activeElement?.id), "login-email");
  await page.keyboard.type(email);
  await page.keyboard.press("Enter");
  await onCard(page, "signin");
  await page.keyboard.press("Tab");
  await page.keyboard.press("Tab"); // past "Change", to the password
  assert.equal(await page.evaluate(() => document.activeElement?.id), "login-password");
  await page.keyboard.type(PASSWORD);
  await page.keyboard.press("Enter");
  await onCard(page, "home");
  const logOut = page.getByRole("button", { name: "Log out", exact: true });
  await logOut.focus();
  await page.keyboard.press("Enter");
  await onCard(page, "login");
  await page.keyboard.press("Escape");
  await page.locator('#stepauth [role="dialog"]').waitFor({ state: "hidden" });
  assert.deepEqual(await page.evaluate(() => window.heard.map((e) => e.name)), ["signed-in", "signed-out", "closed"]);
  await page.close();
});

/** The link in the last mail to `to`. */
async function mailedLink(to) {
  const mails = (await (await fetch(`${server.base}/_local/outbox`)).json()).filter((m) => m.to === to);
  const match = /(https?:\/\/\S+#stepauth=\S+)/.exec(mails.at(-1)?.text ?? "");
  assert.ok(match, `a link in the mail to ${to}`);
  return match[1];
}

test("a code mail's link opens the modal on the code's card, filled in; only pressing Continue uses it", async () => {
  const email = uniqueEmail("browser-link");
  await fetch(`${server.base}/auth/signup`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ name: "Link Person", email }),
  });
  const link = await mailedLink(email);
  assert.equal(new URL(link).search, "", "nothing in the query, which servers log");
  const scanned = await fetch(link); // what a mail scanner does: the page, and nothing else
  assert.equal(scanned.status, 200);

  const page = await eventPage(browser, { width: 1000, height: 800 });
  await page.goto(link); // as a mail client opens it: a fresh page
  await onCard(page, "code");
  assert.equal(await page.inputValue("#code"), new URLSearchParams(new URL(link).hash.slice(1)).get("code"));
  assert.equal(new URL(page.url()).hash, "", "the fragment is cleared from the address bar");
  await page.screenshot({ path: `${SCREENSHOTS}/modal-desktop-code-from-link.png` });
  await page.locator('[data-card="code"]').getByRole("button", { name: "Continue" }).click();
  await onCard(page, "password");

  // A login code's link signs in, after the press.
  const user = uniqueEmail("browser-link-login");
  await apiUser(server.base, user);
  await fetch(`${server.base}/auth/login/code`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ email: user }),
  });
  await page.goto(await mailedLink(user)); // on the open page: only the fragment changes
  await onCard(page, "code");
  await page.locator('[data-card="code"]').getByRole("button", { name: "Continue" }).click();
  await onCard(page, "home");
  await page.locator("[data-user-email]", { hasText: user }).waitFor();
  await page.close();
});

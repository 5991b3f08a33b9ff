// The API reference at /docs in headless Chromium: Swagger UI (bundled, no CDN) renders the
// document the server serves at /openapi.json, under the page's own Content-Security-Policy,
// and lists every operation the document has.
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { SCREENSHOTS, launch, startServer } from "./helpers.mjs";

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

test("/docs lists every operation of /openapi.json, with nothing refused by the CSP", async () => {
  const document = await (await fetch(`${server.base}/openapi.json`)).json();
  const operations = Object.entries(document.paths).flatMap(([path, item]) =>
    Object.keys(item).map((method) => ({ method, path })),
  );
  assert.ok(operations.length >= 38, `${operations.length} operations`);

  const page = await browser.newPage({ viewport: { width: 1200, height: 900 } });
  const problems = [];
  page.on("pageerror", (error) => problems.push(`page error: ${error.message}`));
  page.on("console", (message) => {
    if (message.type() === "error") problems.push(`console: ${message.text()}`);
  });
  page.on("requestfailed", (request) => problems.push(`request failed: ${request.url()}`));
  page.on("response", (response) => {
    if (response.status() >= 400) problems.push(`${response.status()}: ${response.url()}`);
  });
  const answer = await page.goto(`${server.base}/docs`);
  assert.equal(answer.status(), 200);
  assert.match(answer.headers()["content-security-policy"], /script-src 'self'/);
  await page.locator(".opblock").first().waitFor({ timeout: 15_000 });

  const listed = await page.$$eval(".opblock", (blocks) =>
    blocks.map((block) => ({
      method: block.querySelector(".opblock-summary-method")?.textContent.trim().toLowerCase(),
      path: block.querySelector(".opblock-summary-path")?.getAttribute("data-path"),
    })),
  );
  for (const { method, path } of operations) {
    assert.ok(
      listed.some((shown) => shown.method === method && shown.path === path),
      `${method.toUpperCase()} ${path} is not listed on /docs`,
    );
  }
  assert.equal(listed.length, operations.length, "each operation is listed once");
  assert.ok(await page.getByText("stepauth", { exact: false }).first().isVisible());
  await page.screenshot({ path: `${SCREENSHOTS}/reference.png` });
  assert.deepEqual(problems, []);
  await page.close();
});

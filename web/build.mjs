// Builds the front end into dist/: the app bundled with Alpine.js by esbuild, the CSS by
// Tailwind's CLI, and the page. No CDN at run time; dist/ is committed so that the local
// server (README command one) needs only Rust, and CI checks it is up to date.
import { execFileSync } from "node:child_process";
import { copyFileSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { build } from "esbuild";

mkdirSync("dist", { recursive: true });
await build({
  entryPoints: ["src/app.js"],
  bundle: true,
  minify: true,
  format: "iife",
  target: "es2020",
  outfile: "dist/app.js",
  legalComments: "none",
  // The modal's markup, inserted into the host page at start.
  loader: { ".html": "text" },
});
execFileSync("node_modules/.bin/tailwindcss", ["-i", "src/app.css", "-o", "dist/app.css", "--minify"], {
  stdio: "inherit",
});
copyFileSync("src/index.html", "dist/index.html");

// The API reference at /docs: Swagger UI with its licence notices kept at the end of the file.
await build({
  entryPoints: ["src/docs.js"],
  bundle: true,
  minify: true,
  format: "iife",
  target: "es2020",
  outfile: "dist/docs.js",
  legalComments: "eof",
});
// Without the source map's comment: the map is not served.
const css = readFileSync("node_modules/swagger-ui-dist/swagger-ui.css", "utf8");
writeFileSync("dist/docs.css", css.replace(/\n?\/\*# sourceMappingURL=[^*]*\*\/\s*$/, "\n"));
copyFileSync("src/docs.html", "dist/docs.html");

// Bundles src/editor.js (CodeMirror 6 and the Jinja overlay) into one
// minified ES2019 script and one style sheet in dist/, which are committed
// and embedded in the binary (web/editor/embed.go): CI and `make dev` need
// no npm. Regenerate with `make editor-bundle` (npm ci + this script).
import * as esbuild from "esbuild";

await esbuild.build({
  entryPoints: ["src/editor.js"],
  bundle: true,
  minify: true,
  format: "iife",
  target: ["es2019"],
  outdir: "dist",
  entryNames: "[name]",
  legalComments: "eof",
  logLevel: "info",
});

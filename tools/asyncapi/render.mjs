// Renders each AsyncAPI document of contracts/asyncapi/ to a static HTML page with the official
// AsyncAPI React component, for the gateway's /asyncapi (services/gateway/api/asyncapi.py).
// The page is rendered here (server-side), so it reads without JavaScript; with JavaScript the
// component's own bundle re-renders it from the live document, so sections expand and collapse.
//   node render.mjs            write services/gateway/asyncapi_html/
//   node render.mjs --check    exit 1 if what is committed there is not what would be written
import { existsSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import React from 'react';
import { renderToStaticMarkup } from 'react-dom/server';

const require = createRequire(import.meta.url);
const { AsyncApiComponentWP } = require('@asyncapi/react-component');
const { Parser } = require('@asyncapi/react-component/lib/cjs/helpers/parser.js');

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const source = join(root, 'contracts', 'asyncapi');
const target = join(root, 'services', 'gateway', 'asyncapi_html');
const check = process.argv.includes('--check');
const CONFIG = { show: { sidebar: false, errors: true }, expand: { messageExamples: false } };

const files = {
  'asyncapi.css': readFileSync(require.resolve('@asyncapi/react-component/styles/default.min.css'), 'utf8'),
  'asyncapi-standalone.js': readFileSync(require.resolve('@asyncapi/react-component/browser/standalone/index.js'), 'utf8'),
  'asyncapi-standalone.js.LICENSE.txt': readFileSync(require.resolve('@asyncapi/react-component/browser/standalone/index.js.LICENSE.txt'), 'utf8'),
  'asyncapi-page.js': `// Re-renders the page from its AsyncAPI document with the component's bundle (interactive).
(function () {
  var root = document.getElementById('asyncapi');
  fetch(root.getAttribute('data-document')).then(function (r) { return r.text(); }).then(function (schema) {
    AsyncApiStandalone.render({ schema: schema, config: ${JSON.stringify(CONFIG)} }, root);
  });
})();
`,
};
const escape = (text) => text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
for (const file of readdirSync(source).filter((f) => f.endsWith('.json')).sort()) {
  const service = file.replace(/\.json$/, '');
  const { asyncapi: document, error } = await Parser.parse(readFileSync(join(source, file), 'utf8'));
  if (!document) {
    console.error(`${file}: ${JSON.stringify(error)}`);
    process.exit(1);
  }
  const body = renderToStaticMarkup(React.createElement(AsyncApiComponentWP, { schema: document, config: CONFIG }));
  const title = escape(document.info().title());
  files[`${service}.html`] = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${title}: AsyncAPI</title>
<link rel="stylesheet" href="asyncapi.css">
</head>
<body>
<nav style="margin:1rem 2rem;font-family:sans-serif"><a href="./">Every service</a> · <a href="${service}.json">${service}.json</a> (AsyncAPI 3.0) · <a href="schemas/">JSON Schemas of the topics</a> · <a href="../docs">HTTP API</a></nav>
<div id="asyncapi" data-document="${service}.json">
${body}
</div>
<script src="asyncapi-standalone.js" defer></script>
<script src="asyncapi-page.js" defer></script>
</body>
</html>
`;
}

const stale = [];
if (!check) mkdirSync(target, { recursive: true });
for (const [name, text] of Object.entries(files)) {
  const path = join(target, name);
  if (check) {
    if (!existsSync(path) || readFileSync(path, 'utf8') !== text) stale.push(relative(root, path));
  } else {
    writeFileSync(path, text);
    console.log(`wrote ${relative(root, path)}`);
  }
}
const extra = check && existsSync(target) ? readdirSync(target).filter((f) => !(f in files)) : [];
if (stale.length || extra.length) {
  console.log('the AsyncAPI pages are not those of contracts/asyncapi (run `make contracts`):',
    [...stale, ...extra.map((f) => `${relative(root, target)}/${f} (not generated)`)].join(', '));
  process.exit(1);
}
if (check) console.log(`${Object.keys(files).length} AsyncAPI page files match contracts/asyncapi`);

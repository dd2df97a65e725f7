// Validates AsyncAPI documents with the official AsyncAPI parser (the one the AsyncAPI CLI uses,
// with its default rules). Fails on any error or warning.
//   node validate.mjs [FILE...]     default: every contracts/asyncapi/*.json
import { readdirSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Parser, fromFile } from '@asyncapi/parser';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const folder = join(root, 'contracts', 'asyncapi');
const files = process.argv.length > 2
  ? process.argv.slice(2).map((f) => resolve(f))
  : readdirSync(folder).filter((f) => f.endsWith('.json')).sort().map((f) => join(folder, f));
const SEVERITY = ['error', 'warning', 'info', 'hint'];

const parser = new Parser();
let failed = 0;
for (const file of files) {
  const { document, diagnostics } = await fromFile(parser, file).parse();
  const serious = diagnostics.filter((d) => d.severity <= 1);
  const name = relative(root, file);
  for (const d of serious) {
    console.log(`${name}: ${SEVERITY[d.severity]} ${d.code}: ${d.message} at ${d.path.join('/') || '(root)'}`);
  }
  if (!document || serious.length) {
    failed += 1;
  } else {
    console.log(`${name}: valid AsyncAPI ${document.version()} (${document.channels().length} channels, ${document.operations().length} operations)`);
  }
}
if (failed) {
  console.log(`${failed} of ${files.length} AsyncAPI documents failed the AsyncAPI parser`);
  process.exit(1);
}
console.log(`${files.length} AsyncAPI documents: 0 errors, 0 warnings`);

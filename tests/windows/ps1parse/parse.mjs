// SPDX-License-Identifier: MIT
// parse.mjs FILE...: parses PowerShell scripts with the tree-sitter
// PowerShell grammar and reports every ERROR or MISSING node with its line
// and column; exit 1 when a file does not parse. A grammar is not
// PowerShell itself: it proves the script is well-formed, not that it runs.
import Parser from 'tree-sitter';
import PowerShell from 'tree-sitter-powershell';
import fs from 'fs';
const p = new Parser(); p.setLanguage(PowerShell);
let bad = 0;
for (const f of process.argv.slice(2)) {
  const tree = p.parse(fs.readFileSync(f, 'utf8'), null, {bufferSize: 1 << 22});
  const errs = [];
  (function walk(n) { if (n.type === 'ERROR' || n.isMissing) errs.push(n); for (const c of n.children) walk(c); })(tree.rootNode);
  for (const e of errs.slice(0, 10)) console.log(`${f}:${e.startPosition.row + 1}:${e.startPosition.column + 1}: ${e.isMissing ? 'missing ' + e.type : 'syntax error'}: ${JSON.stringify(e.text.slice(0, 60))}`);
  console.log(`${f}: ${errs.length ? errs.length + ' syntax errors' : 'parsed, no syntax errors'} (${tree.rootNode.descendantCount} nodes)`);
  bad += errs.length ? 1 : 0;
}
process.exit(bad ? 1 : 0);

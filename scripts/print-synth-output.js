#!/usr/bin/env node
/** After `npm run synth`: say where the Terraform went, one line per stack. */
'use strict';
const fs = require('fs');
const path = require('path');

const stacks = path.join('cdktf.out', 'stacks');
if (!fs.existsSync(stacks)) {
  console.error('No cdktf.out/stacks folder: the synth produced nothing.');
  process.exit(1);
}
for (const name of fs.readdirSync(stacks).sort()) {
  const file = path.join(stacks, name, 'cdk.tf.json');
  if (!fs.existsSync(file)) continue;
  const json = JSON.parse(fs.readFileSync(file, 'utf8'));
  const count = Object.values(json.resource ?? {}).reduce((n, byId) => n + Object.keys(byId).length, 0);
  console.log(`Terraform for stack ${name}: ${file} (${count} resources)`);
}

// Compiles one MJML file repeatedly with the reference (Node) compiler, in-process, and
// prints the median time per compile: the counterpart of `cargo bench --bench render`.
// Usage: node bench/mjml-loop.js FILE.mjml [seconds]
const fs = require('fs');
const mjml2html = require('mjml');

async function main() {
  const source = fs.readFileSync(process.argv[2], 'utf8');
  const budgetMs = 1000 * Number(process.argv[3] || 3);
  const samples = [];
  const start = process.hrtime.bigint();
  while (samples.length < 20 || Number(process.hrtime.bigint() - start) / 1e6 < budgetMs) {
    const t = process.hrtime.bigint();
    const out = await mjml2html(source, { validationLevel: 'soft' });
    if (!out.html) throw new Error('no html');
    samples.push(Number(process.hrtime.bigint() - t) / 1e6);
  }
  samples.sort((a, b) => a - b);
  console.log(`node mjml compile of ${process.argv[2]}: ${samples[samples.length >> 1].toFixed(3)}ms median (${samples.length} runs)`);
}
main().catch((e) => { console.error(e); process.exit(1); });

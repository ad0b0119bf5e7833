// The HTML and CSS features of an email that some clients do not support, from the
// caniemail database (@jsx-email/doiuse-email): one line per client, `client: feature,
// feature, ...`, sorted, so a test can keep it as a snapshot that fails on a new entry.
// Used by the test suite (tests/inbox.rs). Usage: node bench/caniemail.mjs email.html
import { readFileSync } from "node:fs";
import { doIUseEmail } from "@jsx-email/doiuse-email";

const html = readFileSync(process.argv[2], "utf8");
const result = doIUseEmail(html, { emailClients: ["*"] });
const byClient = new Map();
for (const error of result.errors ?? []) {
  const found = /^`(.+)` is not supported by `(.+)`$/.exec(error);
  if (!found) {
    throw new Error(`unexpected doiuse-email message: ${error}`);
  }
  const [, feature, client] = found;
  if (!byClient.has(client)) byClient.set(client, new Set());
  byClient.get(client).add(feature);
}
for (const client of [...byClient.keys()].sort()) {
  console.log(`${client}: ${[...byClient.get(client)].sort().join(", ")}`);
}

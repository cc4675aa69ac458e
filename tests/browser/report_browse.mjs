// SPDX-License-Identifier: MIT
// report_browse.mjs: a person reading the report, in headless Chromium
// (Debian's chromium, driven by playwright-core through executablePath).
//
//   node report_browse.mjs CHROMIUM BASE_URL TOKEN NOW SPKI FINDINGS.json OUTDIR
//
// With JavaScript off (the pages must read without script) and the admin
// token as Authorization: Bearer on every request, it opens the overview,
// takes the first host of "Hosts nearest exhaustion" (the most urgent),
// follows its link, and on the host page sees the ports chart drawn (its
// series path has a real length on screen), the TCP states chart with a
// BOUND band, and the culprit of each of the host's findings that names a
// process (from /v1/findings) in the findings table and in the processes
// table. Every request must stay on the collector. Screenshots of both
// pages go to OUTDIR (overview.png, host.png); the caller checks them.
// The collector's certificate is accepted by its SPKI pin only.
import { readFileSync, writeFileSync } from "node:fs";
import { chromium } from "playwright-core";

const [exe, base, token, now, spki, findingsPath, outdir] = process.argv.slice(2);
const findings = JSON.parse(readFileSync(findingsPath, "utf8")).findings;
const problems = [];
const check = (ok, what) => {
  if (!ok) problems.push(what);
};

const browser = await chromium.launch({
  executablePath: exe,
  args: [
    "--no-sandbox",
    "--disable-gpu",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    `--ignore-certificate-errors-spki-list=${spki}`,
  ],
});
const context = await browser.newContext({
  javaScriptEnabled: false,
  viewport: { width: 1280, height: 900 },
  extraHTTPHeaders: { Authorization: `Bearer ${token}` },
});
const outside = [];
context.on("request", (r) => {
  if (!r.url().startsWith(base + "/") && !r.url().startsWith("data:")) outside.push(r.url());
});
const page = await context.newPage();
const errors = [];
page.on("console", (m) => m.type() === "error" && errors.push(m.text()));

let resp = await page.goto(`${base}/report?now=${now}`);
check(resp && resp.status() === 200, `overview answered ${resp && resp.status()}`);
check((await page.locator(".counts .count.critical").count()) === 1, "overview: no severity counts");
await page.screenshot({ path: `${outdir}/overview.png`, fullPage: true });

const first = page.locator("table.nearest tr[data-agent]").first();
check((await first.count()) === 1, "overview: no host nearest exhaustion");
const agent = await first.getAttribute("data-agent");
const link = first.locator("a.host-link");
const hostName = (await link.textContent()).trim();
await Promise.all([page.waitForURL(`**/report/host/${agent}*`), link.click()]);
check(new URL(page.url()).pathname === `/report/host/${agent}`, `followed to ${page.url()}`);
check((await page.locator("h1").textContent()).includes(hostName), "host page: wrong host");

// The ports chart: drawn, not just present in the DOM.
const chart = page.locator("svg.chart").first();
const box = await chart.boundingBox();
check(box && box.width > 300 && box.height > 100, `ports chart box ${JSON.stringify(box)}`);
const seriesBox = await chart.locator("path.series").boundingBox();
check(seriesBox && seriesBox.width > 100, `ports chart series ${JSON.stringify(seriesBox)}`);
check((await chart.locator("line.range").count()) === 1, "ports chart: no range line");
const states = page.locator("svg.states-chart");
check((await states.count()) === 1 && (await states.isVisible()), "no TCP states chart");
check((await page.locator('.state-key[data-state="bound"]').count()) === 1, "no BOUND key");

// The culprit of every finding of this host that names a process.
const mine = findings.filter((f) => f.agent_id === agent);
check(mine.length > 0, `no finding of ${agent} in /v1/findings`);
const culprits = [...new Set(mine.filter((f) => f.process).map((f) => f.process.name))];
for (const name of culprits) {
  const inFindings = await page.locator("table.findings .culprit .process").allTextContents();
  check(inFindings.includes(name), `culprit ${name} not in the findings table (${inFindings})`);
  const inProcs = await page.locator("table.procs tr.culprit td.process").allTextContents();
  check(inProcs.includes(name), `culprit ${name} not marked in the processes table (${inProcs})`);
  if (mine.some((f) => f.process && f.process.name === name && f.kind === "port_leak")) {
    const bound = await states.locator("path.state.bound").boundingBox();
    check(bound && bound.height > 5, `a BOUND leak but no BOUND band drawn ${JSON.stringify(bound)}`);
  }
}
await page.screenshot({ path: `${outdir}/host.png`, fullPage: true });
check(outside.length === 0, `requests outside the collector: ${outside}`);
check(errors.length === 0, `console errors: ${errors}`);
await browser.close();

const summary = {
  most_urgent: { host: hostName, agent_id: agent },
  findings: mine.map((f) => `${f.severity} ${f.kind}`),
  culprits,
  chart: box,
  problems,
};
writeFileSync(`${outdir}/browse.json`, JSON.stringify(summary, null, 1));
console.log(JSON.stringify(summary));
process.exit(problems.length ? 1 : 0);

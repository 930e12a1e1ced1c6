// Real-browser check of the guide and dashboard pages (NOT-4, NOT-5), run by
// services/notifiche/tests/web.rs (browser_... test) against the router with a fake port.
//
// node check.mjs --guida URL --scaduta URL --cruscotto URL --token OPERATOR_TOKEN
//                --destinazione URL --screenshots DIR [--testo-guida TEXT]... [--testo-cruscotto TEXT]...
//
// Opens each page in the system Chromium (headless), checks the rendered text, follows a link
// of the guide (the request to the service's address is answered here, never sent), submits the
// rating form, logs into the dashboard through its form, runs axe-core with the WCAG 2.0/2.1
// A and AA rules on every page and fails on any serious or critical violation, and saves
// screenshots of the guide and the dashboard.

import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import puppeteer from 'puppeteer-core';

const require = createRequire(import.meta.url);
const AXE_SOURCE = readFileSync(require.resolve('axe-core/axe.min.js'), 'utf8');

const { values: args } = parseArgs({
  options: {
    guida: { type: 'string' },
    scaduta: { type: 'string' },
    cruscotto: { type: 'string' },
    token: { type: 'string' },
    destinazione: { type: 'string' },
    screenshots: { type: 'string' },
    'testo-guida': { type: 'string', multiple: true, default: [] },
    'testo-cruscotto': { type: 'string', multiple: true, default: [] },
  },
});
for (const k of ['guida', 'scaduta', 'cruscotto', 'token', 'destinazione', 'screenshots']) {
  if (!args[k]) {
    console.error(`check.mjs: --${k} is required`);
    process.exit(2);
  }
}

const failures = [];
function check(ok, message) {
  if (ok) {
    console.log(`ok   ${message}`);
  } else {
    console.log(`FAIL ${message}`);
    failures.push(message);
  }
}

const origin = new URL(args.guida).origin;
const browser = await puppeteer.launch({
  executablePath: process.env.OCCASIONALI_CHROMIUM || '/usr/bin/chromium',
  headless: true,
  args: ['--no-sandbox', '--headless=new', '--disable-gpu', '--disable-dev-shm-usage', '--lang=it-IT'],
});

try {
  const page = await browser.newPage();
  page.setDefaultTimeout(15000);
  await page.setViewport({ width: 1200, height: 900 });

  // Every request leaving the pages' server is answered here (the services' real sites are not
  // reachable from the tests), and remembered: the pages themselves must load nothing external.
  const external = [];
  const consoleErrors = [];
  await page.setRequestInterception(true);
  page.on('request', (req) => {
    if (new URL(req.url()).origin === origin) {
      req.continue();
    } else {
      external.push(req.url());
      req.respond({
        status: 200,
        contentType: 'text/html; charset=utf-8',
        body: '<!DOCTYPE html><html lang="it"><title>Servizio</title><h1>Servizio INPS (simulato)</h1></html>',
      });
    }
  });
  const failedResponses = [];
  page.on('response', (r) => {
    if (new URL(r.url()).origin === origin && r.status() >= 400) failedResponses.push(`${r.status()} ${r.url()}`);
  });
  page.on('console', (m) => {
    if (m.type() === 'error') consoleErrors.push(m.text());
  });

  async function text() {
    return page.evaluate(() => document.body.innerText);
  }

  async function axe(name) {
    // Evaluated through the DevTools protocol, so the pages' CSP (no scripts) does not apply.
    await page.evaluate(AXE_SOURCE);
    const results = await page.evaluate(async () =>
      // eslint-disable-next-line no-undef
      axe.run(document, { runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa'] } }),
    );
    const bad = results.violations.filter((v) => v.impact === 'serious' || v.impact === 'critical');
    for (const v of results.violations) {
      const where = v.nodes.map((n) => n.target.join(' ')).slice(0, 3).join(', ');
      console.log(`     axe ${name}: ${v.impact} ${v.id}: ${v.help} [${where}]`);
    }
    check(bad.length === 0, `${name}: axe-core WCAG 2.1 AA, no serious/critical violations (${results.passes.length} rules passed)`);
  }

  async function structure(name) {
    const s = await page.evaluate(() => ({
      lang: document.documentElement.lang,
      h1: document.querySelectorAll('h1').length,
      header: document.querySelectorAll('header').length,
      main: document.querySelectorAll('main').length,
      footer: document.querySelectorAll('footer').length,
      scripts: document.querySelectorAll('script').length,
    }));
    check(s.lang === 'it', `${name}: lang="it"`);
    check(s.h1 === 1, `${name}: one h1 (${s.h1})`);
    check(s.header === 1 && s.main === 1 && s.footer === 1, `${name}: header, main and footer landmarks`);
    check(s.scripts === 0, `${name}: no script elements`);
    // The first Tab lands on the skip link, which becomes visible.
    await page.keyboard.press('Tab');
    const skip = await page.evaluate(() => {
      const a = document.activeElement;
      const r = a.getBoundingClientRect();
      return { href: a.getAttribute('href'), visible: r.left >= 0 && r.top >= 0 && r.width > 0 };
    });
    check(skip.href === '#contenuto' && skip.visible, `${name}: the first Tab shows the skip link`);
  }

  // --- The guide -------------------------------------------------------------------------------
  let res = await page.goto(args.guida, { waitUntil: 'load' });
  check(res.status() === 200, `guide: status 200 (${res.status()})`);
  const guideText = await text();
  for (const t of args['testo-guida']) check(guideText.includes(t), `guide: shows "${t}"`);
  check(external.length === 0, `guide: loads nothing from other origins (${external.join(', ')})`);
  await structure('guide');
  await axe('guide');

  // Follow the first service link: the click goes through /link/… and lands on the service.
  const linkHref = await page.$eval('a[href*="/link/"]', (a) => a.getAttribute('href'));
  await Promise.all([page.waitForNavigation({ waitUntil: 'load' }), page.click('a[href*="/link/"]')]);
  check(linkHref.includes('/link/payments_portal'), `guide: first link goes through ${linkHref}`);
  check(external.includes(args.destinazione), `guide: the redirect target ${args.destinazione} was requested`);
  check(page.url() === args.destinazione, `guide: the browser landed on ${page.url()}`);

  // Rate it 4 through the form.
  await page.goto(args.guida, { waitUntil: 'load' });
  await page.click('input[name="voto"][value="4"]');
  const [afterVote] = await Promise.all([
    page.waitForNavigation({ waitUntil: 'load' }),
    page.click('form[action$="/voto"] button[type="submit"]'),
  ]);
  check(afterVote.status() === 200, `rating: back on the guide (${afterVote.status()})`);
  check(page.url().endsWith('?votato=1#valutazione'), `rating: redirected to ${page.url()}`);
  const votedText = await text();
  check(votedText.includes('Grazie per la tua valutazione'), 'rating: a thank-you notice');
  check(votedText.includes('4 su 5'), 'rating: the current rating is shown');
  const checked = await page.$eval('input[name="voto"]:checked', (i) => i.value);
  check(checked === '4', `rating: radio 4 is checked (${checked})`);
  await axe('guide after rating');
  await page.screenshot({ path: join(args.screenshots, 'guida.png'), fullPage: true });

  // --- The expired guide -------------------------------------------------------------------------
  res = await page.goto(args.scaduta, { waitUntil: 'load' });
  check(res.status() === 410, `expired guide: status 410 (${res.status()})`);
  check((await text()).includes('Questa guida è scaduta'), 'expired guide: says it has expired');
  await structure('expired guide');
  await axe('expired guide');

  // --- The dashboard: 401 with a login form, then in through the form ------------------------
  res = await page.goto(args.cruscotto, { waitUntil: 'load' });
  check(res.status() === 401, `dashboard without token: status 401 (${res.status()})`);
  await structure('login');
  await axe('login');
  await page.type('#token', args.token);
  const [afterLogin] = await Promise.all([
    page.waitForNavigation({ waitUntil: 'load' }),
    page.click('form[action="/cruscotto/accesso"] button[type="submit"]'),
  ]);
  check(afterLogin.status() === 200, `dashboard after login: status 200 (${afterLogin.status()})`);
  check(new URL(page.url()).pathname === '/cruscotto', `dashboard: at ${page.url()}`);
  const cookies = await browser.cookies();
  const session = cookies.find((c) => c.name === 'occasionali_token');
  check(session && session.httpOnly && session.sameSite === 'Strict' && session.path === '/cruscotto',
    'dashboard: the session cookie is HttpOnly, SameSite=Strict, Path=/cruscotto');
  check(!(await page.evaluate(() => document.cookie)).includes('occasionali_token'), 'dashboard: scripts cannot read the cookie');
  const dashText = await text();
  for (const t of args['testo-cruscotto']) check(dashText.includes(t), `dashboard: shows "${t}"`);
  const charts = await page.$$eval('svg[role="img"]', (svgs) =>
    svgs.map((s) => ({ label: s.getAttribute('aria-label') || '', title: s.querySelector('title')?.textContent || '' })),
  );
  check(charts.length >= 2 && charts.every((c) => c.label && c.title), `dashboard: ${charts.length} named SVG charts`);
  const tables = await page.$$eval('table caption', (c) => c.length);
  check(tables >= 3, `dashboard: ${tables} captioned tables`);
  await page.screenshot({ path: join(args.screenshots, 'cruscotto.png'), fullPage: true });
  await structure('dashboard');
  await axe('dashboard');

  // The expected 410 and 401 pages log a console error each; anything else is a fault.
  const unexpected = consoleErrors.filter((e) => !e.includes('status of 401') && !e.includes('status of 410'));
  check(unexpected.length === 0, `no other console errors (${unexpected.join(' | ')}; responses >= 400: ${failedResponses.join(', ')})`);
} finally {
  await browser.close();
}

if (failures.length > 0) {
  console.error(`check.mjs: ${failures.length} check(s) failed`);
  process.exit(1);
}
console.log('check.mjs: all checks passed');

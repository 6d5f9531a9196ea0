/**
 * The browsers the tests drive: the system Chromium and Firefox ESR, found from the
 * environment first. Playwright cannot download its own browsers here.
 */
import { accessSync, constants } from 'node:fs';

/** The Chromium binary: `$CAIRN_CHROMIUM` (or `$CHROMIUM_PATH`), else Debian's. */
export const CHROMIUM_PATH = process.env.CAIRN_CHROMIUM ?? process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

/** The Firefox binary: `$CAIRN_FIREFOX`, else Debian's ESR. */
export const FIREFOX_PATH = process.env.CAIRN_FIREFOX ?? '/usr/bin/firefox-esr';

/** The flags this machine needs: no sandbox as root, no GPU, no network beyond loopback. */
export const CHROMIUM_ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
  '--disable-quic',
  '--disable-dev-shm-usage',
];

/**
 * The one-line reason the browser tests cannot run here, or undefined when both browsers are
 * there: which binary is missing, the variable that points to another, the install command.
 */
export function missingBrowsers(): string | undefined {
  const missing: string[] = [];
  if (!executable(CHROMIUM_PATH)) missing.push(`Chromium (${CHROMIUM_PATH}; set CAIRN_CHROMIUM to use another)`);
  if (!executable(FIREFOX_PATH)) missing.push(`Firefox ESR (${FIREFOX_PATH}; set CAIRN_FIREFOX to use another)`);
  if (missing.length === 0) return undefined;
  const packages = [executable(CHROMIUM_PATH) ? '' : 'chromium', executable(FIREFOX_PATH) ? '' : 'firefox-esr'].filter(Boolean);
  return `The browser tests need ${missing.join(' and ')}: install with \`apt-get install -y ${packages.join(' ')}\` (or run bash .ci/run).`;
}

/** Stops the test run at once, with one line, when a browser is missing. */
export function requireBrowsers(): void {
  const reason = missingBrowsers();
  if (reason === undefined) return;
  process.stderr.write(`\n${reason}\n\n`);
  process.exit(1);
}

function executable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

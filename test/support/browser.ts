import { type Browser, chromium } from 'playwright-core';

/** Debian's Chromium, driven by playwright-core. */
const CHROMIUM = '/usr/bin/chromium';

/** A headless Chromium for the duration of `use`, closed whatever happens. */
export async function withChromium<T>(use: (browser: Browser) => Promise<T>): Promise<T> {
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-component-update',
      '--no-first-run',
    ],
  });
  try {
    return await use(browser);
  } finally {
    await browser.close();
  }
}

import { launchChromium } from '../support/browser';

// Browser suites never pass by not running: without Chromium they fail, saying what to install.
it('fails loudly, naming the package, when Chromium is missing', async () => {
  await expect(launchChromium('/nonexistent/chromium')).rejects.toThrow(
    'Chromium not found at /nonexistent/chromium: install it with `apt-get install chromium`',
  );
});

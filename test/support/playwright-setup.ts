/** Before any browser suite: stop at once, with one line, if a browser is missing. */
import { requireBrowsers } from './browsers.ts';

export default function setup(): void {
  requireBrowsers();
}

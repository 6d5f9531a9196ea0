/** Browser profile folders that outlive the browser on them: made fresh, removed after. */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** A fresh profile folder; remove it with `removeProfile`. */
export function makeProfile(prefix = 'cairn-profile-'): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

/** Removes a profile folder. */
export function removeProfile(profile: string): void {
  // A browser's helper processes may still be writing to it for a while after it exits; a
  // temporary folder left behind must not fail the test that used it.
  try {
    rmSync(profile, { recursive: true, force: true, maxRetries: 20, retryDelay: 100 });
  } catch (e) {
    console.warn(`Could not remove the profile ${profile}: ${String(e)}`);
  }
}

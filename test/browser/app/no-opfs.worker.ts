/** A Cairn worker that cannot see OPFS, to test what a private window does. */
import { serve } from '../../../worker/index.ts';

delete (StorageManager.prototype as { getDirectory?: unknown }).getDirectory;
serve();

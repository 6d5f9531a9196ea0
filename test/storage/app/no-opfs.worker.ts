/** A Cairn worker that cannot see OPFS at all, as in a Safari private window. */
import { serve } from '../../../worker/index.ts';

delete (StorageManager.prototype as { getDirectory?: unknown }).getDirectory;
serve();

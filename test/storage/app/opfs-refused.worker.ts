/** A Cairn worker whose OPFS refuses to open, as in a Firefox private window (SecurityError). */
import { serve } from '../../../worker/index.ts';

StorageManager.prototype.getDirectory = () => Promise.reject(new DOMException('The operation is insecure.', 'SecurityError'));
serve();

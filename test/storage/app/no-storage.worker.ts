/** A Cairn worker where OPFS refuses to open and IndexedDB refuses too, as where storage is disabled. */
import { serve } from '../../../worker/index.ts';

StorageManager.prototype.getDirectory = () => Promise.reject(new DOMException('The operation is insecure.', 'SecurityError'));
IDBFactory.prototype.open = () => {
  throw new DOMException('IndexedDB is not available here', 'InvalidStateError');
};
serve();

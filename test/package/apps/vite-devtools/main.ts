// An app that mounts the inspector from the package on its own store, on a click (so that
// what the page loads before and after can be told apart), both ways: mountInspector and
// the <cairn-inspector> element.
import { openStore } from 'cairndb';
import { defineInspectorElement, mountInspector, type CairnInspectorElement } from 'cairndb/devtools';

try {
  const store = await openStore({ name: 'devtools-app' });
  await store.append('cart-1', [{ type: 'ItemAdded', data: { sku: 'A1', qty: 1 }, metadata: { correlationId: 'c1' } }]);
  document.getElementById('mount')!.addEventListener('click', async () => {
    try {
      const inspector = mountInspector(store, document.getElementById('inspector')!);
      await inspector.ready;
      defineInspectorElement();
      (document.getElementById('element') as CairnInspectorElement).store = store;
      document.title = 'mounted';
    } catch (e) {
      console.error(`mounting failed: ${String(e)}`);
      document.title = 'failed';
    }
  });
  document.title = 'ready';
} catch (e) {
  console.error(`devtools app failed: ${String(e)}`);
  document.title = 'failed';
}

/**
 * cairndb/devtools: an inspector any app can mount on its own store, with no framework
 * required. This entry is tiny; the inspector's code loads when one is mounted.
 */
export { mountInspector, type Inspector } from './mount-inspector.ts';
export { defineInspectorElement, type CairnInspectorElement } from './inspector-element.ts';
export type { InspectorOptions } from './inspector-app.ts';
export type { InspectorView } from './context.ts';
export type { InspectedStore } from './inspected-store.ts';

// What an app imports from cairndb/devtools, alone: built as a library to weigh the tiny
// entry and each chunk it loads later (vite.size.config.ts).
export { defineInspectorElement, mountInspector } from 'cairndb/devtools';

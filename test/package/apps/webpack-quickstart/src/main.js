// The README's quick start (copied in as quickstart.js by the test), bundled by webpack 5.
try {
  await import('./quickstart.js');
  document.title = 'done';
} catch (e) {
  console.error(`quick start failed: ${String(e)}`);
  document.title = 'failed';
}

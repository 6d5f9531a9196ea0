// The README's quick start (copied in as quickstart.ts by the test), run as a page would.
try {
  await import('./quickstart.ts');
  document.title = 'done';
} catch (e) {
  console.error(`quick start failed: ${String(e)}`);
  document.title = 'failed';
}

/** `npm run bench`: runs the bench with the command line's options (see `parseArgs`); `--sync` runs the sync bench. */
import { parseArgs, runBench } from './main.ts';

const argv = process.argv.slice(2);
if (argv.includes('--sync')) {
  const { runSyncBench } = await import('./sync.ts');
  await runSyncBench(argv.includes('--quick'));
} else {
  await runBench(parseArgs(argv));
}

/** `npm run bench`: runs the bench with the command line's options (see `parseArgs`). */
import { parseArgs, runBench } from './main.ts';

await runBench(parseArgs(process.argv.slice(2)));

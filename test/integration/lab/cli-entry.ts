// Runs the CLI from source (via tsx) so the tests exercise the same code as
// `node dist/cli/main.js` without a build step.
import { main } from '../../../src/cli/main.js';

process.exitCode = await main(process.argv.slice(2));

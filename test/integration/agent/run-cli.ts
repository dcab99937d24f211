// Test-only entry: runs the CLI from source (tsx), so tests need no build step.
import { main } from '../../../src/cli/main.js';

process.exitCode = await main(process.argv.slice(2));

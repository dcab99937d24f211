// Test-only entry point: runs the CLI from source (bin/evpn-ecmp.js runs the compiled dist/).
import { main } from '../../../src/cli/main.js';

process.exitCode = await main(process.argv.slice(2));

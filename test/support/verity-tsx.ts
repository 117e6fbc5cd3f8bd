// The CLI from source, for tests that start it through `node --import tsx` rather than from a built dist/.
import { main } from '../../src/cli/main.js';

process.exitCode = await main(process.argv);

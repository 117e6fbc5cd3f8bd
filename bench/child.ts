import { SCENARIOS } from './scenarios.js';
import type { ScenarioName } from './scenarios.js';

// One scenario per process: `tsx bench/child.ts <scenario> <dataDir> [databaseUrl] [options…]`, prints one
// JSON line. The options are the scenario's own (many-executions: --executions <n>).
const [name, dataDir, databaseUrl, ...args] = process.argv.slice(2) as [ScenarioName, string, string | undefined];
const scenario = SCENARIOS[name];
if (!scenario) throw new Error(`no scenario ${name}; one of ${Object.keys(SCENARIOS).join(', ')}`);
const result = await scenario({ dataDir, databaseUrl: databaseUrl || undefined, args });
process.stdout.write(JSON.stringify({ ...result, process_peak_rss_mb: process.resourceUsage().maxRSS / 1024 }) + '\n');

import { SCENARIOS } from './scenarios.js';
import type { ScenarioName } from './scenarios.js';

// One scenario per process: `tsx bench/child.ts <scenario> <dataDir> [databaseUrl]`, prints one JSON line.
const [name, dataDir, databaseUrl] = process.argv.slice(2) as [ScenarioName, string, string | undefined];
const scenario = SCENARIOS[name];
const result = await scenario({ dataDir, databaseUrl: databaseUrl || undefined });
process.stdout.write(JSON.stringify({ ...result, process_peak_rss_mb: process.resourceUsage().maxRSS / 1024 }) + '\n');
